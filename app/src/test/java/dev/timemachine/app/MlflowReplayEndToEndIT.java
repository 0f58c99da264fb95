package dev.timemachine.app;

import dev.timemachine.samples.MlflowServer;

import dev.timemachine.samples.SampleRuns;
import dev.timemachine.samples.Services;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.activities.ControlActivitiesImpl;
import dev.timemachine.adapters.store.S3ObjectStore;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.workflow.ReplayResult;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replay straight from a real MLflow: the churn sample trains for real in the sample image, its run
 * is recorded into MLflow with timemachine_mlflow (through record_run.py, as a team does after a
 * network-less training run), registered as a version of {@code churn} and aliased {@code champion};
 * then {@code mlflow:churn@champion} is replayed with the real activities (Docker, registry, S3) in the
 * in-process Temporal test server, and what the write-back left in MLflow is read back over REST.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class MlflowReplayEndToEndIT {
  private static final String MODEL = "churn";

  @TempDir static Path tmp;

  private MlflowServer mlflow;
  private Components components;
  private TemporalRuntime temporal;
  private ImageRef image;
  private SampleProject.Repository churn;
  private Path original;
  private DataRef snapshot;
  private final StringWriter progress = new StringWriter();

  @BeforeAll
  void trainTheOriginalAndRecordItIntoMlflow() throws Exception {
    Services.requireAll();
    mlflow = MlflowServer.require();
    String bucket = "timemachine-mlflow-it-" + System.currentTimeMillis();
    Map<String, String> env = new HashMap<>(mlflow.environment());
    env.putAll(
        Map.of(
            "TIMEMACHINE_HOME", tmp.resolve("home").toString(),
            "TIMEMACHINE_STORE", "s3://" + bucket + "/tm",
            "TIMEMACHINE_S3_ENDPOINT", Services.S3_ENDPOINT,
            "AWS_ACCESS_KEY_ID", Services.S3_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY", Services.S3_SECRET_KEY,
            "AWS_REGION", "us-east-1",
            "TIMEMACHINE_WORKER_ID", "mlflow-it-host",
            "TIMEMACHINE_TRAIN_TIMEOUT_SECONDS", "600"));
    Config config = Config.fromEnvironment(env);
    components = new Components(config);
    ((S3ObjectStore) components.store()).createBucketIfMissing();
    image = SampleEnvironment.pinned();
    churn = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("churn"));
    Path data = SampleRuns.generateData(components.engine(), image, churn, tmp.resolve("data"));
    original = SampleRuns.trainOriginal(components.engine(), image, churn, data, tmp.resolve("original"));
    snapshot = components.snapshots().create(data, config.storeUri(), Progress.NONE);
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

  /** Records the original run as a new version of churn, exactly as the demo and a team do. */
  private MlflowSupport.RecordedVersion record(List<String> aliases) {
    return MlflowSupport.record(
        components.config(),
        new MlflowSupport.Recording(
            original, MODEL, aliases, churn.url(), churn.commit(), SampleProject.ENTRY_POINT, ".", image, snapshot));
  }

  private ReplayResult replay(String spec, boolean writeBack) {
    return new ReplayRunner(temporal, components.config())
        .run(spec, ReplayRunner.newReplayId(spec), SampleRuns.LIMITS, writeBack, new PrintWriter(progress, true));
  }

  private ReplayReport report(ReplayResult result) {
    return Json.parse(
        components.store().getBytes(ControlActivitiesImpl.reportKey(result.replayId())), ReplayReport.class, result.reportUri());
  }

  @Test
  void gc_keeps_the_snapshot_an_mlflow_version_recorded_though_nothing_else_references_it() throws Exception {
    // Its own snapshot, recorded into MLflow only: no built-in version and no report names it.
    Path own = Files.createDirectories(tmp.resolve("gc-data"));
    Files.writeString(own.resolve("customers.csv"), "id,churned\n1,0\n2,1\n");
    Files.writeString(own.resolve("only-mlflow.txt"), "kept by an MLflow version " + System.nanoTime() + "\n");
    DataRef recorded = components.snapshots().create(own, components.config().storeUri(), Progress.NONE);
    MlflowSupport.record(components.config(), new MlflowSupport.Recording(
        original, "churn-gc", List.of(), churn.url(), churn.commit(), SampleProject.ENTRY_POINT, ".", image, recorded));
    String manifest = recorded.snapshotUri().substring(components.store().rootUri().length() + 1) + "/manifest.json";

    GarbageCollector.Plan plan = new GarbageCollector(components,
        java.time.Clock.fixed(java.time.Instant.now().plus(java.time.Duration.ofDays(2)), java.time.ZoneOffset.UTC))
        .plan(dev.timemachine.core.retention.Retention.DEFAULT_GRACE);

    assertThat(plan.consulted()).anySatisfy(line -> assertThat(line).startsWith("MLflow ").contains("with a recorded snapshot"));
    assertThat(plan.store().doomed()).extracting(dev.timemachine.core.retention.Retention.Doomed::key)
        .as("what gc would delete").doesNotContain(manifest)
        .doesNotContain(dev.timemachine.core.data.SnapshotManifest.objectKey(recorded.files().stream()
            .filter(f -> f.path().equals("only-mlflow.txt")).findFirst().orElseThrow().sha256()));
  }

  @Test
  void churn_at_champion_is_reproduced_bitwise_and_the_verdict_lands_on_the_model_version() throws Exception {
    MlflowSupport.RecordedVersion version = record(List.of("champion"));

    ReplayResult result = replay("mlflow:churn@champion", true);

    assertThat(result.verdict()).as("verdict (%s)", result.reason()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(result.writeBackProblem()).isNull();
    ReplayReport report = report(result);
    assertThat(report.model()).as("the alias resolved to the version just recorded").isEqualTo(new ModelRef(MODEL, version.version()));
    assertThat(report.triplet().code().commit()).isEqualTo(churn.commit());
    assertThat(report.triplet().environment().image()).isEqualTo(image);
    assertThat(report.triplet().data().rootDigest()).isEqualTo(snapshot.rootDigest());
    assertThat(report.artifacts()).extracting(a -> a.path()).containsExactlyInAnyOrder("model.pkl", "metrics.json");
    assertThat(report.artifacts()).allSatisfy(a -> assertThat(a.identical()).isTrue());

    Map<String, String> tags = mlflow.versionTags(MODEL, version.version());
    assertThat(tags)
        .containsEntry("timemachine.verdict", "REPRODUCED_BITWISE")
        .containsEntry("timemachine.report", result.reportUri())
        .containsEntry("timemachine.replayed_at", report.finishedAt().toString())
        .containsEntry("timemachine.replay_id", result.replayId())
        .containsKey("timemachine.replay_run_id");

    JsonNode run = mlflow.get("runs/get", "run_id", tags.get("timemachine.replay_run_id")).path("run");
    JsonNode experiment =
        mlflow.get("experiments/get-by-name", "experiment_name", "timemachine-replays").path("experiment");
    assertThat(run.path("info").path("experiment_id").asText()).isEqualTo(experiment.path("experiment_id").asText());
    assertThat(run.path("info").path("run_name").asText()).isEqualTo(result.replayId());
    assertThat(run.path("info").path("status").asText()).isEqualTo("FINISHED");
    assertThat(MlflowServer.tags(run.path("data").path("tags")))
        .containsEntry("timemachine.source_run_id", version.runId())
        .containsEntry("timemachine.verdict", "REPRODUCED_BITWISE");
    Map<String, Double> metrics = new HashMap<>();
    run.path("data").path("metrics").forEach(m -> metrics.put(m.path("key").asText(), m.path("value").asDouble()));
    Map<String, Double> rebuilt = new HashMap<>();
    report.metrics().forEach(m -> rebuilt.put(m.name(), m.rebuilt()));
    assertThat(metrics).as("the rebuilt metrics").isEqualTo(rebuilt).containsKeys("accuracy", "f1", "roc_auc");
    assertThat(mlflow.artifact(run.path("info"), "report.json"))
        .as("report.json of the replay run is the report in the store")
        .isEqualTo(components.store().getBytes(ControlActivitiesImpl.reportKey(result.replayId())));
  }

  @Test
  void a_version_without_the_image_tag_is_inputs_unverifiable_naming_the_tag() throws Exception {
    MlflowSupport.RecordedVersion version = record(List.of());
    // As if the run had been logged before the team recorded images.
    mlflow.post("runs/delete-tag", Map.of("run_id", version.runId(), "key", "timemachine.image"));

    ReplayResult result = replay(version.spec(), true);

    assertThat(result.verdict()).isEqualTo(Verdict.INPUTS_UNVERIFIABLE);
    assertThat(result.reason())
        .isEqualTo(
            "model version churn/" + version.version() + ": run " + version.runId() + " has no tag timemachine.image;"
                + " record it with timemachine_mlflow.record_triplet(..., image=...)");
    assertThat(report(result).trainingExitCode()).as("no training started").isNull();
    assertThat(mlflow.versionTags(MODEL, version.version()))
        .containsEntry("timemachine.verdict", "INPUTS_UNVERIFIABLE")
        .containsEntry("timemachine.verdict_reason", result.reason())
        .containsEntry("timemachine.report", result.reportUri());
  }

  @Test
  void without_write_back_the_model_version_is_left_untouched() throws Exception {
    MlflowSupport.RecordedVersion version = record(List.of());

    ReplayResult result = replay(version.spec(), false);

    assertThat(result.verdict()).as("verdict (%s)", result.reason()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(components.store().exists(ControlActivitiesImpl.reportKey(result.replayId()))).as("report written").isTrue();
    assertThat(mlflow.versionTags(MODEL, version.version())).doesNotContainKeys(
        "timemachine.verdict", "timemachine.report", "timemachine.replayed_at");
    List<String> experiments = new java.util.ArrayList<>();
    mlflow.post("experiments/search", Map.of("max_results", 1000))
        .path("experiments").forEach(e -> experiments.add(e.path("experiment_id").asText()));
    JsonNode runs =
        mlflow.post(
                "runs/search",
                Map.of("experiment_ids", experiments, "filter", "tags.`timemachine.replay_id` = '" + result.replayId() + "'"))
            .path("runs");
    assertThat(runs).as("replay runs of %s", result.replayId()).isEmpty();
  }
}
