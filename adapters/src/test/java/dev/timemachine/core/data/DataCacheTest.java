package dev.timemachine.core.data;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.adapters.store.ObjectStores;
import dev.timemachine.adapters.store.S3Settings;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.ports.Progress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The training host's data cache with real files and a local store: a warm restore reads nothing from
 * the store (its objects are deleted before it) and copies nothing (the restored file is the cache
 * entry's inode); an entry changed after verification is detected and dropped, and the file comes from
 * the store, verified, instead.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class DataCacheTest {
  @TempDir Path tmp;
  private final ObjectStores stores = new ObjectStores(S3Settings.defaults());
  private DataRef ref;
  private String storeUri;

  @BeforeEach
  void snapshot() throws Exception {
    Path data = Files.createDirectories(tmp.resolve("data/nested"));
    Files.writeString(data.resolve("rows.csv"), "a,b\n1,2\n3,4\n");
    Files.writeString(tmp.resolve("data/labels.txt"), "yes\nno\n");
    storeUri = tmp.resolve("store").toUri().toString();
    ref = new Snapshots(stores).create(tmp.resolve("data"), storeUri, Progress.NONE);
  }

  private Snapshots cached(DataCache.Mode mode) {
    return new Snapshots(stores).withCache(new DataCache(tmp.resolve("work/.cache/data"), mode));
  }

  private Path entry(String path) {
    FileEntry file = ref.files().stream().filter(f -> f.path().equals(path)).findFirst().orElseThrow();
    return new DataCache(tmp.resolve("work/.cache/data"), DataCache.Mode.TRUST_RECORD).entry(file.sha256());
  }

  private void deleteStoredObjects() {
    ObjectStore store = stores.open(storeUri);
    for (String key : store.list(SnapshotManifest.OBJECTS)) {
      store.delete(key);
    }
  }

  @Test
  void a_warm_restore_links_every_file_from_the_cache_and_reads_no_object_from_the_store() throws Exception {
    Snapshots snapshots = cached(DataCache.Mode.TRUST_RECORD);
    snapshots.restore(ref.withoutFiles(), tmp.resolve("work/r1/data"), Progress.NONE);
    deleteStoredObjects();

    List<String> progress = new ArrayList<>();
    String evidence = snapshots.restore(ref.withoutFiles(), tmp.resolve("work/r2/data"), progress::add);

    assertThat(evidence).contains("2 linked from this host's cache");
    Path restored = tmp.resolve("work/r2/data/nested/rows.csv");
    assertThat(restored).hasContent("a,b\n1,2\n3,4\n");
    assertThat(Files.getAttribute(restored, "unix:ino")).as("the same inode as the cache entry: nothing copied")
        .isEqualTo(Files.getAttribute(entry("nested/rows.csv"), "unix:ino"));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(restored))).isEqualTo("r--r--r--");
    assertThat(cached(DataCache.Mode.TRUST_RECORD).withCache(null).check(ref.withoutFiles(), false, Progress.NONE))
        .as("the store really lost its objects").isNotEmpty();
  }

  @Test
  void an_entry_written_to_after_verification_is_dropped_and_the_file_comes_from_the_store() throws Exception {
    Snapshots snapshots = cached(DataCache.Mode.TRUST_RECORD);
    snapshots.restore(ref.withoutFiles(), tmp.resolve("work/r1/data"), Progress.NONE);
    Path entry = entry("nested/rows.csv");
    Files.setPosixFilePermissions(entry, PosixFilePermissions.fromString("rw-r--r--"));
    Files.writeString(entry, "a,b\n1,2\n3,5\n");
    Files.setPosixFilePermissions(entry, PosixFilePermissions.fromString("r--r--r--"));
    // A write sets the mtime to the (coarse) kernel clock; moved on explicitly so the test does not hang on its tick.
    Files.setLastModifiedTime(entry, FileTime.fromMillis(Files.getLastModifiedTime(entry).toMillis() + 5_000));

    List<String> progress = new ArrayList<>();
    String evidence = snapshots.restore(ref.withoutFiles(), tmp.resolve("work/r2/data"), progress::add);

    assertThat(tmp.resolve("work/r2/data/nested/rows.csv")).as("verified from the store").hasContent("a,b\n1,2\n3,4\n");
    assertThat(progress).anySatisfy(line -> assertThat(line).contains("dropped").contains("differ from the record"));
    assertThat(evidence).contains("1 linked from this host's cache");
    assertThat(entry).as("re-adopted from the verified restore").hasContent("a,b\n1,2\n3,4\n");
  }

  @Test
  void an_entry_replaced_by_another_file_of_the_same_content_and_time_is_dropped_by_its_inode() throws Exception {
    Snapshots snapshots = cached(DataCache.Mode.TRUST_RECORD);
    snapshots.restore(ref.withoutFiles(), tmp.resolve("work/r1/data"), Progress.NONE);
    Path entry = entry("labels.txt");
    FileTime time = Files.getLastModifiedTime(entry);
    Path impostor = Files.writeString(tmp.resolve("impostor"), "yes\nno\n");
    Files.setLastModifiedTime(impostor, time);
    Files.setPosixFilePermissions(impostor, PosixFilePermissions.fromString("r--r--r--"));
    Files.move(impostor, entry, java.nio.file.StandardCopyOption.REPLACE_EXISTING);

    List<String> progress = new ArrayList<>();
    snapshots.restore(ref.withoutFiles(), tmp.resolve("work/r2/data"), progress::add);

    assertThat(progress).anySatisfy(line -> assertThat(line).contains("dropped").contains("differ from the record"));
  }

  @Test
  void an_edit_that_keeps_size_and_mtime_is_caught_by_rehash_mode() throws Exception {
    cached(DataCache.Mode.TRUST_RECORD).restore(ref.withoutFiles(), tmp.resolve("work/r1/data"), Progress.NONE);
    Path entry = entry("nested/rows.csv");
    FileTime time = Files.getLastModifiedTime(entry);
    Files.setPosixFilePermissions(entry, PosixFilePermissions.fromString("rw-r--r--"));
    Files.writeString(entry, "a,b\n1,2\n3,5\n");
    Files.setPosixFilePermissions(entry, PosixFilePermissions.fromString("r--r--r--"));
    Files.setLastModifiedTime(entry, time);

    List<String> progress = new ArrayList<>();
    cached(DataCache.Mode.REHASH).restore(ref.withoutFiles(), tmp.resolve("work/r2/data"), progress::add);

    assertThat(tmp.resolve("work/r2/data/nested/rows.csv")).hasContent("a,b\n1,2\n3,4\n");
    assertThat(progress).anySatisfy(line -> assertThat(line).contains("dropped").contains("hashes to"));
  }
}
