package dev.timemachine.app;

import java.nio.file.Path;

/**
 * Where things are kept.
 *
 * @param home the default parent of the store and the work directory
 * @param storeUri the object store for the registry, snapshots, reports: {@code file:///path} or
 *     {@code s3://bucket/prefix}
 * @param workDir where replays materialize code, data and outputs (bind-mountable by the Docker engine)
 */
public record StoreSettings(Path home, String storeUri, Path workDir) {}
