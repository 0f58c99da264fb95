package dev.timemachine.adapters.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
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
    try (ObjectStores stores = new ObjectStores(S3Settings.fromEnvironment(Map.of()))) {
      assertThat(stores.open(tmp.toUri().toString())).isInstanceOf(LocalObjectStore.class);
      assertThat(stores.open(tmp.toString()).rootUri()).isEqualTo(store().rootUri().replace("/store", ""));
      assertThat(stores.open("s3://bucket/some/prefix/").rootUri()).isEqualTo("s3://bucket/some/prefix");
      assertThatThrownBy(() -> stores.open("gs://bucket")).hasMessageContaining("unsupported store URI");
    }
  }
}
