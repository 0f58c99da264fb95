package dev.timemachine.workflow;

import dev.timemachine.core.contract.ContractCheck;
import dev.timemachine.core.contract.ModelContract;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.InputCheck;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.model.TrainingResult;
import dev.timemachine.core.model.TrainingSpec;
import dev.timemachine.core.report.BacktestOutcome;
import dev.timemachine.core.report.BacktestReport;
import dev.timemachine.core.report.ReplayReport;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.failure.ActivityFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;

/**
 * Deterministic orchestration of one backtest. The old version's code and image are verified exactly
 * as a replay verifies them (the same activities), the new snapshot is restored and verified, and the
 * contract is checked before any container starts. Then the old code is retrained in the old image on
 * the new data, and so is each {@code --against} version, one after the other on one host. Every model
 * trains in its own work directory: the backtest id for the original, {@code <id>-vs-<n>} for the others.
 */
public class BacktestWorkflowImpl implements BacktestWorkflow {
  private static final Logger log = Workflow.getLogger(BacktestWorkflowImpl.class);

  /** Suffix of the work directory that holds the original snapshot of a version without recorded schemas. */
  static final String RECORDED_DATA = "-recorded";

  private static final RetryOptions RETRY =
      RetryOptions.newBuilder()
          .setInitialInterval(Duration.ofSeconds(1))
          .setBackoffCoefficient(2.0)
          .setMaximumInterval(Duration.ofMinutes(1))
          .setMaximumAttempts(6)
          .setDoNotRetry(Failures.DO_NOT_RETRY)
          .build();

  private final BacktestActivities reports =
      Workflow.newActivityStub(
          BacktestActivities.class,
          ActivityOptions.newBuilder().setStartToCloseTimeout(Duration.ofMinutes(5)).setRetryOptions(RETRY).build());

  private String step = "starting";
  private long stepStartedAt;
  private final List<String> finishedSteps = new ArrayList<>();
  private final Map<String, Long> durations = new LinkedHashMap<>();

  @Override
  public ReplayProgress progress() {
    return new ReplayProgress(step, stepStartedAt, List.copyOf(finishedSteps));
  }

  /** One model to train on the new data. */
  private static final class Run {
    final String spec;
    final String runId;
    ModelVersion version;
    ReplayReport.Inputs inputs =
        new ReplayReport.Inputs(ReplayReport.NOT_CHECKED, ReplayReport.NOT_CHECKED, ReplayReport.NOT_CHECKED);
    final Map<String, String> evidence = new LinkedHashMap<>();
    TrainingResult result;
    String failure;
    List<dev.timemachine.core.model.UpstreamRef> upstream = List.of();

    Run(String spec, String runId) {
      this.spec = spec;
      this.runId = runId;
    }

    BacktestReport.Run toReport() {
      evidence.values().removeIf(v -> v == null);
      return new BacktestReport.Run(
          spec, runId, inputs, Map.copyOf(evidence), result == null ? null : result.exitCode(),
          result == null ? null : result.metrics(), failure, result == null ? List.of() : result.logTail(),
          result == null ? null : result.log(), result == null ? null : result.outputsUri());
    }
  }

  @Override
  public BacktestResult backtest(BacktestRequest request) {
    long started = Workflow.currentTimeMillis();
    TrainingLimits limits = request.limits() == null ? TrainingLimits.DEFAULT : request.limits();
    List<Run> runs = new ArrayList<>();
    runs.add(new Run(request.modelSpec(), request.backtestId()));
    for (int i = 0; i < request.against().size(); i++) {
      runs.add(new Run(request.against().get(i), request.backtestId() + "-vs-" + (i + 1)));
    }
    Outcome outcome = new Outcome();

    enter("resolve");
    ControlActivities control = resolver(request);
    for (Run run : runs) {
      try {
        run.version = control.resolve(run.spec);
      } catch (ActivityFailure failure) {
        Failures.Decoded decoded = Failures.decode(failure);
        if (decoded.is(ErrorType.INPUT_UNVERIFIABLE)) {
          leave("resolve");
          outcome.set(BacktestOutcome.INPUTS_UNVERIFIABLE, run.spec + ": " + decoded.message());
          return finish(request, runs, outcome, started, limits);
        }
        throw failure;
      }
    }
    leave("resolve");
    for (Run run : runs) {
      run.upstream = run.version.triplet().upstream();
    }
    if (request.evaluates()) {
      List<String> missing = new ArrayList<>();
      for (Run run : runs) {
        if (run.version.triplet().code().evaluateEntryPoint().isEmpty()) {
          missing.add(run.spec);
        }
      }
      if (!missing.isEmpty()) {
        outcome.set(BacktestOutcome.TRAINING_FAILED, "--evaluate needs a recorded evaluate entry point, and "
            + String.join(", ", missing) + " recorded none (register --evaluate-entry-point); nothing was run");
        return finish(request, runs, outcome, started, limits);
      }
    }
    try {
      runs.get(0).upstream = request.upstreamFor(runs.get(0).version.triplet().upstream());
    } catch (dev.timemachine.core.errors.TimemachineException e) {
      // Deterministic: the request and the resolved version are both in the history.
      outcome.set(BacktestOutcome.INPUTS_UNVERIFIABLE, e.getMessage());
      return finish(request, runs, outcome, started, limits);
    }
    if (request.evaluates()) {
      // The version's own artifacts, from the store that kept them by content, as a read-only slot.
      for (Run run : runs) {
        List<dev.timemachine.core.model.UpstreamRef> slots = new ArrayList<>(run.upstream);
        String store = run.version.triplet().data().storeRootUri();
        for (dev.timemachine.core.model.FileEntry a : run.version.recorded().artifacts()) {
          slots.add(new dev.timemachine.core.model.UpstreamRef(BacktestRequest.MODEL_SLOT, run.version.model(), a.path(),
              a.sha256(), a.size(), store));
        }
        run.upstream = List.copyOf(slots);
      }
    }
    ModelVersion original = runs.get(0).version;
    ModelContract contract = original.contract();
    boolean inferContract = contract == null || contract.files().isEmpty();
    String recordedRunId = request.backtestId() + RECORDED_DATA;

    enter("materialize");
    TrainingActivities anyHost = trainingStub(request.trainingTaskQueue(), Duration.ofMinutes(1), null);
    String hostQueue = anyHost.hostTaskQueue();
    TrainingActivities materialize = trainingStub(hostQueue, Duration.ofHours(2), request.heartbeatTimeout());
    List<Promise<Checked>> checks = new ArrayList<>();
    for (Run run : runs) {
      checks.add(check(run.runId + ":code", () -> materialize.checkoutCode(run.runId, run.version.triplet().code())));
      checks.add(check(run.runId + ":environment",
          () -> materialize.pullImage(run.runId, run.version.triplet().environment().image())));
      checks.add(check(run.runId + ":data", run.upstream.isEmpty()
          ? () -> materialize.restoreData(run.runId, request.newData())
          // Only a version that consumes upstream artifacts takes this step, so no earlier history sees it.
          : () -> materialize.restoreDataAndUpstream(run.runId, request.newData(), run.upstream)));
    }
    Promise<Checked> recordedData =
        inferContract ? check("recorded data", () -> materialize.restoreData(recordedRunId, original.triplet().data())) : null;
    Promise.allOf(checks).get();
    if (recordedData != null) {
      recordedData.get();
    }
    leave("materialize");
    for (int i = 0; i < runs.size(); i++) {
      Run run = runs.get(i);
      Checked code = checks.get(3 * i).get();
      Checked env = checks.get(3 * i + 1).get();
      Checked data = checks.get(3 * i + 2).get();
      run.inputs = new ReplayReport.Inputs(code.status, env.status, data.status);
      run.evidence.put("code", code.evidence);
      run.evidence.put("environment", env.evidence);
      run.evidence.put("data", data.evidence);
    }

    BacktestActivities host = Workflow.newActivityStub(
        BacktestActivities.class,
        ActivityOptions.newBuilder().setTaskQueue(hostQueue).setStartToCloseTimeout(Duration.ofHours(1))
            .setHeartbeatTimeout(request.heartbeatTimeout()).setRetryOptions(RETRY).build());
    TrainingActivities cleaner = trainingStub(hostQueue, Duration.ofHours(1), null);
    try {
      List<String> unverified = new ArrayList<>();
      for (Run run : runs) {
        if (!run.inputs.allVerified()) {
          unverified.add(run.spec + " " + unverifiedReason(run.inputs));
        }
      }
      if (recordedData != null && !ReplayReport.VERIFIED.equals(recordedData.get().status)) {
        unverified.add(request.modelSpec() + " recorded data (read for its schema): " + recordedData.get().status);
      }
      if (!unverified.isEmpty()) {
        outcome.set(BacktestOutcome.INPUTS_UNVERIFIABLE, String.join("; ", unverified));
        return finish(request, runs, outcome, started, limits);
      }

      enter("contract");
      if (inferContract) {
        ModelContract inferred = host.inferContract(recordedRunId);
        boolean signature = contract != null && contract.mlflowSignature() != null;
        contract = contract == null ? inferred : contract.withFiles(inferred.files());
        outcome.contractSource = "inferred from the version's own snapshot " + original.triplet().data().rootDigest()
            + (signature ? " (it recorded no file schemas), and its MLflow signature"
                : request.modelSpec().startsWith("mlflow:")
                    ? " (its MLflow run logged no dataset schema and its model no signature)"
                    : " (it was registered without a contract)");
      } else {
        outcome.contractSource = "recorded";
      }
      outcome.contract = contract;
      ContractCheck check = host.checkContract(request.backtestId(), contract);
      leave("contract");
      outcome.check = check;
      if (!check.satisfied()) {
        outcome.set(BacktestOutcome.CONTRACT_VIOLATED, "the new data breaks the contract of " + request.modelSpec() + ": "
            + check.summary() + "; no container was started");
        return finish(request, runs, outcome, started, limits);
      }

      String trainStep = request.evaluates() ? "evaluate" : "train";
      enter(trainStep);
      TrainingActivities trainer =
          trainingStub(hostQueue, Duration.ofSeconds(limits.timeoutSeconds()).plusMinutes(30), request.heartbeatTimeout());
      List<String> failed = new ArrayList<>();
      for (Run run : runs) {
        ModelVersion v = run.version;
        try {
          run.result = trainer.train(new TrainingSpec(run.runId, v.triplet().environment().image(),
              request.evaluates() ? v.triplet().code().forEvaluation() : v.triplet().code(),
              v.recorded().metricsFile(), limits, v.recorded().outputRules(), null, run.upstream));
          if (!run.result.succeeded()) {
            run.failure = run.result.failureSummary();
          } else if (run.result.metricsProblem() != null) {
            run.failure = run.result.metricsProblem();
          }
        } catch (ActivityFailure failure) {
          run.failure = "training could not be run: " + Failures.describe(failure);
        }
        if (run.failure != null) {
          failed.add(run.spec + (request.evaluates() ? " evaluated" : "") + " on the new data: " + run.failure);
        }
      }
      leave(trainStep);
      if (!failed.isEmpty()) {
        outcome.set(BacktestOutcome.TRAINING_FAILED, String.join("; ", failed));
        return finish(request, runs, outcome, started, limits);
      }
      outcome.set(BacktestOutcome.BACKTEST_COMPLETED, request.modelSpec()
          + (request.evaluates() ? "'s recorded artifacts evaluated on " : " retrained on ") + request.newData().rootDigest()
          + (runs.size() > 1 ? " beside " + String.join(", ", request.against()) : ""));
      return finish(request, runs, outcome, started, limits);
    } finally {
      List<String> dirs = new ArrayList<>();
      runs.forEach(r -> dirs.add(r.runId));
      if (recordedData != null) {
        dirs.add(recordedRunId);
      }
      Workflow.newDetachedCancellationScope(
              () -> {
                for (String dir : dirs) {
                  try {
                    cleaner.cleanup(dir);
                  } catch (ActivityFailure failure) {
                    log.warn("cleanup of {} failed: {}", dir, Failures.describe(failure));
                  }
                }
              })
          .run();
    }
  }

  private static final class Outcome {
    BacktestOutcome outcome;
    String reason;
    String contractSource;
    ModelContract contract;
    ContractCheck check;

    void set(BacktestOutcome outcome, String reason) {
      this.outcome = outcome;
      this.reason = reason;
    }
  }

  private BacktestResult finish(
      BacktestRequest request, List<Run> runs, Outcome outcome, long started, TrainingLimits limits) {
    enter("report");
    ModelVersion original = runs.get(0).version;
    LinkedHashMap<String, Map<String, Double>> columns = new LinkedHashMap<>();
    List<BacktestReport.ThresholdResult> thresholds = List.of();
    if (original != null) {
      columns.put(request.modelSpec() + " (recorded)", original.recorded().metrics());
      for (Run run : runs) {
        if (run.result != null && run.result.succeeded()) {
          columns.put(request.evaluates() ? run.spec + " (evaluated)" : run.spec, run.result.metrics());
        }
      }
      Run first = runs.get(0);
      if (outcome.outcome == BacktestOutcome.BACKTEST_COMPLETED && outcome.contract != null) {
        thresholds = BacktestReport.ThresholdResult.of(outcome.contract.thresholds(), first.result.metrics());
      }
    }
    long now = Workflow.currentTimeMillis();
    durations.put("total", now - started);
    BacktestReport report =
        new BacktestReport(
            BacktestReport.SCHEMA, request.backtestId(), request.modelSpec(), outcome.outcome, outcome.reason,
            original == null ? null
                : new BacktestReport.Original(original.model(), original.triplet(), original.recorded().metrics(),
                    original.registeredAt()),
            request.newData(), runs.get(0).upstream, request.against(), outcome.contractSource, outcome.check, thresholds,
            BacktestReport.MetricTable.of(columns), runs.stream().map(Run::toReport).toList(), limits,
            Instant.ofEpochMilli(started), Instant.ofEpochMilli(now), new LinkedHashMap<>(durations));
    String uri = reports.writeBacktestReport(report);
    leave("report");
    step = "done";
    return new BacktestResult(
        request.backtestId(), report.outcome(), report.reason(), report.missedThresholds(), uri, report.metricTable());
  }

  private static ControlActivities resolver(BacktestRequest request) {
    return Workflow.newActivityStub(
        ControlActivities.class,
        ActivityOptions.newBuilder()
            .setStartToCloseTimeout(Duration.ofHours(2))
            .setHeartbeatTimeout(request.heartbeatTimeout())
            .setRetryOptions(RETRY)
            .build());
  }

  private TrainingActivities trainingStub(String queue, Duration startToClose, Duration heartbeat) {
    ActivityOptions.Builder options =
        ActivityOptions.newBuilder().setTaskQueue(queue).setStartToCloseTimeout(startToClose).setRetryOptions(RETRY);
    if (heartbeat != null) {
      options.setHeartbeatTimeout(heartbeat);
    }
    return Workflow.newActivityStub(TrainingActivities.class, options.build());
  }

  private record Checked(String status, String evidence) {}

  private Promise<Checked> check(String name, Supplier<InputCheck> activity) {
    long start = Workflow.currentTimeMillis();
    return Async.function(activity::get)
        .handle(
            (result, failure) -> {
              durations.put(name, Workflow.currentTimeMillis() - start);
              return failure == null
                  ? new Checked(ReplayReport.VERIFIED, result.evidence())
                  : new Checked(Failures.describe(failure), null);
            });
  }

  private void enter(String name) {
    step = name;
    stepStartedAt = Workflow.currentTimeMillis();
  }

  private void leave(String name) {
    durations.put(name, Workflow.currentTimeMillis() - stepStartedAt);
    finishedSteps.add(name);
  }

  private static String unverifiedReason(ReplayReport.Inputs inputs) {
    List<String> problems = new ArrayList<>();
    if (!ReplayReport.VERIFIED.equals(inputs.code())) {
      problems.add("code: " + inputs.code());
    }
    if (!ReplayReport.VERIFIED.equals(inputs.environment())) {
      problems.add("environment: " + inputs.environment());
    }
    if (!ReplayReport.VERIFIED.equals(inputs.data())) {
      problems.add("data: " + inputs.data());
    }
    return String.join("; ", problems);
  }

}
