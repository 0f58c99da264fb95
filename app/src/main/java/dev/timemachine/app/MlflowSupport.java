package dev.timemachine.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.timemachine.core.data.Directories;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.ModelRegistry;
import dev.timemachine.registries.mlflow.MlflowRegistry;
import dev.timemachine.registries.mlflow.MlflowSettings;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * MLflow in the composition root: the registry named {@value #REGISTRY}, configured from {@code
 * MLFLOW_TRACKING_URI} and friends when an {@code mlflow:} spec is first used (so a missing MLflow
 * configuration bothers nobody who does not use it), and the host-side recording of a finished
 * training run with {@code record_run.py}, which the MLflow demo and its integration tests share.
 */
public final class MlflowSupport {
  /** The prefix that routes a model spec to MLflow: {@code mlflow:churn@champion}. */
  public static final String REGISTRY = "mlflow";

  /** Where a Python with mlflow is, if not in the venv that scripts/mlflow.sh installs. */
  public static final String PYTHON = "TIMEMACHINE_MLFLOW_PYTHON";

  private static final long RECORD_TIMEOUT_MINUTES = 10;

  private MlflowSupport() {}

  static void addTo(Map<String, Supplier<ModelRegistry>> factories, Config config, Components components) {
    factories.put(REGISTRY, () -> new MlflowRegistry(config.mlflow().require()));
  }

  /**
   * The Python that records runs: {@value #PYTHON}, else the venv of scripts/mlflow.sh under {@code
   * TIMEMACHINE_CACHE_DIR} (default {@code ~/.cache/timemachine}).
   */
  public static Path python(Config config) {
    Path python = config.mlflow().python();
    if (!Files.isExecutable(python)) {
      throw TimemachineException.configuration(
          "no Python with mlflow at " + python,
          "scripts/mlflow.sh up installs one there (scripts/services.sh up does too), or set " + PYTHON);
    }
    return python;
  }

  /** A run recorded into MLflow and registered: what {@code record_run.py} prints. */
  public record RecordedVersion(String name, String version, String runId) {
    /** The spec that replays exactly this version, {@code mlflow:name/version}. */
    public String spec() {
      return REGISTRY + ":" + name + "/" + version;
    }
  }

  /**
   * What a finished training run is recorded with; the same arguments as {@code record_run.py}.
   *
   * @param workingDirectory where the entry point ran, relative to the repository root
   * @param aliases the aliases to point at the new version, e.g. {@code champion}
   */
  public record Recording(
      Path outputDir,
      String model,
      List<String> aliases,
      String repositoryUrl,
      String commit,
      List<String> entryPoint,
      String workingDirectory,
      ImageRef image,
      DataRef data) {}

  /**
   * Records a finished training run into the MLflow at {@code MLFLOW_TRACKING_URI}: {@code
   * record_run.py} (shipped in the jar) logs a run with the triplet and the outputs through {@code
   * timemachine_mlflow.record_triplet}, registers it as a new version of the model and points the
   * aliases at it. This is the host-side half of recording for training that runs without network.
   */
  public static RecordedVersion record(Config config, Recording recording) {
    MlflowSettings settings = config.mlflow().require();
    Path python = python(config);
    try {
      Path scripts = Files.createTempDirectory("timemachine-mlflow-");
      try {
        for (String file : List.of("timemachine_mlflow.py", "record_run.py")) {
          try (InputStream in = MlflowRegistry.class.getResourceAsStream(file)) {
            if (in == null) {
              throw new IllegalStateException(file + " is missing from the registries jar");
            }
            Files.copy(in, scripts.resolve(file), StandardCopyOption.REPLACE_EXISTING);
          }
        }
        List<String> command =
            new ArrayList<>(
                List.of(
                    python.toString(), scripts.resolve("record_run.py").toString(),
                    "--output-dir", recording.outputDir().toString(),
                    "--model", recording.model(),
                    "--repo-url", recording.repositoryUrl(),
                    "--commit", recording.commit(),
                    "--entry-point", new ObjectMapper().writeValueAsString(recording.entryPoint()),
                    "--working-dir", recording.workingDirectory(),
                    "--image", recording.image().toString(),
                    "--snapshot-uri", recording.data().snapshotUri(),
                    "--root-digest", recording.data().rootDigest(),
                    "--file-count", String.valueOf(recording.data().fileCount()),
                    "--total-bytes", String.valueOf(recording.data().totalBytes())));
        for (String alias : recording.aliases()) {
          command.addAll(List.of("--alias", alias));
        }
        return run(command, scripts, settings, config);
      } finally {
        Directories.deleteRecursively(scripts);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static RecordedVersion run(List<String> command, Path workDir, MlflowSettings settings, Config config)
      throws IOException {
    Path log = workDir.resolve("record_run.log");
    ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile()).redirectError(log.toFile());
    Map<String, String> env = builder.environment();
    putIfSet(env, MlflowSettings.TRACKING_TOKEN, settings.token());
    putIfSet(env, MlflowSettings.TRACKING_USERNAME, settings.username());
    putIfSet(env, MlflowSettings.TRACKING_PASSWORD, settings.password());
    env.put(MlflowSettings.TRACKING_URI, settings.trackingUri().toString());
    // MLflow 3 sends usage telemetry off the machine unless told not to.
    env.putIfAbsent("MLFLOW_DISABLE_TELEMETRY", "true");
    Process process = builder.start();
    byte[] stdout = process.getInputStream().readAllBytes();
    try {
      if (!process.waitFor(RECORD_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw TimemachineException.unavailable(
            "record_run.py did not finish within " + RECORD_TIMEOUT_MINUTES + " minutes", null);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      throw TimemachineException.unavailable("interrupted while recording into MLflow", e);
    }
    String out = new String(stdout, StandardCharsets.UTF_8).strip();
    if (process.exitValue() != 0) {
      List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
      String last = lines.isEmpty() ? "(no output)" : lines.get(lines.size() - 1);
      throw new TimemachineException(
          ErrorType.CONFIGURATION,
          "recording into MLflow at " + settings.trackingUri() + " failed (record_run.py exit " + process.exitValue()
              + "): " + last,
          "run registries/src/main/python/record_run.py by hand to see its whole output",
          null);
    }
    JsonNode printed = Json.mapper().readTree(out.lines().reduce((a, b) -> b).orElse("{}"));
    return new RecordedVersion(
        printed.path("name").asText(), printed.path("version").asText(), printed.path("run_id").asText());
  }

  private static void putIfSet(Map<String, String> env, String name, String value) {
    if (value != null) {
      env.put(name, value);
    }
  }
}
