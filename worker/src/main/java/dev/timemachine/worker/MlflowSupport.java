package dev.timemachine.worker;

import dev.timemachine.ports.ModelRegistry;
import java.util.Map;
import java.util.function.Supplier;

/** Wires the MLflow registry in when it is available. */
final class MlflowSupport {
  private MlflowSupport() {}

  static void addTo(Map<String, Supplier<ModelRegistry>> factories, Config config, Components components) {
    // The MLflow adapter is added here once it lands.
  }
}
