package dev.timemachine.activities.data;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.domain.FileEntry;
import java.util.List;

/** The stored manifest of a snapshot, {@code <snapshot>/manifest.json}. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record SnapshotManifest(String schema, String rootDigest, int fileCount, long totalBytes, List<FileEntry> files) {
  public static final String SCHEMA = "timemachine.snapshot/v1";
}
