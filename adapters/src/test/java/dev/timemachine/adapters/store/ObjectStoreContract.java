package dev.timemachine.adapters.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.ObjectStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the {@link ObjectStore} port promises, run against every store: {@code InMemoryObjectStoreTest}
 * and {@code LocalObjectStoreContractTest} (unit) and {@code S3ObjectStoreContractIT} (s3proxy). A
 * test written against the in-memory store therefore means what it says about the others.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
abstract class ObjectStoreContract {
  @TempDir Path tmp;
  ObjectStore store;

  /** A new, empty store; each test gets its own. */
  abstract ObjectStore newStore() throws IOException;

  @BeforeEach
  void open() throws IOException {
    store = newStore();
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private Path file(String name, String content) throws IOException {
    return Files.writeString(tmp.resolve(name), content);
  }

  private static TimemachineException thrown(Callable<?> call) {
    TimemachineException e = catchThrowableOfType(TimemachineException.class, call::call);
    assertThat(e).as("a TimemachineException").isNotNull();
    return e;
  }

  @Test
  void the_root_uri_has_no_trailing_slash_and_a_key_uri_is_root_slash_key() {
    assertThat(store.rootUri()).doesNotEndWith("/");
    assertThat(store.uriOf("models/churn/1.json")).isEqualTo(store.rootUri() + "/models/churn/1.json");
  }

  @Test
  void a_put_object_exists_with_its_size_and_content() throws IOException {
    store.put("files/a.txt", file("a.txt", "hello"));
    assertThat(store.exists("files/a.txt")).isTrue();
    assertThat(store.size("files/a.txt")).contains(5L);
    assertThat(store.getBytes("files/a.txt")).isEqualTo(bytes("hello"));
  }

  @Test
  void put_replaces_what_was_there() throws IOException {
    store.put("k", file("one", "one"));
    store.put("k", file("two", "second"));
    assertThat(store.getBytes("k")).isEqualTo(bytes("second"));
    assertThat(store.size("k")).contains(6L);
  }

  @Test
  void put_if_absent_writes_once_and_never_overwrites() {
    assertThat(store.putIfAbsent("reports/r1.json", bytes("first"))).isTrue();
    assertThat(store.putIfAbsent("reports/r1.json", bytes("second"))).isFalse();
    assertThat(store.getBytes("reports/r1.json")).isEqualTo(bytes("first"));
  }

  @Test
  void put_if_absent_does_not_overwrite_an_object_that_put_wrote() throws IOException {
    store.put("k", file("k", "put"));
    assertThat(store.putIfAbsent("k", bytes("later"))).isFalse();
    assertThat(store.getBytes("k")).isEqualTo(bytes("put"));
  }

  @Test
  void concurrent_writers_of_one_key_have_exactly_one_winner_whose_content_stays() throws Exception {
    int writers = 16;
    ExecutorService pool = Executors.newFixedThreadPool(8);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Boolean>> results = new ArrayList<>();
    try {
      for (int i = 0; i < writers; i++) {
        byte[] content = bytes("writer " + i);
        results.add(pool.submit(() -> {
          start.await();
          return store.putIfAbsent("once", content);
        }));
      }
      start.countDown();
      List<Integer> winners = new ArrayList<>();
      for (int i = 0; i < writers; i++) {
        if (results.get(i).get()) {
          winners.add(i);
        }
      }
      assertThat(winners).as("writers that were told they wrote it").hasSize(1);
      assertThat(store.getBytes("once")).isEqualTo(bytes("writer " + winners.get(0)));
      assertThat(store.list("")).containsExactly("once");
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void delete_removes_an_object_and_deleting_a_missing_one_is_nothing() {
    store.putIfAbsent("gone/a.bin", bytes("a"));
    store.putIfAbsent("gone/b.bin", bytes("b"));
    store.delete("gone/a.bin");
    store.delete("gone/a.bin");
    store.delete("never/was.bin");
    assertThat(store.exists("gone/a.bin")).isFalse();
    assertThat(store.list("gone/")).containsExactly("gone/b.bin");
  }

  @Test
  void what_the_caller_does_to_its_arrays_afterwards_changes_nothing_stored() {
    byte[] content = bytes("abc");
    store.putIfAbsent("k", content);
    content[0] = 'X';
    store.getBytes("k")[1] = 'Y';
    assertThat(store.getBytes("k")).isEqualTo(bytes("abc"));
  }

  @Test
  void list_gives_the_keys_under_a_prefix_sorted_and_nothing_beside_it() {
    for (String key : List.of("reports/b.json", "reports/a.json", "reports/sub/c.json", "reportsX/d.json", "models/m.json")) {
      store.putIfAbsent(key, bytes(key));
    }
    assertThat(store.list("reports/")).containsExactly("reports/a.json", "reports/b.json", "reports/sub/c.json");
    assertThat(store.list("")).containsExactly(
        "models/m.json", "reports/a.json", "reports/b.json", "reports/sub/c.json", "reportsX/d.json");
    assertThat(store.list("nothing/")).isEmpty();
  }

  @Test
  void a_detailed_listing_gives_the_same_keys_with_each_size_and_when_it_was_written() throws IOException {
    // Stores stamp to the second (S3) or finer: the bounds are widened by a second each way.
    java.time.Instant before = java.time.Instant.now().minusSeconds(1);
    store.putIfAbsent("snapshots/x/manifest.json", bytes("{}"));
    store.put("objects/sha256/ab/abc", file("obj", "twelve bytes"));
    store.putIfAbsent("objectsX/other", bytes("beside"));
    java.time.Instant after = java.time.Instant.now().plusSeconds(1);

    assertThat(store.listDetailed("objects/")).extracting(ObjectStore.Listed::key).containsExactly("objects/sha256/ab/abc");
    assertThat(store.listDetailed("")).extracting(ObjectStore.Listed::key).isEqualTo(store.list(""));
    ObjectStore.Listed object = store.listDetailed("objects/").get(0);
    assertThat(object.size()).as("size").isEqualTo(12L);
    assertThat(object.lastModified()).as("last modified").isBetween(before, after);
    store.delete("objects/sha256/ab/abc");
    assertThat(store.listDetailed("objects/")).as("deleted objects are not listed").isEmpty();
  }

  @Test
  void an_empty_store_lists_nothing() {
    assertThat(store.listDetailed("")).isEmpty();
    assertThat(store.list("")).isEmpty();
  }

  @Test
  void open_streams_the_content() throws IOException {
    store.putIfAbsent("big.bin", new byte[300_000]);
    try (InputStream in = store.open("big.bin")) {
      assertThat(in.readAllBytes()).hasSize(300_000);
    }
  }

  @Test
  void download_creates_the_parent_directories_and_replaces_the_target() throws IOException {
    store.putIfAbsent("models/m.pkl", bytes("model"));
    Path target = tmp.resolve("out/deep/m.pkl");
    store.download("models/m.pkl", target);
    assertThat(target).hasContent("model");
    Files.writeString(target, "something else, longer");
    store.download("models/m.pkl", target);
    assertThat(target).hasContent("model");
  }

  @Test
  void a_missing_key_does_not_exist_has_no_size_and_reading_it_is_not_found_naming_its_uri() {
    assertThat(store.exists("models/none.json")).isFalse();
    assertThat(store.size("models/none.json")).isEmpty();
    List<Callable<?>> reads =
        List.of(
            () -> store.getBytes("models/none.json"),
            () -> {
              try (InputStream in = store.open("models/none.json")) {
                return in.readAllBytes();
              }
            },
            () -> {
              store.download("models/none.json", tmp.resolve("none.json"));
              return null;
            });
    for (Callable<?> read : reads) {
      TimemachineException e = thrown(read);
      assertThat(e.type()).isEqualTo(ErrorType.NOT_FOUND);
      assertThat(e.getMessage()).contains(store.uriOf("models/none.json"));
    }
  }

  @Test
  void keys_that_are_not_safe_relative_paths_are_invalid_input_for_every_operation() throws IOException {
    Path source = file("s", "s");
    List<Consumer<String>> operations =
        List.of(
            store::exists,
            store::size,
            key -> store.put(key, source),
            key -> store.putIfAbsent(key, bytes("x")),
            store::getBytes,
            store::open,
            key -> store.download(key, tmp.resolve("d")));
    for (String key : List.of("../outside", "/etc/passwd", "a/../../b", "", "a\\b")) {
      for (Consumer<String> operation : operations) {
        TimemachineException e = thrown(() -> {
          operation.accept(key);
          return null;
        });
        assertThat(e.type()).as("key '%s'", key).isEqualTo(ErrorType.INVALID_INPUT);
      }
    }
    assertThat(tmp.getParent().resolve("outside")).doesNotExist();
    assertThat(store.list("")).isEmpty();
  }
}
