package dev.timemachine.activities.data;

import dev.timemachine.domain.DataRef;
import dev.timemachine.domain.Digests;
import dev.timemachine.domain.ErrorType;
import dev.timemachine.domain.FileEntry;
import dev.timemachine.domain.InputKind;
import dev.timemachine.domain.InputUnverifiableException;
import dev.timemachine.domain.Json;
import dev.timemachine.domain.TimemachineException;
import dev.timemachine.ports.ObjectStore;
import dev.timemachine.ports.ObjectStoreLocator;
import dev.timemachine.ports.Progress;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Content-addressed data snapshots. A snapshot of a directory lives at {@code
 * <store>/snapshots/<root hex>/}: every file under {@code files/<path>}, and {@code manifest.json}
 * written last, write-once. Its URI is therefore a function of its content, and uploading the same
 * content again changes nothing.
 *
 * <p>Restoring trusts nothing it downloads: the stored manifest must hash to the recorded root
 * digest, and every file to its recorded sha256 and size, or the data is unverifiable and the exact
 * file is named.
 */
public final class Snapshots {
  static final String MANIFEST = "manifest.json";
  private static final long PROGRESS_EVERY_NANOS = 1_000_000_000L;

  private final ObjectStoreLocator stores;

  public Snapshots(ObjectStoreLocator stores) {
    this.stores = stores;
  }

  public DataRef create(Path dir, String storeRootUri, Progress progress) {
    List<FileEntry> files = FileHashing.hashTree(dir);
    if (files.isEmpty()) {
      throw TimemachineException.invalidInput("the data directory " + dir + " is empty");
    }
    String root = Digests.rootDigest(files);
    ObjectStore base = stores.open(storeRootUri);
    String snapshotUri = base.uriOf("snapshots/" + root.substring("sha256:".length()));
    ObjectStore snapshot = stores.open(snapshotUri);
    long total = files.stream().mapToLong(FileEntry::size).sum();
    if (snapshot.exists(MANIFEST)) {
      checkExisting(snapshot, root, files);
    } else {
      long done = 0;
      long lastReport = 0;
      int count = 0;
      for (FileEntry file : files) {
        snapshot.put("files/" + file.path(), dir.resolve(file.path()));
        done += file.size();
        count++;
        if (System.nanoTime() - lastReport > PROGRESS_EVERY_NANOS || count == files.size()) {
          lastReport = System.nanoTime();
          progress.report(String.format("uploaded %d/%d files, %s/%s", count, files.size(), mb(done), mb(total)));
        }
      }
      snapshot.putIfAbsent(MANIFEST, Json.toBytes(new SnapshotManifest(SnapshotManifest.SCHEMA, root, files.size(), total, files)));
    }
    return DataRef.of(snapshotUri, files);
  }

  /**
   * A snapshot with this content exists already, so nothing is uploaded; but a store that was altered
   * since must not be vouched for again. Its manifest must hash to the root digest and every file must
   * have its size (a cheap check of each object; the full sha256 check happens at every restore).
   * Nothing is repaired: an altered snapshot is evidence, and the user decides what to do with it.
   */
  private void checkExisting(ObjectStore snapshot, String root, List<FileEntry> files) {
    SnapshotManifest stored = readManifest(snapshot.rootUri());
    String hint = "investigate, then remove " + snapshot.rootUri() + "/ from the store and create the snapshot again";
    if (!Digests.rootDigest(stored.files()).equals(root)) {
      throw TimemachineException.conflict(
          "snapshot " + snapshot.rootUri() + " exists, but its manifest no longer hashes to " + root + ": the store was altered",
          hint);
    }
    for (FileEntry file : files) {
      long size = snapshot.size("files/" + file.path()).orElse(-1L);
      if (size != file.size()) {
        throw TimemachineException.conflict(
            "snapshot " + snapshot.rootUri() + " exists, but its file '" + file.path() + "' "
                + (size < 0 ? "is missing" : "has " + size + " bytes instead of " + file.size()) + ": the store was altered",
            hint);
      }
    }
  }

  public SnapshotManifest readManifest(String snapshotUri) {
    ObjectStore snapshot = stores.open(snapshotUri);
    byte[] bytes;
    try {
      bytes = snapshot.getBytes(MANIFEST);
    } catch (TimemachineException e) {
      if (e.type() == ErrorType.NOT_FOUND) {
        throw new InputUnverifiableException(InputKind.DATA, "snapshot manifest " + snapshot.uriOf(MANIFEST) + " not found");
      }
      throw e;
    }
    return Json.parse(bytes, SnapshotManifest.class, snapshot.uriOf(MANIFEST));
  }

  /** Restores a snapshot into {@code target} (emptied first), verifying everything; returns the evidence. */
  public String restore(DataRef data, Path target, Progress progress) {
    SnapshotManifest manifest = readManifest(data.snapshotUri());
    String stored = Digests.rootDigest(manifest.files());
    if (!stored.equals(data.rootDigest())) {
      throw new InputUnverifiableException(
          InputKind.DATA,
          "the manifest of snapshot " + data.snapshotUri() + " hashes to " + stored + ", but " + data.rootDigest()
              + " was recorded: the snapshot was changed after registration");
    }
    deleteRecursively(target);
    ObjectStore snapshot = stores.open(data.snapshotUri());
    long total = manifest.files().stream().mapToLong(FileEntry::size).sum();
    long done = 0;
    long lastReport = 0;
    int count = 0;
    byte[] buffer = new byte[1 << 16];
    for (FileEntry file : manifest.files()) {
      Path destination = target.resolve(file.path());
      MessageDigest digest = Digests.newSha256();
      long size = 0;
      try {
        Files.createDirectories(destination.getParent());
        try (InputStream in = openFile(snapshot, data, file);
            OutputStream out = Files.newOutputStream(destination)) {
          for (int n; (n = in.read(buffer)) > 0; ) {
            digest.update(buffer, 0, n);
            out.write(buffer, 0, n);
            size += n;
            if (System.nanoTime() - lastReport > PROGRESS_EVERY_NANOS) {
              lastReport = System.nanoTime();
              progress.report(String.format("restoring %s: %d/%d files, %s/%s", file.path(), count, manifest.files().size(),
                  mb(done + size), mb(total)));
            }
          }
        }
      } catch (IOException e) {
        throw TimemachineException.unavailable("cannot restore " + file.path() + " from " + data.snapshotUri() + ": " + e, e);
      }
      String actual = HexFormat.of().formatHex(digest.digest());
      if (!actual.equals(file.sha256()) || size != file.size()) {
        throw new InputUnverifiableException(
            InputKind.DATA,
            "data file '" + file.path() + "' in snapshot " + data.snapshotUri() + ": sha256 is " + actual + " (" + size
                + " bytes), recorded " + file.sha256() + " (" + file.size() + " bytes)");
      }
      done += size;
      count++;
    }
    progress.report(String.format("restored %d/%d files, %s, every sha256 verified", count, manifest.files().size(), mb(total)));
    return data.rootDigest() + " — " + count + " files, " + total + " bytes, every sha256 verified";
  }

  private static InputStream openFile(ObjectStore snapshot, DataRef data, FileEntry file) {
    try {
      return snapshot.open("files/" + file.path());
    } catch (TimemachineException e) {
      if (e.type() == ErrorType.NOT_FOUND) {
        throw new InputUnverifiableException(
            InputKind.DATA, "data file '" + file.path() + "' is missing from snapshot " + data.snapshotUri());
      }
      throw e;
    }
  }

  private static String mb(long bytes) {
    return String.format("%.1f MB", bytes / 1e6);
  }

  static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not empty " + dir, e);
    }
  }
}
