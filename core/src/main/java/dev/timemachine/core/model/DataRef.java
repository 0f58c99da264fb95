package dev.timemachine.core.model;

import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The data of a training run: a snapshot in an object store, its root digest, and the manifest of
 * every file. Workflows carry the reference without the file list ({@link #withoutFiles()}) to keep
 * payloads small; the root digest still pins every file, since it is computed over all their hashes.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record DataRef(
    String snapshotUri,
    String rootDigest,
    int fileCount,
    long totalBytes,
    @JsonInclude(JsonInclude.Include.NON_EMPTY) List<FileEntry> files) {
  public DataRef {
    if (snapshotUri == null || snapshotUri.isBlank()) {
      throw TimemachineException.invalidInput("data.snapshotUri is required");
    }
    if (!Digests.isPrefixedSha256(rootDigest)) {
      throw TimemachineException.invalidInput("data.rootDigest must be sha256:<64 hex>, got '" + rootDigest + "'");
    }
    files = files == null ? List.of() : List.copyOf(files);
    if (!files.isEmpty()) {
      if (files.size() != fileCount) {
        throw TimemachineException.invalidInput(
            "data.fileCount is " + fileCount + " but the manifest lists " + files.size() + " files");
      }
      String computed = Digests.rootDigest(files);
      if (!computed.equals(rootDigest)) {
        throw TimemachineException.invalidInput(
            "data.rootDigest " + rootDigest + " does not match its manifest (computed " + computed + ")");
      }
    }
  }

  public static DataRef of(String snapshotUri, List<FileEntry> files) {
    long bytes = files.stream().mapToLong(FileEntry::size).sum();
    return new DataRef(snapshotUri, Digests.rootDigest(files), files.size(), bytes, files);
  }

  public DataRef withoutFiles() {
    return new DataRef(snapshotUri, rootDigest, fileCount, totalBytes, List.of());
  }

  /**
   * The store root this snapshot lives under ({@code <root>/snapshots/<hex>}), where the shared
   * {@code objects/sha256/} of its files and of kept artifacts are; null for a URI of another shape.
   */
  public String storeRootUri() {
    return storeRootOf(snapshotUri);
  }

  private static final java.util.regex.Pattern SNAPSHOT_URI = java.util.regex.Pattern.compile("(.+)/snapshots/[0-9a-f]{64}");

  /** {@link #storeRootUri()} of any snapshot URI: the part before {@code /snapshots/<hex>}, or null. */
  public static String storeRootOf(String snapshotUri) {
    java.util.regex.Matcher m = SNAPSHOT_URI.matcher(snapshotUri == null ? "" : snapshotUri);
    return m.matches() ? m.group(1) : null;
  }
}
