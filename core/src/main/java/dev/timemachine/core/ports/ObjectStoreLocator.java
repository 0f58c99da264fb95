package dev.timemachine.core.ports;

/**
 * Opens the object store that a URI lives in. Model versions name their snapshots by absolute URI
 * ({@code s3://bucket/snapshots/...}), so a worker must reach any store a version points to, not only
 * its own.
 */
public interface ObjectStoreLocator {
  /** Opens a store rooted exactly at {@code rootUri}. */
  ObjectStore open(String rootUri);
}
