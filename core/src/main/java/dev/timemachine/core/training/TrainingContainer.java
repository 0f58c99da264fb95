package dev.timemachine.core.training;

import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.OutputRules;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.ports.ContainerEngine.ContainerRequest;
import dev.timemachine.core.ports.ContainerEngine.Mount;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training container contract, one for the original run and every replay: where the code, the
 * data and the outputs are inside the container, and what its environment says. A user's entry point
 * is written against this contract (README, "Recording a triplet"); changing it breaks every
 * registered version, so it lives here, in one place, apart from the activities that use it.
 */
public final class TrainingContainer {
  /** The repository at the recorded commit, read-only; the working directory is below it. */
  public static final String CODE_MOUNT = "/code";
  /** The verified data snapshot, read-only. */
  public static final String DATA_MOUNT = "/data";
  /** A fresh, empty, writable directory for every output. */
  public static final String OUTPUT_MOUNT = "/out";
  /** The label by which a replay's containers are found again (retries, cleanup). */
  public static final String LABEL_REPLAY = "dev.timemachine.replay";
  /** Where MLflow calls inside the container log to: a file store in the outputs, never an output by itself. */
  public static final String MLFLOW_TRACKING_URI = "file://" + OUTPUT_MOUNT + "/" + OutputRules.MLFLOW_SCRATCH_DIR;

  private TrainingContainer() {}

  /**
   * The training container contract, the same for an original run and its replay: code at {@value
   * #CODE_MOUNT} and data at {@value #DATA_MOUNT}, both read-only; a fresh {@value #OUTPUT_MOUNT} for
   * outputs; the entry point run in the recorded working directory; no network; MLflow calls land in
   * a file store under {@value #OUTPUT_MOUNT}/{@value dev.timemachine.core.model.OutputRules#MLFLOW_SCRATCH_DIR},
   * which is never an output unless an output rule selects from it.
   */
  public static ContainerRequest request(
      String name, ImageRef image, CodeRef code, Path codeDir, Path dataDir, Path outDir, TrainingLimits limits,
      Map<String, String> labels) {
    return request(name, image, code, codeDir, dataDir, null, outDir, limits, labels);
  }

  /**
   * The same, with the verified artifacts of upstream model versions at {@code upstreamDir} mounted
   * read-only at {@value dev.timemachine.core.model.UpstreamRef#MOUNT} (and named by {@code
   * TIMEMACHINE_UPSTREAM}); null for a training that consumes none.
   */
  public static ContainerRequest request(
      String name, ImageRef image, CodeRef code, Path codeDir, Path dataDir, Path upstreamDir, Path outDir,
      TrainingLimits limits, Map<String, String> labels) {
    String workingDir =
        ".".equals(code.workingDirectory()) ? CODE_MOUNT : CODE_MOUNT + "/" + code.workingDirectory();
    Map<String, String> env = new LinkedHashMap<>();
    env.put("TIMEMACHINE_CODE", CODE_MOUNT);
    env.put("TIMEMACHINE_DATA", DATA_MOUNT);
    env.put("TIMEMACHINE_OUTPUT", OUTPUT_MOUNT);
    env.put("HOME", "/tmp");
    // Python buffers stdout when it is not a terminal: without this, a training's prints reach the log
    // only at exit, out of order with its stderr, and not at all if it is killed.
    env.put("PYTHONUNBUFFERED", "1");
    // A script that logs to MLflow (mlflow.log_metric, log_model) would write ./mlruns or ./mlflow.db
    // under the read-only code, or try a server it cannot reach: point it at a file store in the output
    // directory instead, where output rules can collect what it logged (its run ids change every run,
    // so it is not an output by default). MLflow 3.7+ refuses file stores unless allowed.
    env.put("MLFLOW_TRACKING_URI", MLFLOW_TRACKING_URI);
    env.put("MLFLOW_ALLOW_FILE_STORE", "true");
    List<Mount> mounts = new java.util.ArrayList<>(List.of(
        new Mount(codeDir, CODE_MOUNT, true), new Mount(dataDir, DATA_MOUNT, true), new Mount(outDir, OUTPUT_MOUNT, false)));
    if (upstreamDir != null) {
      mounts.add(new Mount(upstreamDir, dev.timemachine.core.model.UpstreamRef.MOUNT, true));
      env.put("TIMEMACHINE_UPSTREAM", dev.timemachine.core.model.UpstreamRef.MOUNT);
    }
    return new ContainerRequest(
        name,
        image,
        code.entryPoint(),
        workingDir,
        List.copyOf(mounts),
        env,
        labels,
        limits);
  }

}
