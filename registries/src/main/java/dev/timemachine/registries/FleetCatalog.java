package dev.timemachine.registries;

import dev.timemachine.core.fleet.Candidate;
import dev.timemachine.core.fleet.Selection;
import dev.timemachine.core.fleet.Selections;
import dev.timemachine.core.fleet.Selector;
import dev.timemachine.core.ports.ModelCatalog;
import dev.timemachine.core.ports.ModelRegistry;
import dev.timemachine.registries.mlflow.MlflowRegistry;
import java.util.List;

/**
 * The fleet selector over the registries of a {@link RegistryRouter}. MLflow is listed with {@link
 * MlflowRegistry#versions()} (aliases and what keeps a version from replaying, nothing downloaded);
 * the built-in registry with its manifests, which are complete by construction.
 */
public final class FleetCatalog implements ModelCatalog {
  private final RegistryRouter router;
  private final String defaultRegistry;

  public FleetCatalog(RegistryRouter router, String defaultRegistry) {
    this.router = router;
    this.defaultRegistry = defaultRegistry;
  }

  @Override
  public Selection select(String selector) {
    return Selections.resolve(Selector.parse(selector), defaultRegistry, this::candidates);
  }

  private List<Candidate> candidates(String registryName) {
    ModelRegistry registry = router.registry(registryName);
    if (registry instanceof MlflowRegistry mlflow) {
      return mlflow.versions().stream()
          .map(v -> new Candidate(registryName, v.name(), v.version(), v.aliases(), v.problem()))
          .toList();
    }
    return registry.list().stream()
        .map(v -> new Candidate(registryName, v.model().name(), v.model().version(), List.of(), null))
        .toList();
  }
}
