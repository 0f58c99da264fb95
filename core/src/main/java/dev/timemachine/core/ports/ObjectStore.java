package dev.timemachine.core.ports;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A flat key-value store of immutable-by-convention objects, rooted at a URI ({@code file:///dir} or
 * {@code s3://bucket/prefix}). Keys are validated relative paths. Implementations throw {@code
 * TimemachineException}: {@code NOT_FOUND} for a missing key, {@code UNAVAILABLE} for a transient
 * failure worth retrying, {@code CONFIGURATION} for bad credentials or a missing bucket.
 */
public interface ObjectStore {
  /** The URI this store is rooted at, without a trailing slash. */
  String rootUri();

  /** The URI of one key, {@code rootUri() + "/" + key}. */
  default String uriOf(String key) {
    return rootUri() + "/" + key;
  }

  boolean exists(String key);

  /**
   * Removes the object if it exists; idempotent. Only for what nothing points at: a replay's kept
   * outputs that its report does not name. Reports, manifests and snapshot objects are never deleted.
   */
  default void delete(String key) {
    throw new UnsupportedOperationException("this store does not delete");
  }

  /** The object's size in bytes, or empty if absent. */
  Optional<Long> size(String key);

  /** Uploads a file, replacing any object under the key. */
  void put(String key, Path source);

  /**
   * Stores {@code content} under {@code key} only if no object is there yet. Returns true if this call
   * wrote it, false if an object already existed (whatever its content): the caller decides whether
   * that is a conflict.
   */
  boolean putIfAbsent(String key, byte[] content);

  byte[] getBytes(String key);

  /** Opens the object for streaming; the caller closes the stream. */
  InputStream open(String key);

  /** Downloads the object to {@code target}, replacing it. */
  void download(String key, Path target);

  /** All keys under a prefix (a "directory" ending in '/' or empty for all), sorted. */
  List<String> list(String prefix);

  /**
   * One stored object as a listing sees it: its key, size and when it was last written (what {@code
   * timemachine gc} ages objects by).
   */
  record Listed(String key, long size, java.time.Instant lastModified) {}

  /**
   * The objects under a prefix with their sizes and last-modified times, sorted by key; the same keys
   * as {@link #list(String)}. One listing (S3: {@code ListObjectsV2} pages), no request per object.
   */
  default List<Listed> listDetailed(String prefix) {
    throw new UnsupportedOperationException("this store does not list sizes and times");
  }
}
