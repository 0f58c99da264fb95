package dev.timemachine.core.data;

import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.errors.DiskFullException;
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
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Content-addressed data snapshots. A snapshot of a directory is {@code
 * <store>/snapshots/<root hex>/manifest.json}, written last, write-once; the files themselves are
 * stored once by content in the store's shared {@code objects/sha256/<aa>/<hex>} (manifest schema
 * v2). Its URI is therefore a function of its content, uploading the same content again changes
 * nothing, and a snapshot that differs from an earlier one by one file uploads that one file: before
 * uploading, the store is asked (in parallel) which objects it already holds.
 *
 * <p>Snapshots of the first layout (v1, a copy of every file under the snapshot's own {@code
 * files/<path>}) keep restoring and verifying as before: the manifest's schema says where to read.
 *
 * <p>Restoring trusts nothing it downloads: the stored manifest must hash to the recorded root
 * digest, and every file to its recorded sha256 and size, or the data is unverifiable and the exact
 * file is named. Files are read in parallel by a bounded pool; progress is reported from the calling
 * thread only (a Temporal heartbeat must not come from a pool thread).
 */
public final class Snapshots {
  static final String MANIFEST = "manifest.json";
  private static final long PROGRESS_EVERY_NANOS = 1_000_000_000L;
  /** Default number of objects read or written at once: I/O-bound, so more than the cores. */
  public static final int DEFAULT_PARALLELISM = 8;

  private final ObjectStoreLocator stores;
  private final int parallelism;
  private final DataCache cache;

  public Snapshots(ObjectStoreLocator stores) {
    this(stores, DEFAULT_PARALLELISM);
  }

  public Snapshots(ObjectStoreLocator stores, int parallelism) {
    this(stores, parallelism, null);
  }

  private Snapshots(ObjectStoreLocator stores, int parallelism, DataCache cache) {
    if (parallelism < 1) {
      throw new IllegalArgumentException("parallelism must be at least 1");
    }
    this.stores = stores;
    this.parallelism = parallelism;
    this.cache = cache;
  }

  /**
   * The same snapshots restoring through the training host's {@link DataCache}: a file verified before
   * is hard-linked from it (nothing read from the store, nothing copied), and every file verified now
   * is added to it. Null for none.
   */
  public Snapshots withCache(DataCache dataCache) {
    return new Snapshots(stores, parallelism, dataCache);
  }

  /**
   * What {@link #create(Path, String, boolean, Progress)} did: the snapshot, whether it existed already
   * (and was then verified object by object), the stored objects it overwrote because they were
   * altered or missing (only with {@code repair}), and how many objects and bytes it uploaded (the
   * others the store held already).
   */
  public record Created(DataRef data, boolean existed, List<String> repaired, int uploadedObjects, long uploadedBytes) {
    public Created {
      repaired = List.copyOf(repaired);
    }
  }

  /**
   * The store root a snapshot URI lives under ({@code <root>/snapshots/<hex>}), or null for a URI of
   * another shape: where the shared {@code objects/sha256/} of its files, and of kept artifacts, are.
   */
  public static String storeRootOf(String snapshotUri) {
    return DataRef.storeRootOf(snapshotUri);
  }

  /**
   * Keeps files by content in the store root's {@code objects/sha256/} (what the store lacks only):
   * registration keeps a version's original artifacts so that a replay can explain how its rebuild
   * differs. Returns how many objects were uploaded.
   */
  public int keepObjects(String storeRootUri, Map<String, Path> filesBySha256) {
    ObjectStore base = stores.open(storeRootUri);
    int uploaded = 0;
    for (Map.Entry<String, Path> e : filesBySha256.entrySet()) {
      String key = SnapshotManifest.objectKey(e.getKey());
      if (!base.exists(key)) {
        base.put(key, e.getValue());
        uploaded++;
      }
    }
    return uploaded;
  }

  /**
   * Downloads the object of {@code sha256} from the store root to {@code target} and checks its hash;
   * false when the store does not hold it. A stored object whose bytes do not hash to its name is
   * refused ({@code CONFLICT}).
   */
  public boolean fetchObject(String storeRootUri, String sha256, Path target) {
    ObjectStore base = stores.open(storeRootUri);
    String key = SnapshotManifest.objectKey(sha256);
    if (!base.exists(key)) {
      return false;
    }
    base.download(key, target);
    String got = FileHashing.sha256(target);
    if (!got.equals(sha256)) {
      throw TimemachineException.conflict("object " + base.uriOf(key) + " holds content of sha256 " + got
          + ", not what its name says", "restore it from a backup, or register the version again");
    }
    return true;
  }

  public DataRef create(Path dir, String storeRootUri, Progress progress) {
    return create(dir, storeRootUri, false, progress).data();
  }

  /** Where a snapshot's files are: a v2 snapshot's in the store root by content, a v1 snapshot's under it by path. */
  private record Placement(ObjectStore store, boolean byContent) {
    String key(FileEntry file) {
      return byContent ? SnapshotManifest.objectKey(file.sha256()) : "files/" + file.path();
    }

    String schema() {
      return byContent ? SnapshotManifest.SCHEMA : SnapshotManifest.SCHEMA_V1;
    }
  }

  /**
   * Uploads {@code dir} as a snapshot, or, when a snapshot with this content exists, verifies every
   * stored object by sha256 before vouching for it. An altered or missing object is refused ({@code
   * CONFLICT}) unless {@code repair}, which re-uploads just those objects and checks them again.
   *
   * <p>A new snapshot uploads only the objects the store lacks. An object the store holds with the
   * wrong size is altered, and refused in the same way; one with the right size is trusted here
   * (reading it back would cost what content addressing saves) and re-hashed by every restore.
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
    if (snapshot.exists(MANIFEST)) {
      List<String> repaired = checkExisting(base, snapshot, root, files, dir, repair, progress);
      return new Created(DataRef.of(snapshotUri, files), true, repaired, repaired.size(), 0);
    }
    Placement objects = new Placement(base, true);
    Map<String, FileEntry> distinct = new LinkedHashMap<>();
    files.forEach(file -> distinct.putIfAbsent(file.sha256(), file));
    List<FileEntry> unique = new ArrayList<>(distinct.values());

    AtomicInteger asked = new AtomicInteger();
    List<Optional<Long>> held = inParallel(unique, file -> objects.store().size(objects.key(file)),
        () -> String.format("asking the store for %d/%d objects", asked.get(), unique.size()), asked, progress);
    List<FileEntry> missing = new ArrayList<>();
    for (int i = 0; i < unique.size(); i++) {
      FileEntry file = unique.get(i);
      Optional<Long> size = held.get(i);
      if (size.isEmpty()) {
        missing.add(file);
      } else if (size.get() != file.size()) {
        if (!repair) {
          throw TimemachineException.conflict(
              "object " + base.uriOf(objects.key(file)) + " (the content of '" + file.path() + "') holds " + size.get()
                  + " bytes instead of " + file.size() + ": the store was altered",
              "rerun with --repair to overwrite the altered object (it is evidence: copy it first if you need it)");
        }
        missing.add(file);
      }
    }
    long bytes = missing.stream().mapToLong(FileEntry::size).sum();
    AtomicInteger sent = new AtomicInteger();
    AtomicLong sentBytes = new AtomicLong();
    inParallel(missing, file -> {
          objects.store().put(objects.key(file), dir.resolve(file.path()));
          sentBytes.addAndGet(file.size());
          return null;
        },
        () -> String.format("uploaded %d/%d new objects, %s/%s", sent.get(), missing.size(), mb(sentBytes.get()), mb(bytes)),
        sent, progress);
    snapshot.putIfAbsent(MANIFEST, manifestBytes(SnapshotManifest.SCHEMA, root, files));
    progress.report(String.format("uploaded %d new objects (%s) of %d files (%s); the store held the other %d",
        missing.size(), mb(bytes), files.size(), mb(files.stream().mapToLong(FileEntry::size).sum()),
        unique.size() - missing.size()));
    return new Created(DataRef.of(snapshotUri, files), false, List.of(), missing.size(), bytes);
  }

  private static byte[] manifestBytes(String schema, String root, List<FileEntry> files) {
    long total = files.stream().mapToLong(FileEntry::size).sum();
    return Json.toBytes(new SnapshotManifest(schema, root, files.size(), total, files));
  }

  /** A stored object that does not hold what the snapshot says, and how it differs. */
  private record Altered(String key, String problem, FileEntry file) {
    static Altered of(String key, FileEntry file, Hashed stored) {
      String label = "its file '" + file.path() + "'";
      if (stored == null) {
        return new Altered(key, label + " is missing", file);
      }
      String sizes = stored.size() == file.size() ? "" : " (" + stored.size() + " bytes instead of " + file.size() + ")";
      return new Altered(key,
          label + " was altered: stored sha256 " + stored.sha256() + ", expected " + file.sha256() + sizes, file);
    }
  }

  /**
   * A snapshot with this content exists already, so nothing needs uploading; but a store that was
   * altered since must not be vouched for again, and a size check misses an edit that keeps the size.
   * So the manifest must hash to the root digest and every stored object is read back and hashed: the
   * honest default, since a store's own checksum is not a sha256 (an S3 ETag is an MD5 only for
   * single-part uploads). Without {@code repair} nothing is changed: an altered snapshot is evidence,
   * and the user decides what to do with it. A v1 snapshot is checked (and repaired) in its own layout.
   */
  private List<String> checkExisting(ObjectStore base, ObjectStore snapshot, String root, List<FileEntry> files,
      Path dir, boolean repair, Progress progress) {
    SnapshotManifest stored = storedManifest(snapshot);
    boolean byContent = stored != null ? stored.byContent() : snapshot.list("files/").isEmpty();
    Placement placement = new Placement(byContent ? base : snapshot, byContent);
    List<Altered> altered = new ArrayList<>();
    if (stored == null || stored.files() == null || !Digests.rootDigest(stored.files()).equals(root)) {
      altered.add(new Altered(MANIFEST, "its manifest no longer hashes to " + root, null));
    }
    long total = files.stream().mapToLong(FileEntry::size).sum();
    long done = 0;
    long lastReport = System.nanoTime();
    int count = 0;
    Set<String> seen = new HashSet<>();
    for (FileEntry file : files) {
      String key = placement.key(file);
      count++;
      if (!seen.add(key)) {
        continue;
      }
      Hashed hashed = hashStored(placement.store(), key);
      if (hashed == null || !hashed.sha256().equals(file.sha256()) || hashed.size() != file.size()) {
        altered.add(Altered.of(key, file, hashed));
      }
      done += file.size();
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
              + (byContent ? base.rootUri() : snapshot.rootUri()) + "/ first if you need them)");
    }
    List<String> repaired = new ArrayList<>();
    for (Altered object : altered) {
      if (object.key().equals(MANIFEST)) {
        snapshot.put(MANIFEST, writeTemporary(manifestBytes(placement.schema(), root, files)));
        SnapshotManifest now = storedManifest(snapshot);
        if (now == null || !Digests.rootDigest(now.files()).equals(root)) {
          throw TimemachineException.unavailable("repaired " + snapshot.uriOf(MANIFEST) + " but it still does not hash to " + root, null);
        }
      } else {
        placement.store().put(object.key(), dir.resolve(object.file().path()));
        Hashed now = hashStored(placement.store(), object.key());
        if (now == null || !now.sha256().equals(object.file().sha256())) {
          throw TimemachineException.conflict(
              "repaired " + placement.store().uriOf(object.key()) + " but it now hashes to "
                  + (now == null ? "nothing" : now.sha256()) + " instead of " + object.file().sha256(),
              "check that nothing changes " + dir.resolve(object.file().path()) + " or the store while the snapshot is created");
        }
      }
      repaired.add(object.key());
      progress.report("repaired " + object.key() + " (" + object.problem().replaceFirst("^its (file )?", "") + "); now verified");
    }
    return repaired;
  }

  /** The stored manifest, or null if it is missing or cannot be parsed. */
  private static SnapshotManifest storedManifest(ObjectStore snapshot) {
    try {
      SnapshotManifest stored = Json.parse(snapshot.getBytes(MANIFEST), SnapshotManifest.class, snapshot.uriOf(MANIFEST));
      return stored.files() == null ? null : stored;
    } catch (TimemachineException e) {
      if (e.type() == ErrorType.INVALID_INPUT || e.type() == ErrorType.NOT_FOUND) {
        return null;
      }
      throw e;
    }
  }

  private record Hashed(String sha256, long size) {}

  /** Streams a stored object through sha256; null if it does not exist. */
  private static Hashed hashStored(ObjectStore store, String key) {
    MessageDigest digest = Digests.newSha256();
    byte[] buffer = new byte[1 << 16];
    long size = 0;
    try (InputStream in = store.open(key)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
        size += n;
      }
    } catch (TimemachineException e) {
      if (e.type() == ErrorType.NOT_FOUND) {
        return null;
      }
      throw e;
    } catch (IOException e) {
      throw TimemachineException.unavailable("cannot read " + store.uriOf(key) + ": " + e, e);
    }
    return new Hashed(HexFormat.of().formatHex(digest.digest()), size);
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

  /**
   * Whether a snapshot can still be restored, without restoring it: its manifest is there and hashes to
   * the recorded root digest, and every file's object exists with the recorded size (a HEAD or stat
   * per object, asked in parallel); with {@code deep}, every object is also read and re-hashed.
   * Returns what is wrong, one line each, the first {@value #MAX_PROBLEMS}; empty when all is there.
   * A store that cannot be reached throws ({@code UNAVAILABLE}, {@code CONFIGURATION}): an outage is
   * not a missing file.
   */
  public List<String> check(DataRef data, boolean deep, Progress progress) {
    SnapshotManifest manifest;
    try {
      manifest = readManifest(data.snapshotUri());
    } catch (InputUnverifiableException e) {
      return List.of(e.getMessage());
    }
    String stored = Digests.rootDigest(manifest.files());
    if (!stored.equals(data.rootDigest())) {
      return List.of("snapshot manifest " + data.snapshotUri() + "/" + MANIFEST + " hashes to " + stored + ", recorded "
          + data.rootDigest());
    }
    Placement placement;
    try {
      placement = placement(manifest, data.snapshotUri());
    } catch (InputUnverifiableException e) {
      return List.of(e.getMessage());
    }
    AtomicInteger finished = new AtomicInteger();
    List<FileEntry> files = manifest.files();
    List<String> found = inParallel(files, file -> {
      String key = placement.key(file);
      String where = "data file '" + file.path() + "' (" + placement.store().uriOf(key) + ")";
      if (deep) {
        Hashed hashed = hashStored(placement.store(), key);
        if (hashed == null) {
          return where + " is missing";
        }
        if (hashed.size() != file.size() || !hashed.sha256().equals(file.sha256())) {
          return where + " has " + hashed.size() + " bytes with sha256 " + hashed.sha256() + ", recorded " + file.size()
              + " bytes with sha256 " + file.sha256();
        }
        return null;
      }
      Optional<Long> size = placement.store().size(key);
      if (size.isEmpty()) {
        return where + " is missing";
      }
      return size.get() == file.size() ? null : where + " has " + size.get() + " bytes, recorded " + file.size();
    }, () -> (deep ? "re-hashed " : "looked up ") + finished.get() + "/" + files.size() + " files", finished, progress);
    return found.stream().filter(java.util.Objects::nonNull).limit(MAX_PROBLEMS).toList();
  }

  /** How many problems {@link #check} names at most. */
  static final int MAX_PROBLEMS = 20;

  /** Where the files of a stored manifest are, by its schema. */
  private Placement placement(SnapshotManifest manifest, String snapshotUri) {
    if (!manifest.byContent()) {
      return new Placement(stores.open(snapshotUri), false);
    }
    String root = DataRef.storeRootOf(snapshotUri);
    if (root == null) {
      throw new InputUnverifiableException(InputKind.DATA,
          "snapshot " + snapshotUri + " has a " + manifest.schema() + " manifest, whose objects live beside snapshots/<root hex>,"
              + " but its URI does not end in snapshots/<root hex>");
    }
    return new Placement(stores.open(root), true);
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
    Path base = target.toAbsolutePath().normalize();
    for (FileEntry file : manifest.files()) {
      Path destination = base.resolve(file.path()).normalize();
      if (!destination.startsWith(base) || destination.equals(base)) {
        throw new InputUnverifiableException(
            InputKind.DATA, "snapshot " + data.snapshotUri() + " lists a file path that would escape the restore directory");
      }
    }
    Placement placement = placement(manifest, data.snapshotUri());
    long total = manifest.files().stream().mapToLong(FileEntry::size).sum();
    AtomicInteger count = new AtomicInteger();
    AtomicLong done = new AtomicLong();
    AtomicInteger cached = new AtomicInteger();
    inParallel(manifest.files(), file -> {
          Path destination = base.resolve(file.path()).normalize();
          if (cache != null && cache.linkInto(file.sha256(), file.size(), destination)) {
            cached.incrementAndGet();
            done.addAndGet(file.size());
            return null;
          }
          restoreFile(placement, data, file, destination, done);
          if (cache != null) {
            cache.adopt(destination, file.sha256());
          }
          return null;
        },
        () -> String.format("restoring: %d/%d files, %s/%s", count.get(), manifest.files().size(), mb(done.get()), mb(total)),
        count, progress);
    if (cache != null) {
      cache.takeNotes().forEach(progress::report);
    }
    String fromCache = cached.get() == 0 ? "" : String.format(" (%d linked from this host's cache of files verified before)",
        cached.get());
    progress.report(String.format("restored %d/%d files, %s, every sha256 verified%s", count.get(), manifest.files().size(),
        mb(total), fromCache));
    return data.rootDigest() + " — " + count.get() + " files, " + total + " bytes, every sha256 verified" + fromCache;
  }

  /** Creates {@code file}, which must not exist, making its directory only when it is missing. */
  private static OutputStream createNew(Path file) throws IOException {
    java.nio.file.OpenOption[] options = {java.nio.file.StandardOpenOption.CREATE_NEW,
        java.nio.file.StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS};
    try {
      return Files.newOutputStream(file, options);
    } catch (java.nio.file.NoSuchFileException e) {
      Files.createDirectories(file.getParent());
      return Files.newOutputStream(file, options);
    }
  }

  private static void restoreFile(Placement placement, DataRef data, FileEntry file, Path destination, AtomicLong done) {
    MessageDigest digest = Digests.newSha256();
    // Small files get a small buffer: 20,000 of them must not allocate (and zero) 64 KiB each.
    byte[] buffer = new byte[(int) Math.max(1, Math.min(1 << 16, file.size() + 1))];
    long size = 0;
    try {
      try (InputStream in = openFile(placement, data, file);
          OutputStream out = createNew(destination)) {
        for (int n; (n = in.read(buffer)) > 0; ) {
          digest.update(buffer, 0, n);
          out.write(buffer, 0, n);
          size += n;
          done.addAndGet(n);
        }
      }
    } catch (IOException e) {
      if (DiskFullException.isDiskFull(e)) {
        throw new DiskFullException(destination.getParent(), "restoring " + file.path() + " (" + file.size()
            + " bytes) from " + data.snapshotUri(), e);
      }
      throw TimemachineException.unavailable("cannot restore " + file.path() + " from " + data.snapshotUri() + ": " + e, e);
    }
    String actual = HexFormat.of().formatHex(digest.digest());
    if (!actual.equals(file.sha256()) || size != file.size()) {
      throw new InputUnverifiableException(
          InputKind.DATA,
          "data file '" + file.path() + "' in snapshot " + data.snapshotUri() + ": sha256 is " + actual + " (" + size
              + " bytes), recorded " + file.sha256() + " (" + file.size() + " bytes)");
    }
  }

  private static InputStream openFile(Placement placement, DataRef data, FileEntry file) {
    try {
      return placement.store().open(placement.key(file));
    } catch (TimemachineException e) {
      if (e.type() == ErrorType.NOT_FOUND) {
        throw new InputUnverifiableException(
            InputKind.DATA, "data file '" + file.path() + "' is missing from snapshot " + data.snapshotUri()
                + (placement.byContent() ? " (object " + placement.store().uriOf(placement.key(file)) + ")" : ""));
      }
      if (e.type() == ErrorType.CONFLICT) {
        // The store refused to follow a link in it: the snapshot was altered, and nothing was read.
        throw new InputUnverifiableException(
            InputKind.DATA, "data file '" + file.path() + "' in snapshot " + data.snapshotUri() + " was replaced: " + e.getMessage());
      }
      throw e;
    }
  }

  /** One step of work on one item, run on a pool thread. */
  @FunctionalInterface
  private interface Task<T, R> {
    R run(T item);
  }

  /**
   * Runs {@code task} over {@code items} on at most {@link #parallelism} threads and returns the
   * results in order; {@code finished} counts finished items. Progress is reported from this thread
   * about once a second. The first failing item in list order fails the whole call, with its own
   * exception, and the rest is cancelled.
   */
  private <T, R> List<R> inParallel(List<T> items, Task<T, R> task, Supplier<String> status, AtomicInteger finished,
      Progress progress) {
    if (items.isEmpty()) {
      return List.of();
    }
    ExecutorService pool = Executors.newFixedThreadPool(Math.min(parallelism, items.size()), runnable -> {
      Thread thread = new Thread(runnable, "timemachine-snapshot-io");
      thread.setDaemon(true);
      return thread;
    });
    try {
      List<Future<R>> futures = new ArrayList<>(items.size());
      for (T item : items) {
        futures.add(pool.submit(() -> {
          R result = task.run(item);
          finished.incrementAndGet();
          return result;
        }));
      }
      List<R> results = new ArrayList<>(items.size());
      long lastReport = System.nanoTime();
      for (Future<R> future : futures) {
        while (true) {
          try {
            results.add(future.get(200, TimeUnit.MILLISECONDS));
            break;
          } catch (TimeoutException e) {
            if (System.nanoTime() - lastReport > PROGRESS_EVERY_NANOS) {
              lastReport = System.nanoTime();
              progress.report(status.get());
            }
          }
        }
      }
      return results;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException runtime) {
        throw runtime;
      }
      if (cause instanceof Error error) {
        throw error;
      }
      throw new IllegalStateException(cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw TimemachineException.unavailable("interrupted while transferring snapshot objects", e);
    } finally {
      // Cancel what is left and wait for what is running: once this returns or throws, no task of it
      // writes into the target any more (a caller that cleans up after a failed restore raced them).
      pool.shutdownNow();
      awaitQuietly(pool);
    }
  }

  private static void awaitQuietly(ExecutorService pool) {
    boolean interrupted = false;
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (!pool.isTerminated() && System.nanoTime() < deadline) {
      try {
        pool.awaitTermination(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private static String mb(long bytes) {
    return String.format("%.1f MB", bytes / 1e6);
  }

}
