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
    if (uri.startsWith("s3://")) {
      String rest = uri.substring("s3://".length());
      while (rest.endsWith("/")) {
        rest = rest.substring(0, rest.length() - 1);
      }
      int slash = rest.indexOf('/');
      String bucket = slash < 0 ? rest : rest.substring(0, slash);
      String prefix = slash < 0 ? "" : rest.substring(slash + 1);
      if (bucket.isEmpty()) {
        throw TimemachineException.invalidInput(
            "store URI '" + rootUri + "' names no bucket: use s3://bucket or s3://bucket/prefix");
      }
      if (!BUCKET.matcher(bucket).matches() || bucket.contains("..")) {
        throw TimemachineException.invalidInput(
            "store URI '" + rootUri + "': '" + bucket + "' is not an S3 bucket name (3-63 lowercase letters, digits,"
                + " '.' and '-', starting and ending with a letter or digit)");
      }
      if (prefix.contains("//") || java.util.Arrays.asList(prefix.split("/")).contains("..")) {
        throw TimemachineException.invalidInput("store URI '" + rootUri + "' has an empty or '..' key segment");
      }
      return new S3ObjectStore(s3(), bucket, prefix, s3Settings, checkedBuckets).withTransfer(s3Settings.transfer());
    }
    if (uri.startsWith("file:")) {
      URI parsed;
      try {
        parsed = URI.create(uri);
      } catch (IllegalArgumentException e) {
        throw TimemachineException.invalidInput("store URI '" + rootUri + "' is not a valid URI: " + e.getMessage());
      }
      if (parsed.isOpaque() || parsed.getPath() == null || !parsed.getPath().startsWith("/")
          || (parsed.getAuthority() != null && !parsed.getAuthority().isEmpty() && !"localhost".equals(parsed.getAuthority()))) {
        throw TimemachineException.invalidInput(
            "store URI '" + rootUri + "' is not an absolute file URI: use file:///absolute/path (three slashes)");
      }
      return new LocalObjectStore(Path.of(parsed.getPath()));
    }
    if (SCHEME.matcher(uri).lookingAt()) {
      throw TimemachineException.invalidInput(
          "unsupported store URI '" + rootUri + "' (use file:///path or s3://bucket/prefix)");
    }
    while (uri.endsWith("/") && uri.length() > 1) {
      uri = uri.substring(0, uri.length() - 1);
    }
    return new LocalObjectStore(Path.of(uri));
  }

  /** S3's rules for a bucket name (virtual-host style safe: no underscores or capitals). */
  private static final java.util.regex.Pattern BUCKET = java.util.regex.Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
  /** Anything that starts like a URI scheme ({@code s3:}, {@code gs://}, {@code http:}): never a local directory. */
  private static final java.util.regex.Pattern SCHEME = java.util.regex.Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*:");

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
