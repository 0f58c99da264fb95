package dev.timemachine.core.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.adapters.store.ObjectStores;
import dev.timemachine.adapters.store.S3Settings;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.Progress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Snapshots over the local-directory store; {@code S3ObjectStoreIT} runs a snapshot through real S3. */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class SnapshotsTest {
  @TempDir Path tmp;
  private Path data;
  private String store;
  private final Snapshots snapshots = new Snapshots(new ObjectStores(S3Settings.defaults()));

  @BeforeEach
  void data() throws Exception {
    data = Files.createDirectories(tmp.resolve("data"));
    Files.writeString(data.resolve("train.csv"), "a,b\n1,2\n");
    Files.createDirectories(data.resolve("nested/deeper"));
    Files.writeString(data.resolve("nested/deeper/labels.txt"), "yes\nno\n");
    store = tmp.resolve("store").toUri().toString();
  }

  @Test
  void a_snapshot_is_content_addressed_and_restores_byte_for_byte() throws Exception {
    List<String> progress = new ArrayList<>();
    DataRef ref = snapshots.create(data, store, progress::add);

    assertThat(ref.fileCount()).isEqualTo(2);
    assertThat(ref.files()).extracting(f -> f.path()).containsExactly("nested/deeper/labels.txt", "train.csv");
    assertThat(ref.files().get(1).sha256()).isEqualTo(Digests.sha256Hex("a,b\n1,2\n".getBytes(StandardCharsets.UTF_8)));
    assertThat(ref.snapshotUri()).endsWith("/snapshots/" + ref.rootDigest().substring(7));
    assertThat(snapshots.create(data, store, Progress.NONE)).as("same content, same snapshot").isEqualTo(ref);

    Path restored = tmp.resolve("restored");
    Files.createDirectories(restored);
    Files.writeString(restored.resolve("stale.txt"), "left over from an earlier attempt");
    String evidence = snapshots.restore(ref.withoutFiles(), restored, Progress.NONE);

    assertThat(evidence).contains(ref.rootDigest()).contains("2 files");
    assertThat(restored.resolve("train.csv")).hasContent("a,b\n1,2\n");
    assertThat(restored.resolve("nested/deeper/labels.txt")).hasContent("yes\nno\n");
    assertThat(restored.resolve("stale.txt")).as("target emptied first").doesNotExist();
  }

  @Test
  void a_stored_file_altered_after_creation_is_unverifiable_and_named() throws Exception {
    DataRef ref = snapshots.create(data, store, Progress.NONE);
    Path stored = object(ref, "train.csv");
    Files.writeString(stored, "a,b\n1,3\n");

    assertThatThrownBy(() -> snapshots.restore(ref, tmp.resolve("r"), Progress.NONE))
        .isInstanceOf(InputUnverifiableException.class)
        .hasMessageContaining("data file 'train.csv'")
        .hasMessageContaining("recorded " + ref.files().get(1).sha256())
        .satisfies(e -> assertThat(((InputUnverifiableException) e).input()).isEqualTo(InputKind.DATA));
  }

  @Test
  void creating_the_same_snapshot_again_over_an_altered_store_is_refused_and_leaves_the_evidence() throws Exception {
    DataRef ref = snapshots.create(data, store, Progress.NONE);
    Path stored = object(ref, "train.csv");
    Files.writeString(stored, "a,b\n1,2,3\n");

    assertThatThrownBy(() -> snapshots.create(data, store, Progress.NONE))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("its file 'train.csv' was altered: stored sha256 " + sha256("a,b\n1,2,3\n")
            + ", expected " + sha256("a,b\n1,2\n") + " (10 bytes instead of 8): the store was altered")
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(dev.timemachine.core.errors.ErrorType.CONFLICT))
        .satisfies(e -> assertThat(((TimemachineException) e).hint()).startsWith("rerun with --repair to overwrite the altered objects"));
    assertThat(stored).as("the altered file is not overwritten").hasContent("a,b\n1,2,3\n");

    Files.delete(stored);
    assertThatThrownBy(() -> snapshots.create(data, store, Progress.NONE))
        .hasMessageContaining("its file 'train.csv' is missing");
  }

  @Test
  void a_stored_file_altered_with_the_same_size_is_caught_by_its_sha256_and_refused() throws Exception {
    DataRef ref = snapshots.create(data, store, Progress.NONE);
    Path stored = object(ref, "train.csv");
    Files.writeString(stored, "a,b\n1,3\n");
    assertThat(Files.size(stored)).as("same size as the original").isEqualTo(ref.files().get(1).size());

    assertThatThrownBy(() -> snapshots.create(data, store, Progress.NONE))
        .isInstanceOf(TimemachineException.class)
        .hasMessage("snapshot " + ref.snapshotUri() + " exists, but its file 'train.csv' was altered: stored sha256 "
            + sha256("a,b\n1,3\n") + ", expected " + ref.files().get(1).sha256() + ": the store was altered")
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(dev.timemachine.core.errors.ErrorType.CONFLICT))
        .satisfies(e -> assertThat(((TimemachineException) e).hint()).contains("--repair"));
    assertThat(stored).as("the evidence is left as it was").hasContent("a,b\n1,3\n");
  }

  @Test
  void repair_re_uploads_just_the_altered_and_missing_objects_and_says_which() throws Exception {
    DataRef ref = snapshots.create(data, store, Progress.NONE);
    Files.writeString(object(ref, "train.csv"), "a,b\n1,3\n");
    Files.delete(object(ref, "nested/deeper/labels.txt"));
    assertThatThrownBy(() -> snapshots.create(data, store, Progress.NONE))
        .as("both are named, the first in full")
        .hasMessageContaining("its file 'nested/deeper/labels.txt' is missing (and 1 more altered or missing: "
            + key(ref, "train.csv") + ")");

    List<String> progress = new ArrayList<>();
    Snapshots.Created repaired = snapshots.create(data, store, true, progress::add);

    assertThat(repaired.existed()).isTrue();
    assertThat(repaired.data()).isEqualTo(ref);
    assertThat(repaired.repaired()).containsExactly(key(ref, "nested/deeper/labels.txt"), key(ref, "train.csv"));
    assertThat(progress).anyMatch(line -> line.startsWith("repaired " + key(ref, "train.csv") + " (")
        && line.contains("stored sha256 " + sha256("a,b\n1,3\n")));
    assertThat(object(ref, "train.csv")).hasContent("a,b\n1,2\n");
    assertThat(object(ref, "nested/deeper/labels.txt")).hasContent("yes\nno\n");
    assertThat(snapshots.create(data, store, true, Progress.NONE).repaired()).as("nothing left to repair").isEmpty();
    snapshots.restore(ref, tmp.resolve("restored"), Progress.NONE);
  }

  @Test
  void repair_rewrites_a_manifest_that_no_longer_hashes_to_the_root_digest() throws Exception {
    DataRef ref = snapshots.create(data, store, Progress.NONE);
    Path manifest = Path.of(java.net.URI.create(ref.snapshotUri())).resolve("manifest.json");
    Files.writeString(manifest, Files.readString(manifest).replace(ref.files().get(1).sha256(), "0".repeat(64)));
    assertThatThrownBy(() -> snapshots.create(data, store, Progress.NONE))
        .hasMessageContaining("exists, but its manifest no longer hashes to " + ref.rootDigest());

    assertThat(snapshots.create(data, store, true, Progress.NONE).repaired()).containsExactly("manifest.json");
    assertThat(snapshots.restore(ref, tmp.resolve("restored"), Progress.NONE)).contains("every sha256 verified");
  }

  @Test
  void an_untouched_snapshot_is_verified_and_vouched_for_again() {
    DataRef ref = snapshots.create(data, store, Progress.NONE);
    List<String> progress = new ArrayList<>();

    Snapshots.Created again = snapshots.create(data, store, false, progress::add);

    assertThat(again.existed()).isTrue();
    assertThat(again.repaired()).isEmpty();
    assertThat(again.data()).isEqualTo(ref);
    assertThat(progress).containsExactly("snapshot exists: 2 stored files, 0.0 MB, every sha256 verified");
  }

  /** The key of a file's content object in the store root. */
  private static String key(DataRef ref, String path) {
    return SnapshotManifest.objectKey(ref.files().stream().filter(f -> f.path().equals(path)).findFirst().orElseThrow().sha256());
  }

  /** Where the local store keeps a file's content object. */
  private Path object(DataRef ref, String path) {
    return tmp.resolve("store").resolve(key(ref, path));
  }

  private static String sha256(String content) {
    return Digests.sha256Hex(content.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void a_stored_file_deleted_after_creation_is_unverifiable_and_named() throws Exception {
    DataRef ref = snapshots.create(data, store, Progress.NONE);
    Files.delete(object(ref, "nested/deeper/labels.txt"));

    assertThatThrownBy(() -> snapshots.restore(ref, tmp.resolve("r"), Progress.NONE))
        .isInstanceOf(InputUnverifiableException.class)
        .hasMessageContaining("'nested/deeper/labels.txt' is missing");
  }

  @Test
  void a_failed_restore_has_no_task_left_writing_into_its_target_when_it_throws() throws Exception {
    Path many = Files.createDirectories(tmp.resolve("many"));
    for (int i = 0; i < 40; i++) {
      Files.writeString(many.resolve("f" + i + ".txt"), "file " + i + "\n".repeat(i));
    }
    DataRef ref = snapshots.create(many, store, Progress.NONE);
    String missing = key(ref, "f0.txt");
    Files.delete(tmp.resolve("store").resolve(missing));
    // Every other object arrives late and cannot be interrupted, as a read or write in the middle of
    // a file is not: the tasks reading them are still at work when the missing one fails the restore.
    ObjectStores real = new ObjectStores(S3Settings.defaults());
    Snapshots slow = new Snapshots(root -> new SlowObjectStore(real.open(root), missing));
    Path target = tmp.resolve("r");

    assertThatThrownBy(() -> slow.restore(ref, target, Progress.NONE)).isInstanceOf(InputUnverifiableException.class);
    List<String> atThrow = listing(target);
    Thread.sleep(2 * SlowObjectStore.DELAY_MS);

    assertThat(listing(target)).as("what the target holds once restore has thrown, and a while later").isEqualTo(atThrow);
  }

  private static List<String> listing(Path dir) throws java.io.IOException {
    if (!Files.exists(dir)) {
      return List.of();
    }
    try (var paths = Files.walk(dir)) {
      return paths.map(p -> dir.relativize(p) + " " + p.toFile().length()).sorted().toList();
    }
  }

  /** The real store, but opening any object other than {@code failing} takes a while, uninterruptibly. */
  private record SlowObjectStore(dev.timemachine.core.ports.ObjectStore real, String failing)
      implements dev.timemachine.core.ports.ObjectStore {
    static final long DELAY_MS = 300;

    @Override public java.io.InputStream open(String key) {
      if (!key.equals(failing)) {
        long until = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(DELAY_MS);
        boolean interrupted = false;
        while (System.nanoTime() < until) {
          try {
            Thread.sleep(10);
          } catch (InterruptedException e) {
            interrupted = true;
          }
        }
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
      return real.open(key);
    }

    @Override public String rootUri() { return real.rootUri(); }
    @Override public boolean exists(String key) { return real.exists(key); }
    @Override public java.util.Optional<Long> size(String key) { return real.size(key); }
    @Override public void put(String key, Path source) { real.put(key, source); }
    @Override public boolean putIfAbsent(String key, byte[] content) { return real.putIfAbsent(key, content); }
    @Override public byte[] getBytes(String key) { return real.getBytes(key); }
    @Override public void download(String key, Path target) { real.download(key, target); }
    @Override public List<String> list(String prefix) { return real.list(prefix); }
  }

  @Test
  void a_stored_manifest_that_no_longer_hashes_to_the_recorded_root_is_unverifiable() throws Exception {
    DataRef ref = snapshots.create(data, store, Progress.NONE);
    Path manifest = Path.of(java.net.URI.create(ref.snapshotUri())).resolve("manifest.json");
    String text = Files.readString(manifest);
    Files.writeString(manifest, text.replace("\"size\" : 8", "\"size\" : 9"));

    assertThatThrownBy(() -> snapshots.restore(ref, tmp.resolve("r"), Progress.NONE))
        .isInstanceOf(InputUnverifiableException.class)
        .hasMessageContaining("changed after registration");
  }

  @Test
  void a_snapshot_uri_without_a_manifest_is_unverifiable() {
    DataRef missing = new DataRef(store + "/snapshots/nothing", "sha256:" + "0".repeat(64), 1, 1, List.of());
    assertThatThrownBy(() -> snapshots.restore(missing, tmp.resolve("r"), Progress.NONE))
        .isInstanceOf(InputUnverifiableException.class)
        .hasMessageContaining("manifest.json not found");
  }

  @Test
  void an_empty_directory_or_a_symlink_cannot_be_snapshotted() throws Exception {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    assertThatThrownBy(() -> snapshots.create(empty, store, Progress.NONE)).hasMessageContaining("is empty");
    Files.createSymbolicLink(data.resolve("link.csv"), data.resolve("train.csv"));
    assertThatThrownBy(() -> snapshots.create(data, store, Progress.NONE))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("link.csv")
        .hasMessageContaining("symbolic link");
  }

  @Test
  void a_snapshot_that_differs_from_an_earlier_one_by_one_file_uploads_only_that_file() throws Exception {
    Path big = Files.createDirectories(tmp.resolve("big"));
    for (int i = 0; i < 300; i++) {
      Files.writeString(Files.createDirectories(big.resolve("part-" + (i % 7))).resolve("f" + i + ".csv"), "row " + i + "\n".repeat(i));
    }
    Snapshots.Created first = snapshots.create(big, store, false, Progress.NONE);
    assertThat(first.uploadedObjects()).isEqualTo(300);
    assertThat(first.uploadedBytes()).isEqualTo(first.data().totalBytes());
    int objectsBefore = objectCount();

    Files.writeString(big.resolve("part-3/f10.csv"), "changed\n");
    List<String> progress = new ArrayList<>();
    Snapshots.Created second = snapshots.create(big, store, false, progress::add);

    assertThat(second.existed()).isFalse();
    assertThat(second.data().rootDigest()).isNotEqualTo(first.data().rootDigest());
    assertThat(second.uploadedObjects()).as("only the changed file is uploaded").isEqualTo(1);
    assertThat(second.uploadedBytes()).isEqualTo("changed\n".length());
    assertThat(objectCount()).as("one new object in the store").isEqualTo(objectsBefore + 1);
    assertThat(progress).last().asString().contains("uploaded 1 new objects").contains("the store held the other 299");
    assertThat(snapshots.restore(first.data().withoutFiles(), tmp.resolve("r1"), Progress.NONE)).contains("300 files");
    assertThat(snapshots.restore(second.data().withoutFiles(), tmp.resolve("r2"), Progress.NONE)).contains("300 files");
    assertThat(tmp.resolve("r1/part-3/f10.csv")).hasContent("row 10" + "\n".repeat(10));
    assertThat(tmp.resolve("r2/part-3/f10.csv")).hasContent("changed\n");
  }

  @Test
  void identical_files_are_stored_once_and_restored_to_every_path() throws Exception {
    Files.writeString(data.resolve("copy-of-train.csv"), "a,b\n1,2\n");
    Snapshots.Created created = snapshots.create(data, store, false, Progress.NONE);

    assertThat(created.data().fileCount()).isEqualTo(3);
    assertThat(created.uploadedObjects()).isEqualTo(2);
    assertThat(objectCount()).isEqualTo(2);
    snapshots.restore(created.data(), tmp.resolve("r"), Progress.NONE);
    assertThat(tmp.resolve("r/copy-of-train.csv")).hasContent("a,b\n1,2\n");
    assertThat(tmp.resolve("r/train.csv")).hasContent("a,b\n1,2\n");
  }

  @Test
  void a_stored_object_of_the_wrong_size_is_refused_when_a_new_snapshot_would_reuse_it() throws Exception {
    DataRef ref = snapshots.create(data, store, Progress.NONE);
    Files.writeString(object(ref, "train.csv"), "truncated");
    Files.writeString(data.resolve("extra.txt"), "a new file, so a new snapshot\n");

    assertThatThrownBy(() -> snapshots.create(data, store, Progress.NONE))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("(the content of 'train.csv') holds 9 bytes instead of 8: the store was altered")
        .satisfies(e -> assertThat(((TimemachineException) e).hint()).contains("--repair"));
    Snapshots.Created repaired = snapshots.create(data, store, true, Progress.NONE);
    assertThat(repaired.uploadedObjects()).as("the altered object and the new file").isEqualTo(2);
    assertThat(object(ref, "train.csv")).hasContent("a,b\n1,2\n");
  }

  @Test
  void a_snapshot_of_the_first_layout_still_restores_verifies_and_repairs_in_its_own_layout() throws Exception {
    List<dev.timemachine.core.model.FileEntry> files = FileHashing.hashTree(data);
    String root = Digests.rootDigest(files);
    Path v1 = tmp.resolve("store/snapshots/" + root.substring(7));
    for (var file : files) {
      Files.copy(data.resolve(file.path()), Files.createDirectories(v1.resolve("files/" + file.path()).getParent())
          .resolve(Path.of(file.path()).getFileName().toString()));
    }
    Files.write(v1.resolve("manifest.json"), dev.timemachine.core.json.Json.toBytes(
        new SnapshotManifest(SnapshotManifest.SCHEMA_V1, root, files.size(), 15, files)));
    DataRef ref = DataRef.of(v1.toUri().toString().replaceAll("/$", ""), files);

    assertThat(snapshots.restore(ref.withoutFiles(), tmp.resolve("r"), Progress.NONE)).contains("every sha256 verified");
    assertThat(tmp.resolve("r/nested/deeper/labels.txt")).hasContent("yes\nno\n");

    Files.writeString(v1.resolve("files/train.csv"), "a,b\n1,3\n");
    assertThatThrownBy(() -> snapshots.restore(ref, tmp.resolve("r2"), Progress.NONE))
        .isInstanceOf(InputUnverifiableException.class)
        .hasMessageContaining("data file 'train.csv'");
    assertThatThrownBy(() -> snapshots.create(data, store, Progress.NONE))
        .as("re-creating it checks the v1 files, not objects")
        .hasMessageContaining("its file 'train.csv' was altered");
    Snapshots.Created repaired = snapshots.create(data, store, true, Progress.NONE);
    assertThat(repaired.repaired()).containsExactly("files/train.csv");
    assertThat(objectCount()).as("a v1 snapshot is repaired in place, no objects written").isZero();
    snapshots.restore(ref, tmp.resolve("r3"), Progress.NONE);
  }

  @Test
  void a_content_addressed_manifest_at_a_uri_without_its_root_digest_is_unverifiable() throws Exception {
    DataRef ref = snapshots.create(data, store, Progress.NONE);
    Path moved = Files.createDirectories(tmp.resolve("store/snapshots/renamed"));
    Files.copy(Path.of(java.net.URI.create(ref.snapshotUri())).resolve("manifest.json"), moved.resolve("manifest.json"));
    DataRef elsewhere = new DataRef(moved.toUri().toString().replaceAll("/$", ""), ref.rootDigest(), 2, ref.totalBytes(), List.of());

    assertThatThrownBy(() -> snapshots.restore(elsewhere, tmp.resolve("r"), Progress.NONE))
        .isInstanceOf(InputUnverifiableException.class)
        .hasMessageContaining("does not end in snapshots/<root hex>");
  }

  private int objectCount() throws Exception {
    Path objects = tmp.resolve("store/objects/sha256");
    if (!Files.isDirectory(objects)) {
      return 0;
    }
    try (var walk = Files.walk(objects)) {
      return (int) walk.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).count();
    }
  }
}
