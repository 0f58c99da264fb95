package dev.timemachine.app;

import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.registries.mlflow.MlflowSettings;
import java.nio.file.Path;

/**
 * MLflow as configured: read and validated with everything else, but a missing or bad MLflow setup
 * is raised only when an {@code mlflow:} spec or the MLflow demo needs it, so that it bothers nobody
 * who does not use MLflow ({@code MLFLOW_TRACKING_URI=./mlruns} is a common MLflow setting that is
 * not a server).
 *
 * @param settings the server and its credentials, or null with {@code problem} saying why
 * @param problem the configuration error to raise on use, or null
 * @param python the Python with mlflow that records runs ({@code TIMEMACHINE_MLFLOW_PYTHON}, else the
 *     venv of scripts/mlflow.sh under {@code TIMEMACHINE_CACHE_DIR})
 */
public record MlflowConfig(MlflowSettings settings, TimemachineException problem, Path python) {
  public MlflowConfig {
    if ((settings == null) == (problem == null)) {
      throw new IllegalArgumentException("exactly one of settings and problem");
    }
  }

  /** The settings, or the configuration error of the MLflow variables. */
  public MlflowSettings require() {
    if (problem != null) {
      throw problem;
    }
    return settings;
  }
}
