package dev.timemachine.app;

import java.nio.file.Path;

/**
 * Where things are kept.
 *
 * @param home the default parent of the store and the work directory
 * @param storeUri the object store for the registry, snapshots, reports: {@code file:///path} or
 *     {@code s3://bucket/prefix}
 * @param workDir where replays materialize code, data and outputs (bind-mountable by the Docker engine)
 * @param dataCache {@code TIMEMACHINE_DATA_CACHE}: {@code on} (default; verified data files are kept by
 *     sha256 under {@code <workDir>/.cache/data} and hard-linked into later restores), {@code rehash}
 *     (the same, re-hashing every entry it uses) or {@code off}
 */
public record StoreSettings(Path home, String storeUri, Path workDir, String dataCache) {
  public StoreSettings(Path home, String storeUri, Path workDir) {
    this(home, storeUri, workDir, "on");
  }

  public StoreSettings {
    dataCache = dataCache == null ? "on" : dataCache;
  }

  /** The training host's data cache, or null when {@code off}. */
  public dev.timemachine.core.data.DataCache openDataCache() {
    return switch (dataCache) {
      case "off" -> null;
      case "rehash" -> new dev.timemachine.core.data.DataCache(
          workDir.resolve(".cache").resolve("data"), dev.timemachine.core.data.DataCache.Mode.REHASH);
      default -> new dev.timemachine.core.data.DataCache(
          workDir.resolve(".cache").resolve("data"), dev.timemachine.core.data.DataCache.Mode.TRUST_RECORD);
    };
  }
}
