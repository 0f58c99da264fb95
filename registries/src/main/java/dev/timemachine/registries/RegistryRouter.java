package dev.timemachine.registries;

import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.ModelRegistry;
import dev.timemachine.core.ports.Progress;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Routes a model spec to the registry its prefix names: {@code mlflow:churn@champion} goes to the
 * registry named {@code mlflow} with {@code churn@champion}; a spec without a prefix goes to the
 * default registry. Registries are created on first use, so a missing MLflow configuration only
 * matters to replays that ask for MLflow.
 */
public final class RegistryRouter implements ModelRegistry {
  private final String defaultName;
  private final Map<String, Supplier<ModelRegistry>> factories;
  private final Map<String, ModelRegistry> opened = new TreeMap<>();

  public RegistryRouter(String defaultName, Map<String, Supplier<ModelRegistry>> factories) {
    if (!factories.containsKey(defaultName)) {
      throw new IllegalArgumentException("no registry named " + defaultName);
    }
    this.defaultName = defaultName;
    this.factories = new TreeMap<>(factories);
  }

  /** A spec split into the registry's name and what that registry is given. */
  public record Route(String registry, String spec) {}

  public Route route(String modelSpec) {
    if (modelSpec == null || modelSpec.isBlank()) {
      throw TimemachineException.invalidInput("a model spec is required, e.g. churn@1 or mlflow:churn@champion");
    }
    int colon = modelSpec.indexOf(':');
    if (colon > 0 && factories.containsKey(modelSpec.substring(0, colon))) {
      return new Route(modelSpec.substring(0, colon), modelSpec.substring(colon + 1));
    }
    if (colon > 0 && modelSpec.substring(0, colon).matches("[a-z]+")) {
      throw TimemachineException.invalidInput(
          "unknown registry '" + modelSpec.substring(0, colon) + "' in '" + modelSpec + "' (known: " + factories.keySet() + ")");
    }
    return new Route(defaultName, modelSpec);
  }

  public synchronized ModelRegistry registry(String name) {
    Supplier<ModelRegistry> factory = factories.get(name);
    if (factory == null) {
      throw TimemachineException.invalidInput("unknown registry '" + name + "' (known: " + factories.keySet() + ")");
    }
    return opened.computeIfAbsent(name, n -> factory.get());
  }

  @Override
  public void validateSpec(String modelSpec) {
    Route route = route(modelSpec);
    registry(route.registry()).validateSpec(route.spec());
  }

  @Override
  public ModelVersion resolve(String modelSpec) {
    return resolve(modelSpec, Progress.NONE);
  }

  @Override
  public ModelVersion resolve(String modelSpec, Progress progress) {
    Route route = route(modelSpec);
    return registry(route.registry()).resolve(route.spec(), progress);
  }

  @Override
  public void register(ModelVersion version) {
    registry(defaultName).register(version);
  }

  @Override
  public List<ModelVersion> list() {
    return registry(defaultName).list();
  }

  @Override
  public void recordVerdict(String modelSpec, ReplayReport report, String reportUri) {
    Route route = route(modelSpec);
    registry(route.registry()).recordVerdict(route.spec(), report, reportUri);
  }
}
