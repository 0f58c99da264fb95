package dev.timemachine.adapters.store;

import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.ports.ObjectStoreLocator;
import java.net.URI;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Opens a store by URI: {@code file:///path} (or a plain path) is a {@link LocalObjectStore}, {@code
 * s3://bucket/prefix} an {@link S3ObjectStore} sharing one S3 client and the set of buckets already
 * checked, so that each bucket costs one {@code HeadBucket} per instance however often it is opened.
 */
public final class ObjectStores implements ObjectStoreLocator, AutoCloseable {
  private final S3Settings s3Settings;
  private final Set<String> checkedBuckets = ConcurrentHashMap.newKeySet();
  private S3Client s3;

  public ObjectStores(S3Settings s3Settings) {
    this.s3Settings = s3Settings;
  }

  @Override
  public ObjectStore open(String rootUri) {
    if (rootUri == null || rootUri.isBlank()) {
      throw TimemachineException.invalidInput("a store URI is required (file:///path or s3://bucket/prefix)");
    }
    String uri = rootUri.trim();
    while (uri.endsWith("/") && uri.length() > 1 && !uri.endsWith(":///")) {
      uri = uri.substring(0, uri.length() - 1);
    }
    if (uri.startsWith("s3://")) {
      String rest = uri.substring("s3://".length());
      int slash = rest.indexOf('/');
      String bucket = slash < 0 ? rest : rest.substring(0, slash);
      String prefix = slash < 0 ? "" : rest.substring(slash + 1);
      if (bucket.isEmpty()) {
        throw TimemachineException.invalidInput("store URI '" + rootUri + "' names no bucket");
      }
      return new S3ObjectStore(s3(), bucket, prefix, s3Settings, checkedBuckets);
    }
    if (uri.startsWith("file:")) {
      return new LocalObjectStore(Path.of(URI.create(uri)));
    }
    if (!uri.contains("://")) {
      return new LocalObjectStore(Path.of(uri));
    }
    throw TimemachineException.invalidInput(
        "unsupported store URI '" + rootUri + "' (use file:///path or s3://bucket/prefix)");
  }

  private synchronized S3Client s3() {
    if (s3 == null) {
      s3 = s3Settings.newClient();
    }
    return s3;
  }

  @Override
  public synchronized void close() {
    if (s3 != null) {
      s3.close();
    }
  }
}
