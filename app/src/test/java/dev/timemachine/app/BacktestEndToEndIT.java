package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.activities.BacktestActivitiesImpl;
import dev.timemachine.activities.TrainingActivitiesImpl;
import dev.timemachine.adapters.store.S3ObjectStore;
import dev.timemachine.core.contract.MetricThreshold;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.ports.ContainerEngine;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.core.report.BacktestOutcome;
import dev.timemachine.core.report.BacktestReport;
import dev.timemachine.registries.manifest.Registration;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.samples.SampleRuns;
import dev.timemachine.samples.Services;
import dev.timemachine.workflow.BacktestResult;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
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
 * The Q3/Q4 story against real parts: the churn sample trained and registered on "Q3" data (with its
 * contract inferred by registration), then backtested by the real workflow, activities, Docker engine,
 * image registry and S3-compatible store on "Q4" data (shifted), on a broken Q4 export (a column
 * renamed), and against a second version.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class BacktestEndToEndIT {
  @TempDir static Path tmp;

  private Components components;
  private TemporalRuntime temporal;
  private ContainerEngine engine;
  private Path q4;
  private Path q4Broken;
  private ModelVersion churn1;
  private final StringWriter progress = new StringWriter();

  @BeforeAll
  void startEverything() throws Exception {
    Services.requireAll();
    String bucket = "timemachine-it-backtest-" + System.currentTimeMillis();
    Config config =
        Config.fromEnvironment(
            Map.of(
                "TIMEMACHINE_HOME", tmp.resolve("home").toString(),
                "TIMEMACHINE_STORE", "s3://" + bucket + "/tm",
                "TIMEMACHINE_S3_ENDPOINT", Services.S3_ENDPOINT,
                "AWS_ACCESS_KEY_ID", Services.S3_ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY", Services.S3_SECRET_KEY,
                "AWS_REGION", "us-east-1",
                "TIMEMACHINE_WORKER_ID", "it-backtest-host",
                "TIMEMACHINE_TRAIN_TIMEOUT_SECONDS", "600"));
    components = new Components(config);
    ((S3ObjectStore) components.store()).createBucketIfMissing();
    engine = components.engine();
    ImageRef image = SampleEnvironment.pinned();
    SampleProject.Repository churn = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("churn"));
    Path q3 = SampleRuns.generateData(engine, image, churn, tmp.resolve("q3"));
    q4 = SampleRuns.generateData(engine, image, churn, tmp.resolve("q4"), SampleRuns.NEXT_QUARTER);
    q4Broken = SampleRuns.generateData(engine, image, churn, tmp.resolve("q4-broken"), SampleRuns.NEXT_QUARTER_BROKEN);
    Path original = SampleRuns.trainOriginal(engine, image, churn, q3, tmp.resolve("original-1"));
    Registration registration = components.registration(Clock.systemUTC());
    churn1 = registration.register(
        new Registration.Request(ModelRef.parse("churn@1"), churn.url(), churn.commit(), SampleProject.ENTRY_POINT, ".",
            image, q3.toString(), original, RecordedOutputs.DEFAULT_METRICS_FILE, Map.of(), List.of(),
            List.of(MetricThreshold.parse("accuracy>=0.99"))).withEvaluateEntryPoint(SampleProject.EVALUATE_ENTRY_POINT),
        Progress.NONE);
    // Version 2: a smaller forest, trained and registered on the same Q3 data.
    String train = Files.readString(churn.directory().resolve("train.py"));
    String commit2 = SampleProject.commitChange(churn, "train.py",
        train.replace("n_estimators=50, max_depth=6", "n_estimators=10, max_depth=2"), "A smaller forest");
    assertThat(commit2).isNotEqualTo(churn.commit());
    Path original2 = SampleRuns.train(engine, image, churn, q3, tmp.resolve("original-2"));
    registration.register(
        new Registration.Request(ModelRef.parse("churn@2"), churn.url(), commit2, SampleProject.ENTRY_POINT, ".",
            image, q3.toString(), original2, RecordedOutputs.DEFAULT_METRICS_FILE, Map.of()),
        Progress.NONE);
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

  private BacktestResult backtest(String model, Path data, List<String> against) {
    return backtest(model, data, against, null);
  }

  private BacktestResult backtest(String model, Path data, List<String> against, String mode) {
    BacktestRunner runner = new BacktestRunner(temporal, components);
    DataRef snapshot = runner.snapshotOf(data.toString(), Progress.NONE);
    return runner.run(model, BacktestRunner.newBacktestId(model), snapshot, against, SampleRuns.LIMITS, mode,
        new PrintWriter(progress, true));
  }

  private BacktestReport report(BacktestResult result) {
    return new BacktestRunner(temporal, components).report(result);
  }

  private boolean trainingLogStored(String runId) {
    return components.store().exists("replays/" + runId + "/training.log");
  }

  @Test
  void registration_recorded_the_contract_of_the_q3_data() {
    assertThat(churn1.contract()).isNotNull();
    assertThat(churn1.contract().files()).filteredOn(f -> f.path().equals("customers.csv")).singleElement()
        .satisfies(f -> assertThat(f.typesByName()).containsExactly(
            Map.entry("customer_id", "string"), Map.entry("tenure_months", "int"), Map.entry("monthly_charges", "float"),
            Map.entry("support_calls", "int"), Map.entry("contract_months", "int"), Map.entry("late_payments", "int"),
            Map.entry("churned", "int")));
  }

  @Test
  void the_q3_model_backtested_on_shifted_q4_data_completes_with_a_metric_table() throws Exception {
    BacktestResult result = backtest("churn@1", q4, List.of());

    assertThat(result.outcome()).as("outcome (%s)", result.reason()).isEqualTo(BacktestOutcome.BACKTEST_COMPLETED);
    assertThat(result.reportUri()).startsWith("s3://").endsWith("/backtests/" + result.backtestId() + ".json");
    JsonNode json = Json.mapper().readTree(components.store().getBytes(BacktestActivitiesImpl.reportKey(result.backtestId())));
    assertThat(json.get("schema").asText()).isEqualTo("timemachine.backtest-report/v1");
    BacktestReport report = report(result);
    assertThat(report.original().model()).isEqualTo(new ModelRef("churn", "1"));
    assertThat(report.original().triplet().code().commit()).isEqualTo(churn1.triplet().code().commit());
    assertThat(report.newData().rootDigest()).as("new snapshot").isNotEqualTo(churn1.triplet().data().rootDigest());
    assertThat(report.runs()).singleElement().satisfies(run -> {
      assertThat(run.inputs().allVerified()).as("inputs %s", run.inputs()).isTrue();
      assertThat(run.evidence().get("code")).contains(churn1.triplet().code().commit());
      assertThat(run.evidence().get("environment")).contains(churn1.triplet().environment().image().digest());
      assertThat(run.exitCode()).isZero();
    });
    assertThat(report.metricTable().columns()).containsExactly("churn@1 (recorded)", "churn@1");
    assertThat(report.metricTable().rows()).extracting(BacktestReport.MetricTable.Row::metric)
        .containsExactly("accuracy", "f1", "roc_auc");
    BacktestReport.MetricTable.Row accuracy = report.metricTable().rows().get(0);
    assertThat(accuracy.values()).doesNotContainNull();
    assertThat(accuracy.values().get(0)).as("recorded accuracy").isEqualTo(churn1.recorded().metrics().get("accuracy"));
    assertThat(accuracy.values().get(1)).as("accuracy on Q4").isNotEqualTo(accuracy.values().get(0));
    assertThat(result.missedThresholds()).singleElement().asString().matches("accuracy 0\\.\\d+ < 0\\.99");
    assertThat(report.contract().satisfied()).isTrue();
    assertThat(trainingLogStored(result.backtestId())).as("training log of the retrained model").isTrue();
    assertThat(engine.containersWithLabel(TrainingActivitiesImpl.LABEL_REPLAY, result.backtestId())).isEmpty();
    assertThat(components.config().workDir().resolve(result.backtestId())).as("work dir cleaned").doesNotExist();
  }

  @Test
  void a_q4_export_with_a_renamed_column_is_contract_violated_naming_it_before_any_container_starts() {
    BacktestResult result = backtest("churn@1", q4Broken, List.of());

    assertThat(result.outcome()).as("outcome (%s)", result.reason()).isEqualTo(BacktestOutcome.CONTRACT_VIOLATED);
    assertThat(result.reason()).contains("customers.csv: column 'support_calls' missing");
    BacktestReport report = report(result);
    assertThat(report.contract().differences()).singleElement().hasToString("customers.csv: column 'support_calls' missing");
    assertThat(report.contract().additions()).contains("customers.csv: column 'calls_to_support' added (int)");
    assertThat(report.runs()).singleElement().satisfies(run -> {
      assertThat(run.inputs().allVerified()).as("code, image and data verified first").isTrue();
      assertThat(run.exitCode()).as("no training exit code").isNull();
    });
    assertThat(report.durationsMs()).as("steps").doesNotContainKey("train");
    assertThat(trainingLogStored(result.backtestId())).as("a training log, which every started container leaves").isFalse();
    assertThat(report.metricTable().columns()).containsExactly("churn@1 (recorded)");
  }

  @Test
  void evaluate_scores_the_recorded_artifact_on_q4_without_training_and_a_version_without_an_evaluate_entry_point_is_refused()
      throws Exception {
    BacktestResult result = backtest("churn@1", q4, List.of(), dev.timemachine.workflow.BacktestRequest.EVALUATE);

    assertThat(result.outcome()).as(result.reason()).isEqualTo(BacktestOutcome.BACKTEST_COMPLETED);
    assertThat(result.reason()).contains("recorded artifacts evaluated on");
    BacktestReport report = report(result);
    assertThat(report.metricTable().columns()).containsExactly("churn@1 (recorded)", "churn@1 (evaluated)");
    assertThat(report.upstream()).as("the recorded artifacts, restored and verified by sha256")
        .anySatisfy(u -> {
          assertThat(u.name()).isEqualTo("model");
          assertThat(u.artifact()).isEqualTo("model.pkl");
          assertThat(u.sha256()).isEqualTo(churn1.recorded().artifacts().stream()
              .filter(a -> a.path().equals("model.pkl")).findFirst().orElseThrow().sha256());
        });
    String log = new String(components.store().getBytes("replays/" + result.backtestId() + "/training.log"),
        java.nio.charset.StandardCharsets.UTF_8);
    assertThat(log).as("the evaluate entry point ran, not train.py").contains("recorded model scored on 4000 rows");
    Double accuracy = report.metricTable().rows().stream().filter(r -> r.metric().equals("accuracy")).findFirst()
        .orElseThrow().values().get(1);
    assertThat(accuracy).as("scored on the shifted data: not the recorded Q3 accuracy")
        .isNotEqualTo(churn1.recorded().metrics().get("accuracy"));

    BacktestRunner runner = new BacktestRunner(temporal, components);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> runner.requireEvaluateEntryPoints("churn@1", List.of("churn@2")))
        .hasMessageContaining("churn@2 recorded no evaluate entry point");
  }

  @Test
  void against_compares_two_versions_trained_on_the_same_q4_data() {
    BacktestResult result = backtest("churn@1", q4, List.of("churn@2"));

    assertThat(result.outcome()).as("outcome (%s)", result.reason()).isEqualTo(BacktestOutcome.BACKTEST_COMPLETED);
    BacktestReport report = report(result);
    assertThat(report.metricTable().columns()).containsExactly("churn@1 (recorded)", "churn@1", "churn@2");
    assertThat(report.runs()).extracting(BacktestReport.Run::modelSpec).containsExactly("churn@1", "churn@2");
    assertThat(report.runs()).allSatisfy(run -> assertThat(run.exitCode()).isZero());
    assertThat(report.runs().get(1).evidence().get("code")).as("churn@2's own commit")
        .doesNotContain(churn1.triplet().code().commit());
    BacktestReport.MetricTable.Row auc = report.metricTable().rows().stream()
        .filter(r -> r.metric().equals("roc_auc")).findFirst().orElseThrow();
    assertThat(auc.values()).doesNotContainNull();
    assertThat(auc.values().get(2)).as("churn@2 vs churn@1 on the same data").isNotEqualTo(auc.values().get(1));
    assertThat(trainingLogStored(result.backtestId() + "-vs-1")).isTrue();
  }
}
