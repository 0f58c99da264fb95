package dev.timemachine.workflow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.contract.ContractCheck;
import dev.timemachine.core.contract.FileSchema;
import dev.timemachine.core.contract.MetricThreshold;
import dev.timemachine.core.contract.ModelContract;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.grading.Comparison;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.InputCheck;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.model.TrainingResult;
import dev.timemachine.core.model.TrainingSpec;
import dev.timemachine.core.report.BacktestOutcome;
import dev.timemachine.core.report.BacktestReport;
import dev.timemachine.core.report.ReplayReport;
import io.temporal.client.WorkflowOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class BacktestWorkflowTest {
  static final String ID = "backtest-test-1";
  static final DataRef NEW_DATA =
      DataRef.of("file:///store/snapshots/q4", List.of(new FileEntry("customers.csv", 4, "d".repeat(64)))).withoutFiles();
  static final FileSchema CUSTOMERS = new FileSchema("customers.csv", "csv", List.of(
      new FileSchema.Column("tenure_months", "int"), new FileSchema.Column("support_calls", "int")));
  static final ModelContract CONTRACT = new ModelContract(List.of(CUSTOMERS), List.of(MetricThreshold.parse("accuracy>=0.85")));

  private TestWorkflowEnvironment env;
  private final Fakes fakes = new Fakes();

  /** Scripted activities: versions by spec, schemas of the new data, metrics by run id. */
  static final class Fakes implements ControlActivities, TrainingActivities, BacktestActivities {
    final Map<String, ModelVersion> versions = new HashMap<>();
    List<FileSchema> newSchemas = List.of(CUSTOMERS);
    List<FileSchema> recordedSchemas = List.of(CUSTOMERS);
    final Map<String, TrainingResult> results = new HashMap<>();
    String unverifiableData;
    final List<String> trained = Collections.synchronizedList(new ArrayList<>());
    final List<String> restored = Collections.synchronizedList(new ArrayList<>());
    final List<String> cleaned = Collections.synchronizedList(new ArrayList<>());
    final List<BacktestReport> reports = Collections.synchronizedList(new ArrayList<>());

    @Override
    public ModelVersion resolve(String modelSpec) {
      if (!versions.containsKey(modelSpec)) {
        throw Failures.encode(dev.timemachine.core.errors.TimemachineException.notFound(
            "model version " + modelSpec + " is not registered", null), "the model registry");
      }
      return versions.get(modelSpec).forWorkflow();
    }

    @Override
    public Comparison compare(RecordedOutputs recorded, TrainingResult rebuilt) {
      throw new UnsupportedOperationException("a backtest compares nothing bitwise");
    }

    @Override
    public String writeReport(ReplayReport report) {
      throw new UnsupportedOperationException("a backtest writes a backtest report");
    }

    @Override
    public void recordVerdict(String modelSpec, ReplayReport report, String reportUri) {
      throw new UnsupportedOperationException();
    }

    @Override
    public String hostTaskQueue() {
      return "training";
    }

    @Override
    public InputCheck checkoutCode(String runId, CodeRef code) {
      return new InputCheck("HEAD " + code.commit());
    }

    @Override
    public InputCheck pullImage(String runId, ImageRef image) {
      return new InputCheck(image.toString());
    }

    @Override
    public InputCheck restoreData(String runId, DataRef data) {
      restored.add(runId + "=" + data.snapshotUri());
      if (unverifiableData != null && data.equals(NEW_DATA)) {
        throw Failures.encode(new InputUnverifiableException(InputKind.DATA, unverifiableData), "the object store");
      }
      return new InputCheck(data.rootDigest());
    }

    /** The upstream artifacts restored and trained with, by run id. */
    final Map<String, List<dev.timemachine.core.model.UpstreamRef>> upstreamRestored =
        new java.util.concurrent.ConcurrentHashMap<>();
    final Map<String, List<dev.timemachine.core.model.UpstreamRef>> upstreamTrained =
        new java.util.concurrent.ConcurrentHashMap<>();

    @Override
    public InputCheck restoreDataAndUpstream(
        String runId, DataRef data, List<dev.timemachine.core.model.UpstreamRef> upstream) {
      upstreamRestored.put(runId, upstream);
      return restoreData(runId, data);
    }

    @Override
    public TrainingResult train(TrainingSpec spec) {
      upstreamTrained.put(spec.replayId(), spec.upstream());
      trained.add(spec.replayId());
      return results.getOrDefault(spec.replayId(), trained(0.5));
    }

    @Override
    public void cleanup(String runId) {
      cleaned.add(runId);
    }

    @Override
    public dev.timemachine.core.grading.Explanation explain(ExplainSpec spec) {
      throw new UnsupportedOperationException("a backtest explains nothing");
    }

    @Override
    public dev.timemachine.core.grading.Explanation.ProbeRun probe(ProbeSpec spec) {
      throw new UnsupportedOperationException("a backtest probes nothing");
    }

    @Override
    public ContractCheck checkContract(String runId, ModelContract contract) {
      return ContractCheck.of(contract, newSchemas);
    }

    @Override
    public ModelContract inferContract(String runId) {
      return new ModelContract(recordedSchemas, List.of());
    }

    final List<dev.timemachine.core.report.DownstreamReport> downstreamReports =
        Collections.synchronizedList(new ArrayList<>());

    @Override
    public String writeDownstreamReport(dev.timemachine.core.report.DownstreamReport report) {
      downstreamReports.add(report);
      return "file:///store/backtests/" + report.id() + ".json";
    }

    @Override
    public String writeBacktestReport(BacktestReport report) {
      reports.add(report);
      return "file:///store/backtests/" + report.backtestId() + ".json";
    }
  }

  static ModelVersion version(String name, String version, String commit, ModelContract contract) {
    ModelVersion base = Fixtures.version(Map.of());
    return new ModelVersion(ModelVersion.SCHEMA, new dev.timemachine.core.model.ModelRef(name, version),
        new dev.timemachine.core.model.Triplet(
            new CodeRef("file:///repo", commit, List.of("python3", "train.py"), "."), base.triplet().environment(),
            base.triplet().data()),
        base.recorded(), base.registeredAt(), contract);
  }

  static TrainingResult trained(double accuracy) {
    return Fixtures.rebuilt(List.of(Fixtures.MODEL, Fixtures.METRICS), Map.of("accuracy", accuracy, "f1", 0.6));
  }

  static TrainingResult failed() {
    return new TrainingResult("c", 1, false, false, 10, List.of("Traceback", "KeyError: 'support_calls'"), List.of(), Map.of(),
        null, null);
  }

  private BacktestResult backtest(List<String> against) {
    return backtest(new BacktestRequest(ID, "churn@1", NEW_DATA, against, TrainingLimits.DEFAULT, "training", 0));
  }

  private BacktestResult backtest(BacktestRequest request) {
    env = TestWorkflowEnvironment.newInstance();
    Worker control = env.newWorker("control");
    control.registerWorkflowImplementationTypes(BacktestWorkflowImpl.class);
    control.registerActivitiesImplementations(fakes);
    env.newWorker("training").registerActivitiesImplementations(fakes);
    env.start();
    BacktestWorkflow workflow = env.getWorkflowClient().newWorkflowStub(
        BacktestWorkflow.class, WorkflowOptions.newBuilder().setWorkflowId(ID).setTaskQueue("control")
            .setWorkflowExecutionTimeout(java.time.Duration.ofMinutes(2)).build());
    return workflow.backtest(request);
  }

  /** With {@code -Dtimemachine.recordHistories=DIR}, each test's history goes to DIR/backtest/. */
  @AfterEach
  void close(org.junit.jupiter.api.TestInfo test) throws java.io.IOException {
    String dir = System.getProperty("timemachine.recordHistories");
    if (dir != null && env != null && test.getTestMethod().isPresent()) {
      java.nio.file.Path target = java.nio.file.Files.createDirectories(java.nio.file.Path.of(dir, "backtest"));
      java.nio.file.Files.writeString(target.resolve(test.getTestMethod().get().getName() + ".json"),
          env.getWorkflowClient().fetchHistory(ID).toJson(true));
    }
    if (env != null) {
      env.close();
    }
  }

  private BacktestReport report() {
    assertThat(fakes.reports).as("reports written").hasSize(1);
    return fakes.reports.get(0);
  }

  @Test
  void a_downstream_backtest_trains_the_old_model_with_the_new_upstream_artifact_in_place_of_the_recorded_one() {
    dev.timemachine.core.model.UpstreamRef old = new dev.timemachine.core.model.UpstreamRef(
        "encoder", dev.timemachine.core.model.ModelRef.parse("encoder@1"), "encoder.pkl", "1".repeat(64), 100,
        "file:///store");
    dev.timemachine.core.model.UpstreamRef newer = new dev.timemachine.core.model.UpstreamRef(
        "encoder", dev.timemachine.core.model.ModelRef.parse("encoder@2"), "encoder.pkl", "2".repeat(64), 120,
        "file:///store");
    ModelVersion base = version("churn", "1", Fixtures.COMMIT, CONTRACT);
    fakes.versions.put("churn@1", new ModelVersion(ModelVersion.SCHEMA, base.model(),
        new dev.timemachine.core.model.Triplet(base.triplet().code(), base.triplet().environment(), base.triplet().data(),
            List.of(old)),
        base.recorded(), base.registeredAt(), CONTRACT));
    fakes.results.put(ID, trained(0.86));
    BacktestResult result = backtest(new BacktestRequest(
        ID, "churn@1", NEW_DATA, List.of(), TrainingLimits.DEFAULT, "training", 0, List.of(newer)));

    assertThat(result.outcome()).isEqualTo(BacktestOutcome.BACKTEST_COMPLETED);
    dev.timemachine.core.model.UpstreamRef mounted = old.replacedBy(newer);
    assertThat(mounted.model().toString()).isEqualTo("encoder@2");
    assertThat(fakes.upstreamRestored).containsEntry(ID, List.of(mounted));
    assertThat(fakes.upstreamTrained).containsEntry(ID, List.of(mounted));
    assertThat(report().upstream()).containsExactly(mounted);
    assertThat(result.metricTable().columns()).containsExactly("churn@1 (recorded)", "churn@1");
  }

  @Test
  void an_override_for_an_upstream_the_version_does_not_consume_is_refused_before_any_step() {
    fakes.versions.put("churn@1", version("churn", "1", Fixtures.COMMIT, CONTRACT));
    BacktestResult result = backtest(new BacktestRequest(ID, "churn@1", NEW_DATA, List.of(), TrainingLimits.DEFAULT,
        "training", 0, List.of(new dev.timemachine.core.model.UpstreamRef("encoder",
            dev.timemachine.core.model.ModelRef.parse("encoder@2"), "encoder.pkl", "2".repeat(64), 1, "file:///store"))));

    assertThat(result.outcome()).isEqualTo(BacktestOutcome.INPUTS_UNVERIFIABLE);
    assertThat(result.reason()).contains("consumes no upstream artifact named 'encoder'");
    assertThat(fakes.trained).isEmpty();
    assertThat(fakes.restored).isEmpty();
  }

  @Test
  void the_old_version_retrained_on_new_data_gets_a_metric_table_beside_its_recorded_metrics() {
    fakes.versions.put("churn@1", version("churn", "1", Fixtures.COMMIT, CONTRACT));
    fakes.results.put(ID, trained(0.87));

    BacktestResult result = backtest(List.of());

    assertThat(result.outcome()).as(result.reason()).isEqualTo(BacktestOutcome.BACKTEST_COMPLETED);
    assertThat(result.missedThresholds()).isEmpty();
    assertThat(result.reportUri()).endsWith("backtests/" + ID + ".json");
    BacktestReport report = report();
    assertThat(report.schema()).isEqualTo("timemachine.backtest-report/v1");
    assertThat(report.original().model().toString()).isEqualTo("churn@1");
    assertThat(report.original().triplet().code().commit()).isEqualTo(Fixtures.COMMIT);
    assertThat(report.newData().rootDigest()).isEqualTo(NEW_DATA.rootDigest());
    assertThat(report.metricTable().columns()).containsExactly("churn@1 (recorded)", "churn@1");
    assertThat(report.metricTable().rows()).extracting(BacktestReport.MetricTable.Row::metric).containsExactly("accuracy", "f1");
    assertThat(report.metricTable().rows().get(0).values()).containsExactly(0.9, 0.87);
    assertThat(report.thresholds()).singleElement().satisfies(t -> assertThat(t.met()).isTrue());
    assertThat(report.contractSource()).isEqualTo("recorded");
    assertThat(fakes.restored).as("only the new data restored").containsExactly(ID + "=" + NEW_DATA.snapshotUri());
    assertThat(fakes.cleaned).containsExactly(ID);
  }

  @Test
  void new_data_that_breaks_the_contract_is_contract_violated_before_any_training() {
    fakes.versions.put("churn@1", version("churn", "1", Fixtures.COMMIT, CONTRACT));
    fakes.newSchemas = List.of(new FileSchema("customers.csv", "csv", List.of(
        new FileSchema.Column("tenure_months", "string"), new FileSchema.Column("calls_to_support", "int"))));

    BacktestResult result = backtest(List.of());

    assertThat(result.outcome()).isEqualTo(BacktestOutcome.CONTRACT_VIOLATED);
    assertThat(result.reason()).contains("customers.csv: column 'tenure_months' int → string; column 'support_calls' missing");
    assertThat(fakes.trained).as("training runs").isEmpty();
    assertThat(report().contract().additions()).containsExactly("customers.csv: column 'calls_to_support' added (int)");
    assertThat(fakes.cleaned).containsExactly(ID);
  }

  @Test
  void a_missed_threshold_completes_the_backtest_and_names_the_metric() {
    fakes.versions.put("churn@1", version("churn", "1", Fixtures.COMMIT, CONTRACT));
    fakes.results.put(ID, trained(0.81));

    BacktestResult result = backtest(List.of());

    assertThat(result.outcome()).isEqualTo(BacktestOutcome.BACKTEST_COMPLETED);
    assertThat(result.missedThresholds()).containsExactly("accuracy 0.81 < 0.85");
  }

  @Test
  void against_versions_are_trained_on_the_same_data_each_in_its_own_column() {
    fakes.versions.put("churn@1", version("churn", "1", Fixtures.COMMIT, CONTRACT));
    fakes.versions.put("churn@2", version("churn", "2", "1".repeat(40), CONTRACT));
    fakes.results.put(ID, trained(0.86));
    fakes.results.put(ID + "-vs-1", trained(0.91));

    BacktestResult result = backtest(List.of("churn@2"));

    assertThat(result.outcome()).as(result.reason()).isEqualTo(BacktestOutcome.BACKTEST_COMPLETED);
    BacktestReport report = report();
    assertThat(report.metricTable().columns()).containsExactly("churn@1 (recorded)", "churn@1", "churn@2");
    assertThat(report.metricTable().rows().get(0).values()).containsExactly(0.9, 0.86, 0.91);
    assertThat(fakes.trained).containsExactly(ID, ID + "-vs-1");
    assertThat(fakes.restored).containsExactlyInAnyOrder(
        ID + "=" + NEW_DATA.snapshotUri(), ID + "-vs-1=" + NEW_DATA.snapshotUri());
    assertThat(report.runs()).extracting(BacktestReport.Run::modelSpec).containsExactly("churn@1", "churn@2");
    assertThat(fakes.cleaned).containsExactlyInAnyOrder(ID, ID + "-vs-1");
  }

  @Test
  void an_unverifiable_new_snapshot_stops_the_backtest_before_any_training() {
    fakes.versions.put("churn@1", version("churn", "1", Fixtures.COMMIT, CONTRACT));
    fakes.unverifiableData = "data file 'customers.csv' in snapshot file:///store/snapshots/q4: sha256 is 00";

    BacktestResult result = backtest(List.of());

    assertThat(result.outcome()).isEqualTo(BacktestOutcome.INPUTS_UNVERIFIABLE);
    assertThat(result.reason()).contains("churn@1").contains("data: UNVERIFIABLE (data file 'customers.csv'");
    assertThat(fakes.trained).isEmpty();
  }

  @Test
  void a_failing_entry_point_on_the_new_data_is_training_failed_with_its_log_tail() {
    fakes.versions.put("churn@1", version("churn", "1", Fixtures.COMMIT, CONTRACT));
    fakes.results.put(ID, failed());

    BacktestResult result = backtest(List.of());

    assertThat(result.outcome()).isEqualTo(BacktestOutcome.TRAINING_FAILED);
    assertThat(result.reason()).isEqualTo("churn@1 on the new data: training entry point exited with code 1");
    assertThat(report().runs().get(0).logTail()).contains("KeyError: 'support_calls'");
  }

  @Test
  void a_version_registered_without_a_contract_is_held_to_the_schema_of_its_own_snapshot() {
    fakes.versions.put("churn@1", version("churn", "1", Fixtures.COMMIT, null));
    fakes.newSchemas = List.of(new FileSchema("customers.csv", "csv", List.of(new FileSchema.Column("tenure_months", "int"))));
    fakes.results.put(ID, trained(0.9));

    BacktestResult result = backtest(List.of());

    assertThat(result.outcome()).isEqualTo(BacktestOutcome.CONTRACT_VIOLATED);
    assertThat(result.reason()).contains("column 'support_calls' missing");
    assertThat(fakes.restored).contains(ID + "-recorded=file:///store/snapshots/x");
    assertThat(report().contractSource()).startsWith("inferred from the version's own snapshot");
    assertThat(fakes.cleaned).containsExactlyInAnyOrder(ID, ID + "-recorded");
    assertThat(fakes.trained).isEmpty();
  }

  @Test
  void an_mlflow_signature_without_file_schemas_is_kept_beside_the_inferred_schemas_and_names_a_missing_input() {
    String signature = "{\"inputs\": \"[{\\\"type\\\": \\\"long\\\", \\\"name\\\": \\\"late_payments\\\"}]\"}";
    fakes.versions.put("churn@1", version("churn", "1", Fixtures.COMMIT, new ModelContract(List.of(), List.of(), signature)));
    fakes.newSchemas = fakes.recordedSchemas;
    fakes.results.put(ID, trained(0.9));

    BacktestResult result = backtest(List.of());

    assertThat(result.outcome()).isEqualTo(BacktestOutcome.CONTRACT_VIOLATED);
    assertThat(result.reason()).contains("MLflow signature: column 'late_payments' missing");
    assertThat(report().contractSource()).startsWith("inferred from the version's own snapshot").endsWith("and its MLflow signature");
    assertThat(fakes.trained).isEmpty();
  }
}
