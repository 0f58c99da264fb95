package dev.timemachine.registries;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.ports.ModelRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RegistryRouterTest {
  private final List<String> asked = new ArrayList<>();

  /** A registry that only resolves; the routing is what these tests are about. */
  private abstract static class ResolvingOnly implements ModelRegistry {
    @Override
    public void register(ModelVersion version) {}

    @Override
    public List<ModelVersion> list() {
      return List.of();
    }
  }

  private ModelRegistry recording(String name) {
    return new ResolvingOnly() {
      @Override
      public ModelVersion resolve(String modelSpec) {
        asked.add(name + ":" + modelSpec);
        return null;
      }
    };
  }

  @Test
  void specs_go_to_the_registry_their_prefix_names_and_others_to_the_default() {
    RegistryRouter router = new RegistryRouter("manifest", Map.of(
        "manifest", () -> recording("manifest"), "mlflow", () -> recording("mlflow")));
    router.resolve("churn@1");
    router.resolve("mlflow:churn@champion");
    router.resolve("manifest:churn@2");
    assertThat(asked).containsExactly("manifest:churn@1", "mlflow:churn@champion", "manifest:churn@2");
  }

  @Test
  void progress_reaches_the_registry_the_spec_is_routed_to() {
    ModelRegistry reporting = new ResolvingOnly() {
      @Override
      public ModelVersion resolve(String modelSpec) {
        throw new AssertionError("the router must pass progress on");
      }

      @Override
      public ModelVersion resolve(String modelSpec, dev.timemachine.core.ports.Progress progress) {
        progress.report("hashing " + modelSpec);
        return null;
      }
    };
    RegistryRouter router = new RegistryRouter("manifest", Map.of("manifest", () -> recording("manifest"), "mlflow", () -> reporting));
    List<String> progress = new ArrayList<>();

    router.resolve("mlflow:churn@champion", progress::add);

    assertThat(progress).containsExactly("hashing churn@champion");
  }

  @Test
  void an_unknown_prefix_is_refused_naming_the_known_ones() {
    RegistryRouter router = new RegistryRouter("manifest", Map.of("manifest", () -> recording("manifest")));
    assertThatThrownBy(() -> router.resolve("wandb:churn@1")).hasMessageContaining("unknown registry 'wandb'")
        .hasMessageContaining("[manifest]");
  }

  @Test
  void a_registry_is_only_created_when_first_used() {
    int[] created = {0};
    RegistryRouter router = new RegistryRouter("manifest", Map.of(
        "manifest", () -> recording("manifest"), "mlflow", () -> {
          created[0]++;
          return recording("mlflow");
        }));
    router.resolve("churn@1");
    assertThat(created[0]).isZero();
    router.resolve("mlflow:churn@1");
    router.resolve("mlflow:churn@2");
    assertThat(created[0]).isEqualTo(1);
  }
}
