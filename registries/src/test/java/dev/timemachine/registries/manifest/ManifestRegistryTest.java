package dev.timemachine.registries.manifest;

import dev.timemachine.adapters.store.InMemoryObjectStore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.EnvironmentRef;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.Triplet;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ManifestRegistryTest {
  private final InMemoryObjectStore store = new InMemoryObjectStore();
  private final ManifestRegistry registry = new ManifestRegistry(store);

  static ModelVersion version(String model, String commit, Instant at) {
    return ModelVersion.of(
        ModelRef.parse(model),
        new Triplet(
            new CodeRef("file:///repo", commit, List.of("python3", "train.py"), "."),
            new EnvironmentRef(ImageRef.parse("reg/env@sha256:" + "a".repeat(64))),
            DataRef.of("mem://test/snapshots/x", List.of(new FileEntry("d.csv", 1, "b".repeat(64))))),
        new RecordedOutputs(List.of(new FileEntry("model.pkl", 2, "c".repeat(64))), null, Map.of("f1", 0.5), Map.of()),
        at);
  }

  @Test
  void a_registered_version_resolves_with_its_full_manifest() {
    ModelVersion v = version("churn@1", "1".repeat(40), Instant.parse("2026-01-01T00:00:00Z"));
    registry.register(v);
    assertThat(registry.resolve("churn@1")).isEqualTo(v);
    assertThat(registry.list()).containsExactly(v);
    assertThat(store.exists("models/churn/1.json")).as("manifest stored").isTrue();
  }

  @Test
  void registering_different_content_under_the_same_version_is_a_conflict_and_changes_nothing() {
    registry.register(version("churn@1", "1".repeat(40), Instant.parse("2026-01-01T00:00:00Z")));
    String before = new String(store.getBytes("models/churn/1.json"), StandardCharsets.UTF_8);

    assertThatThrownBy(() -> registry.register(version("churn@1", "2".repeat(40), Instant.now())))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("already registered with different content")
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.CONFLICT));
    assertThat(new String(store.getBytes("models/churn/1.json"), StandardCharsets.UTF_8)).isEqualTo(before);
  }

  @Test
  void registering_the_same_content_again_later_is_a_no_op() {
    registry.register(version("churn@1", "1".repeat(40), Instant.parse("2026-01-01T00:00:00Z")));
    registry.register(version("churn@1", "1".repeat(40), Instant.parse("2026-06-01T00:00:00Z")));
    assertThat(registry.resolve("churn@1").registeredAt()).as("first registration kept")
        .isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
  }

  @Test
  void an_unknown_version_is_not_found_with_what_to_do() {
    assertThatThrownBy(() -> registry.resolve("churn@9"))
        .isInstanceOf(TimemachineException.class)
        .hasMessage("model version churn@9 is not registered in mem://test")
        .satisfies(e -> assertThat(((TimemachineException) e).hint()).contains("timemachine models list"));
  }

  @Test
  void a_manifest_edited_to_describe_another_version_is_rejected() {
    registry.register(version("churn@1", "1".repeat(40), Instant.parse("2026-01-01T00:00:00Z")));
    store.putIfAbsent("models/churn/2.json", store.getBytes("models/churn/1.json"));
    assertThatThrownBy(() -> registry.resolve("churn@2")).hasMessageContaining("edited by hand");
  }
}
