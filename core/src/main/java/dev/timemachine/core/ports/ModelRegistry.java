package dev.timemachine.core.ports;

import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.report.ReplayReport;
import java.util.List;

/**
 * Where model versions and their triplets come from, and where verdicts go back to. A registry is
 * addressed by a model spec whose form it defines ({@code churn@3} for the built-in registry).
 */
public interface ModelRegistry {
  /** Checks a spec's form before any replay starts; throws {@code INVALID_INPUT} with the expected form. */
  default void validateSpec(String modelSpec) {}

  /** Resolves a model spec; throws {@code NOT_FOUND} or {@code INPUT_UNVERIFIABLE} (incomplete triplet). */
  ModelVersion resolve(String modelSpec);

  /**
   * Resolves a model spec, reporting progress of long work (an MLflow version's artifacts are
   * downloaded and hashed, which takes minutes for a model of gigabytes). Inside an activity the
   * progress is its heartbeat, so the call may throw when the replay is cancelled.
   */
  default ModelVersion resolve(String modelSpec, Progress progress) {
    return resolve(modelSpec);
  }

  /** Registers a new version; throws {@code CONFLICT} if it exists with different content. */
  void register(ModelVersion version);

  /** Every registered version, sorted by name then version. */
  List<ModelVersion> list();

  /** Writes a replay's verdict back where the team looks; a no-op where the registry has no place for it. */
  default void recordVerdict(String modelSpec, ReplayReport report, String reportUri) {}
}
