package dev.timemachine.core.data;

import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.ports.ObjectStoreLocator;
import dev.timemachine.core.ports.Progress;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;
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

  /**
   * What {@link #create(Path, String, boolean, Progress)} did: the snapshot, whether it existed already
   * (and was then verified object by object), and the stored files it overwrote because they were
   * altered or missing (only with {@code repair}).
   */
  public record Created(DataRef data, boolean existed, List<String> repaired) {
    public Created {
      repaired = List.copyOf(repaired);
    }
  }

  public DataRef create(Path dir, String storeRootUri, Progress progress) {
    return create(dir, storeRootUri, false, progress).data();
  }

  /**
   * Uploads {@code dir} as a snapshot, or, when a snapshot with this content exists, verifies every
   * stored object by sha256 before vouching for it. An altered or missing object is refused ({@code
   * CONFLICT}) unless {@code repair}, which re-uploads just those objects and checks them again.
   */
  public Created create(Path dir, String storeRootUri, boolean repair, Progress progress) {
    List<FileEntry> files = FileHashing.hashTree(dir);
    if (files.isEmpty()) {
      throw TimemachineException.invalidInput("the data directory " + dir + " is empty");
    }
    String root = Digests.rootDigest(files);
    ObjectStore base = stores.open(storeRootUri);
    String snapshotUri = base.uriOf("snapshots/" + root.substring("sha256:".length()));
    ObjectStore snapshot = stores.open(snapshotUri);
    long total = files.stream().mapToLong(FileEntry::size).sum();
    byte[] manifest = Json.toBytes(new SnapshotManifest(SnapshotManifest.SCHEMA, root, files.size(), total, files));
    if (snapshot.exists(MANIFEST)) {
      List<String> repaired = checkExisting(snapshot, root, files, manifest, dir, repair, progress);
      return new Created(DataRef.of(snapshotUri, files), true, repaired);
    }
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
    snapshot.putIfAbsent(MANIFEST, manifest);
    return new Created(DataRef.of(snapshotUri, files), false, List.of());
  }

  /** A stored object that does not hold what the snapshot says, and how it differs. */
  private record Altered(String key, String problem, String expectedSha256) {
    static Altered file(FileEntry file, Digests.Streamed stored) {
      String label = "its file '" + file.path() + "'";
      if (stored == null) {
        return new Altered("files/" + file.path(), label + " is missing", file.sha256());
      }
      String sizes = stored.size() == file.size() ? "" : " (" + stored.size() + " bytes instead of " + file.size() + ")";
      return new Altered("files/" + file.path(),
          label + " was altered: stored sha256 " + stored.sha256() + ", expected " + file.sha256() + sizes, file.sha256());
    }
  }

  /**
   * A snapshot with this content exists already, so nothing needs uploading; but a store that was
   * altered since must not be vouched for again, and a size check misses an edit that keeps the size.
   * So the manifest must hash to the root digest and every stored file is read back and hashed: the
   * honest default, since a store's own checksum is not a sha256 (an S3 ETag is an MD5 only for
   * single-part uploads). Without {@code repair} nothing is changed: an altered snapshot is evidence,
   * and the user decides what to do with it.
   */
  private List<String> checkExisting(
      ObjectStore snapshot, String root, List<FileEntry> files, byte[] manifest, Path dir, boolean repair, Progress progress) {
    List<Altered> altered = new ArrayList<>();
    if (!manifestHashesTo(snapshot, root)) {
      altered.add(new Altered(MANIFEST, "its manifest no longer hashes to " + root, null));
    }
    long total = files.stream().mapToLong(FileEntry::size).sum();
    long done = 0;
    long lastReport = System.nanoTime();
    int count = 0;
    for (FileEntry file : files) {
      String key = "files/" + file.path();
      Digests.Streamed stored = hashStored(snapshot, key);
      if (stored == null || !stored.sha256().equals(file.sha256()) || stored.size() != file.size()) {
        altered.add(Altered.file(file, stored));
      }
      done += file.size();
      count++;
      if (System.nanoTime() - lastReport > PROGRESS_EVERY_NANOS) {
        lastReport = System.nanoTime();
        progress.report(String.format("verifying the stored snapshot: %d/%d files, %s/%s hashed", count, files.size(),
            mb(done), mb(total)));
      }
    }
    if (altered.isEmpty()) {
      progress.report(String.format("snapshot exists: %d stored files, %s, every sha256 verified", files.size(), mb(total)));
      return List.of();
    }
    if (!repair) {
      Altered first = altered.get(0);
      throw TimemachineException.conflict(
          "snapshot " + snapshot.rootUri() + " exists, but " + first.problem()
              + (altered.size() > 1 ? " (and " + (altered.size() - 1) + " more altered or missing: "
                  + altered.subList(1, altered.size()).stream().map(Altered::key).collect(Collectors.joining(", ")) + ")" : "")
              + ": the store was altered",
          "rerun with --repair to overwrite the altered objects (they are evidence: copy them from "
              + snapshot.rootUri() + "/ first if you need them)");
    }
    List<String> repaired = new ArrayList<>();
    for (Altered object : altered) {
      if (object.key().equals(MANIFEST)) {
        snapshot.put(MANIFEST, writeTemporary(manifest));
        if (!manifestHashesTo(snapshot, root)) {
          throw TimemachineException.unavailable("repaired " + snapshot.uriOf(MANIFEST) + " but it still does not hash to " + root, null);
        }
      } else {
        String path = object.key().substring("files/".length());
        snapshot.put(object.key(), dir.resolve(path));
        Digests.Streamed now = hashStored(snapshot, object.key());
        if (now == null || !now.sha256().equals(object.expectedSha256())) {
          throw TimemachineException.conflict(
              "repaired " + snapshot.uriOf(object.key()) + " but it now hashes to " + (now == null ? "nothing" : now.sha256())
                  + " instead of " + object.expectedSha256(),
              "check that nothing changes " + dir.resolve(path) + " or the store while the snapshot is created");
        }
      }
      repaired.add(object.key());
      progress.report("repaired " + object.key() + " (" + object.problem().replaceFirst("^its (file )?", "") + "); now verified");
    }
    return repaired;
  }

  private boolean manifestHashesTo(ObjectStore snapshot, String root) {
    try {
      SnapshotManifest stored = Json.parse(snapshot.getBytes(MANIFEST), SnapshotManifest.class, snapshot.uriOf(MANIFEST));
      return stored.files() != null && Digests.rootDigest(stored.files()).equals(root);
    } catch (TimemachineException e) {
      if (e.type() == ErrorType.INVALID_INPUT || e.type() == ErrorType.NOT_FOUND) {
        return false;
      }
      throw e;
    }
  }

  /** Streams a stored object through sha256; null if it does not exist. */
  private static Digests.Streamed hashStored(ObjectStore snapshot, String key) {
    try (InputStream in = snapshot.open(key)) {
      return Digests.sha256(in);
    } catch (TimemachineException e) {
      if (e.type() == ErrorType.NOT_FOUND) {
        return null;
      }
      throw e;
    } catch (IOException e) {
      throw TimemachineException.unavailable("cannot read " + snapshot.uriOf(key) + ": " + e, e);
    }
  }

  private static Path writeTemporary(byte[] content) {
    try {
      Path temp = Files.createTempFile("timemachine-manifest", ".json");
      temp.toFile().deleteOnExit();
      return Files.write(temp, content);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a temporary manifest", e);
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
    Directories.deleteRecursively(target);
    ObjectStore snapshot = stores.open(data.snapshotUri());
    long total = manifest.files().stream().mapToLong(FileEntry::size).sum();
    long done = 0;
    long[] lastReport = {0};
    int count = 0;
    Path base = target.toAbsolutePath().normalize();
    for (FileEntry file : manifest.files()) {
      Path destination = base.resolve(file.path()).normalize();
      if (!destination.startsWith(base) || destination.equals(base)) {
        throw new InputUnverifiableException(
            InputKind.DATA, "snapshot " + data.snapshotUri() + " lists a file path that would escape the restore directory");
      }
      Digests.Streamed restored;
      try {
        Files.createDirectories(destination.getParent());
        long before = done;
        int restoredSoFar = count;
        try (InputStream in = openFile(snapshot, data, file);
            OutputStream out =
                Files.newOutputStream(destination, java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          restored =
              Digests.sha256(in, out, size -> {
                if (System.nanoTime() - lastReport[0] > PROGRESS_EVERY_NANOS) {
                  lastReport[0] = System.nanoTime();
                  progress.report(String.format("restoring %s: %d/%d files, %s/%s", file.path(), restoredSoFar,
                      manifest.files().size(), mb(before + size), mb(total)));
                }
              });
        }
      } catch (IOException e) {
        throw TimemachineException.unavailable("cannot restore " + file.path() + " from " + data.snapshotUri() + ": " + e, e);
      }
      String actual = restored.sha256();
      long size = restored.size();
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
      if (e.type() == ErrorType.CONFLICT) {
        // The store refused to follow a link in it: the snapshot was altered, and nothing was read.
        throw new InputUnverifiableException(
            InputKind.DATA, "data file '" + file.path() + "' in snapshot " + data.snapshotUri() + " was replaced: " + e.getMessage());
      }
      throw e;
    }
  }

  private static String mb(long bytes) {
    return String.format("%.1f MB", bytes / 1e6);
  }
}
