package dev.timemachine.adapters.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class LocalObjectStoreTest {
  @TempDir Path tmp;

  private LocalObjectStore store() {
    return new LocalObjectStore(tmp.resolve("store"));
  }

  @Test
  void put_if_absent_writes_once_and_never_overwrites() {
    LocalObjectStore store = store();
    assertThat(store.putIfAbsent("reports/r1.json", "first".getBytes(StandardCharsets.UTF_8))).isTrue();
    assertThat(store.putIfAbsent("reports/r1.json", "second".getBytes(StandardCharsets.UTF_8))).isFalse();
    assertThat(new String(store.getBytes("reports/r1.json"), StandardCharsets.UTF_8)).isEqualTo("first");
    assertThat(store.list("reports/")).containsExactly("reports/r1.json");
  }

  @Test
  void concurrent_writers_of_one_key_have_exactly_one_winner() throws Exception {
    LocalObjectStore store = store();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<Boolean>> results = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      byte[] content = ("writer " + i).getBytes(StandardCharsets.UTF_8);
      results.add(pool.submit(() -> store.putIfAbsent("once", content)));
    }
    int winners = 0;
    for (Future<Boolean> r : results) {
      winners += r.get() ? 1 : 0;
    }
    pool.shutdown();
    assertThat(winners).isEqualTo(1);
    assertThat(store.list("")).containsExactly("once");
  }

  @Test
  void keys_that_could_escape_the_root_are_refused_before_touching_disk() {
    LocalObjectStore store = store();
    assertThatThrownBy(() -> store.putIfAbsent("../outside", new byte[1])).hasMessageContaining("'..'");
    assertThatThrownBy(() -> store.getBytes("/etc/passwd")).hasMessageContaining("absolute");
    assertThat(tmp.resolve("outside")).doesNotExist();
  }

  @Test
  void a_missing_key_is_not_found_naming_its_uri() {
    assertThatThrownBy(() -> store().getBytes("models/x/1.json"))
        .isInstanceOf(TimemachineException.class)
        .hasMessageEndingWith("/store/models/x/1.json does not exist")
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.NOT_FOUND));
  }

  @Test
  void put_replaces_and_download_copies() throws Exception {
    LocalObjectStore store = store();
    Path source = Files.writeString(tmp.resolve("a.txt"), "one");
    store.put("k/a.txt", source);
    Files.writeString(source, "two");
    store.put("k/a.txt", source);
    store.download("k/a.txt", tmp.resolve("out/a.txt"));
    assertThat(tmp.resolve("out/a.txt")).hasContent("two");
    assertThat(store.size("k/a.txt")).contains(3L);
  }

  @Test
  void store_uris_open_the_right_kind_of_store() {
    try (ObjectStores stores = new ObjectStores(S3Settings.defaults())) {
      assertThat(stores.open(tmp.toUri().toString())).isInstanceOf(LocalObjectStore.class);
      assertThat(stores.open(tmp.toString()).rootUri()).isEqualTo(store().rootUri().replace("/store", ""));
      assertThat(stores.open("s3://bucket/some/prefix/").rootUri()).isEqualTo("s3://bucket/some/prefix");
      assertThatThrownBy(() -> stores.open("gs://bucket")).hasMessageContaining("unsupported store URI");
    }
  }

  @Test
  void a_stored_object_keeps_no_mode_bits_and_a_link_source_is_refused(@org.junit.jupiter.api.io.TempDir Path dir)
      throws java.io.IOException {
    LocalObjectStore store = new LocalObjectStore(dir.resolve("store"));
    Path shell = java.nio.file.Files.writeString(dir.resolve("sh"), "#!/bin/sh");
    java.nio.file.Files.setAttribute(shell, "unix:mode", 06755);
    Path link = java.nio.file.Files.createSymbolicLink(dir.resolve("link"), shell);

    store.put("outputs/sh", shell);

    org.assertj.core.api.Assertions.assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
            java.nio.file.Files.getPosixFilePermissions(store.root().resolve("outputs/sh"))))
        .as("mode of the stored copy of a setuid, setgid file").isEqualTo("rw-r--r--");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.put("outputs/link", link))
        .as("storing a symbolic link").isInstanceOf(dev.timemachine.core.errors.TimemachineException.class);
  }

  @Test
  void a_stored_object_replaced_by_a_link_is_never_read(@org.junit.jupiter.api.io.TempDir Path dir) throws java.io.IOException {
    LocalObjectStore store = new LocalObjectStore(dir.resolve("store"));
    store.put("snapshots/x/files/a.csv", java.nio.file.Files.writeString(dir.resolve("a.csv"), "a"));
    Path secret = java.nio.file.Files.writeString(dir.resolve("shadow"), "root:secret");
    java.nio.file.Files.delete(store.root().resolve("snapshots/x/files/a.csv"));
    java.nio.file.Files.createSymbolicLink(store.root().resolve("snapshots/x/files/a.csv"), secret);
    java.nio.file.Files.createSymbolicLink(store.root().resolve("snapshots/y"), dir);

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.open("snapshots/x/files/a.csv"))
        .as("opening an object that is a link").hasMessageContaining("symbolic link").hasMessageNotContaining("secret");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.getBytes("snapshots/y/shadow"))
        .as("reading through a linked directory").hasMessageContaining("symbolic link");
  }
}
