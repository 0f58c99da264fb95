package dev.timemachine.adapters.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What only the local store does; the port's behaviour is in {@link ObjectStoreContract}. */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class LocalObjectStoreTest {
  @TempDir Path tmp;

  private LocalObjectStore store() {
    return new LocalObjectStore(tmp.resolve("store"));
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
