package dev.timemachine.core.data;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.model.FileEntry;
import java.util.List;

/**
 * The stored manifest of a snapshot, {@code <store>/snapshots/<root hex>/manifest.json}. Its schema
 * says where the files are: {@link #SCHEMA} (v2) stores each file once by content in the store's
 * shared {@code objects/sha256/<aa>/<hex>}, so snapshots that share files share objects;
 * {@link #SCHEMA_V1} (the first layout) kept a copy of every file under the snapshot's own {@code
 * files/<path>}. Both restore; new snapshots are written in v2. The root digest is the same for both.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record SnapshotManifest(String schema, String rootDigest, int fileCount, long totalBytes, List<FileEntry> files) {
  public static final String SCHEMA = "timemachine.snapshot/v2";
  public static final String SCHEMA_V1 = "timemachine.snapshot/v1";
  /** Where v2 objects live, relative to the store root (the parent of {@code snapshots/}). */
  public static final String OBJECTS = "objects/sha256/";

  /** True when this manifest's files are content-addressed objects of the store (v2). */
  public boolean byContent() {
    return !SCHEMA_V1.equals(schema);
  }

  /** The key of a file's content in the store root: {@code objects/sha256/<first two hex>/<hex>}. */
  public static String objectKey(String sha256) {
    Digests.requireSha256Hex(sha256, "object sha256");
    return OBJECTS + sha256.substring(0, 2) + "/" + sha256;
  }
}
