package dev.timemachine.app;

import dev.timemachine.registries.manifest.Registration;
import dev.timemachine.samples.SampleRuns;
import dev.timemachine.samples.Services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.activities.ControlActivitiesImpl;
import dev.timemachine.adapters.store.S3ObjectStore;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.OutputRule;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.ports.ContainerEngine;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.workflow.ReplayResult;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outputs where the project writes them, against real parts (Docker, the local registry, S3, the
 * Temporal test server with the real activities): a training that writes under a new run id every
 * run is reproduced bitwise once registered with output rules, and one that logs only through MLflow
 * (in the MLflow sample image) is reproduced from what it logged in the container's MLflow store.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class OutputRulesEndToEndIT {
  /** Built by samples/env/build-mlflow-image.sh and pushed by scripts/services.sh up. */
  static final String MLFLOW_IMAGE_REPOSITORY = "timemachine/mlflow-env";

  @TempDir static Path tmp;

  private Components components;
  private TemporalRuntime temporal;
  private ContainerEngine engine;
  private ImageRef image;
  private Path data;
  private SampleProject.Repository mlruns;
  private Path original;
  private Registration registration;

  @BeforeAll
  void startEverything() throws Exception {
    Services.requireAll();
    String bucket = "timemachine-it-outputs-" + System.currentTimeMillis();
    Config config =
        Config.fromEnvironment(
            Map.of(
                "TIMEMACHINE_HOME", tmp.resolve("home").toString(),
                "TIMEMACHINE_STORE", "s3://" + bucket + "/tm",
                "TIMEMACHINE_S3_ENDPOINT", Services.S3_ENDPOINT,
                "AWS_ACCESS_KEY_ID", Services.S3_ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY", Services.S3_SECRET_KEY,
                "AWS_REGION", "us-east-1",
                "TIMEMACHINE_WORKER_ID", "it-outputs-host",
                "TIMEMACHINE_TRAIN_TIMEOUT_SECONDS", "600"));
    components = new Components(config);
    ((S3ObjectStore) components.store()).createBucketIfMissing();
    engine = components.engine();
    image = SampleEnvironment.pinned();
    SampleProject.Repository churn = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("churn"));
    data = SampleRuns.generateData(engine, image, churn, tmp.resolve("data"));
    mlruns = SampleProject.createRepository(SampleProject.CHURN_MLRUNS, tmp.resolve("mlruns"));
    original = SampleRuns.train(engine, image, mlruns, data, tmp.resolve("mlruns-original"));
    registration = components.registration(Clock.systemUTC());
    temporal = TemporalRuntime.connect(config);
    temporal.startAllWorkers(components);
  }

  @AfterAll
  void stopEverything() {
    if (temporal != null) {
      temporal.close();
    }
    if (components != null) {
      components.close();
    }
  }

  private ModelVersion register(
      String model, SampleProject.Repository repo, ImageRef img, Path output, String metricsFile, String... rules) {
    return registration.register(
        new Registration.Request(ModelRef.parse(model), repo.url(), repo.commit(), SampleProject.ENTRY_POINT, ".", img,
            data.toString(), output, metricsFile, Map.of(), Arrays.stream(rules).map(OutputRule::parse).toList()),
        Progress.NONE);
  }

  private ReplayResult replay(String model) {
    return new ReplayRunner(temporal, components.config())
        .run(model, ReplayRunner.newReplayId(model), SampleRuns.LIMITS, new PrintWriter(new StringWriter(), true));
  }

  private ReplayReport report(ReplayResult result) {
    return Json.parse(
        components.store().getBytes(ControlActivitiesImpl.reportKey(result.replayId())), ReplayReport.class, result.reportUri());
  }

  @Test
  void outputs_under_a_run_id_registered_with_rename_rules_are_reproduced_bitwise() {
    ModelVersion version =
        register("churn-mlruns@1", mlruns, image, original, "metrics.json",
            "mlruns/**/artifacts/model.pkl=model.pkl", "mlruns/**/artifacts/metrics.json=metrics.json");
    assertThat(version.recorded().artifacts()).extracting(FileEntry::path).containsExactly("metrics.json", "model.pkl");
    assertThat(version.recorded().metrics()).containsOnlyKeys("accuracy", "f1");
    assertThat(components.manifestRegistry().resolve("churn-mlruns@1").recorded().outputRules())
        .as("rules recorded in the manifest").hasSize(2);

    ReplayResult result = replay("churn-mlruns@1");

    assertThat(result.verdict()).as("verdict (%s)", result.reason()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    ReplayReport report = report(result);
    assertThat(report.artifacts()).extracting(a -> a.path()).containsExactly("metrics.json", "model.pkl");
    assertThat(report.metrics()).extracting(m -> m.name()).containsExactly("accuracy", "f1");
    assertThat(components.store().exists("replays/" + result.replayId() + "/outputs/model.pkl"))
        .as("the rebuilt model kept as evidence under its recorded name").isTrue();
  }

  @Test
  void the_same_outputs_registered_without_rules_are_not_rebuilt_under_their_run_id_paths() {
    register("churn-mlruns-norules@1", mlruns, image, original, null);

    ReplayResult result = replay("churn-mlruns-norules@1");

    assertThat(result.verdict()).isEqualTo(Verdict.DIVERGED);
    assertThat(result.reason()).contains("not rebuilt", "/artifacts/model.pkl");
  }

  @Test
  void a_pattern_matching_no_file_is_refused_at_registration_naming_it() {
    assertThatThrownBy(() -> register("churn-mlruns-typo@1", mlruns, image, original, "metrics.json",
            "mlruns/**/artifacts/model.pkl=model.pkl", "mlruns/**/artifacts/metrics.json=metrics.json",
            "mlruns/**/artifacts/modle.pkl"))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("'mlruns/**/artifacts/modle.pkl' matches no file")
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.INVALID_INPUT));
  }

  @Test
  void a_rename_matching_several_files_is_refused_at_registration() {
    assertThatThrownBy(() -> register("churn-mlruns-ambiguous@1", mlruns, image, original, null,
            "mlruns/**/artifacts/*=model.pkl"))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("matched 2")
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.INVALID_INPUT));
  }

  @Test
  void a_project_that_logs_only_through_mlflow_is_reproduced_bitwise_from_its_mlflow_store() throws Exception {
    // Fails (never skips) when the image is missing: scripts/services.sh up builds and pushes it.
    ImageRef mlflowImage = SampleEnvironment.pin(SampleEnvironment.REGISTRY, MLFLOW_IMAGE_REPOSITORY, SampleEnvironment.TAG);
    SampleProject.Repository project = SampleProject.createRepository(SampleProject.CHURN_MLFLOW, tmp.resolve("mlflow"));
    Path out = SampleRuns.train(engine, mlflowImage, project, data, tmp.resolve("mlflow-original"));
    try (var files = Files.walk(out)) {
      assertThat(files.map(p -> out.relativize(p).toString()).toList())
          .as("what the run logged lands in the MLflow store under /out")
          .anySatisfy(p -> assertThat(p).startsWith(".mlruns/").endsWith("/artifacts/model/model.pkl"))
          .anySatisfy(p -> assertThat(p).endsWith("/metrics/f1"));
    }
    String[] rules = {".mlruns/**/artifacts/model/model.pkl=model.pkl", ".mlruns/**/artifacts/metrics.json=metrics.json"};
    assertThat(register("churn-mlflow@1", project, mlflowImage, out, "metrics.json", rules).recorded().metrics())
        .containsOnlyKeys("accuracy", "f1");

    ReplayResult result = replay("churn-mlflow@1");

    assertThat(result.verdict()).as("verdict (%s)", result.reason()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(report(result).artifacts()).extracting(a -> a.path()).containsExactly("metrics.json", "model.pkl");
    assertThat(report(result).logTail()).noneSatisfy(line -> assertThat(line).containsIgnoringCase("git"));
  }
}
