package dev.timemachine.core.data;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.model.FileEntry;
import java.util.List;

/** The stored manifest of a snapshot, {@code <snapshot>/manifest.json}. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record SnapshotManifest(String schema, String rootDigest, int fileCount, long totalBytes, List<FileEntry> files) {
  public static final String SCHEMA = "timemachine.snapshot/v1";
}
