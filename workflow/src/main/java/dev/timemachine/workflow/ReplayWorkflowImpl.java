package dev.timemachine.workflow;

import dev.timemachine.core.grading.Comparison;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.InputCheck;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.model.TrainingResult;
import dev.timemachine.core.model.TrainingSpec;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.core.grading.Verdict;
import com.uber.m3.tally.Scope;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.TimeoutFailure;
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
 * Deterministic orchestration of one replay: resolve, materialize the three inputs in parallel on one
 * training host, train, compare, write the report. No I/O here; every effect is an activity.
 */
public class ReplayWorkflowImpl implements ReplayWorkflow {
  private static final Logger log = Workflow.getLogger(ReplayWorkflowImpl.class);

  /** Failure types that retrying cannot fix. */
  static final String[] DO_NOT_RETRY = {
    ErrorType.INVALID_INPUT.name(),
    ErrorType.NOT_FOUND.name(),
    ErrorType.CONFLICT.name(),
    ErrorType.CONFIGURATION.name(),
    ErrorType.INPUT_UNVERIFIABLE.name()
  };

  private static final RetryOptions RETRY =
      RetryOptions.newBuilder()
          .setInitialInterval(Duration.ofSeconds(1))
          .setBackoffCoefficient(2.0)
          .setMaximumInterval(Duration.ofMinutes(1))
          .setMaximumAttempts(6)
          .setDoNotRetry(DO_NOT_RETRY)
          .build();

  private final ControlActivities control =
      Workflow.newActivityStub(
          ControlActivities.class,
          ActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofMinutes(5))
              .setRetryOptions(RETRY)
              .build());

  private String step = "starting";
  private long stepStartedAt;
  private final List<String> finishedSteps = new ArrayList<>();
  private final Map<String, Long> durations = new LinkedHashMap<>();

  @Override
  public ReplayProgress progress() {
    return new ReplayProgress(step, stepStartedAt, List.copyOf(finishedSteps));
  }

  @Override
  public ReplayResult replay(ReplayRequest request) {
    long started = Workflow.currentTimeMillis();
    TrainingLimits limits = request.limits() == null ? TrainingLimits.DEFAULT : request.limits();
    Report report = new Report(request.replayId(), request.modelSpec(), started, limits);

    enter("resolve");
    ModelVersion version;
    try {
      version = resolver(request).resolve(request.modelSpec());
    } catch (ActivityFailure failure) {
      ApplicationFailure app = applicationCause(failure);
      if (app != null && ErrorType.INPUT_UNVERIFIABLE.name().equals(app.getType())) {
        // The registry has the version but not a complete triplet: that is a verdict, with a report.
        leave("resolve");
        report.inputsUnverifiable(app.getOriginalMessage());
        return finish(request, report);
      }
      throw failure;
    }
    leave("resolve");
    report.version = version;
    Triplet triplet = version.triplet();

    // All training steps of this replay run on one host, where its work directory is.
    enter("materialize");
    TrainingActivities anyHost = trainingStub(request.trainingTaskQueue(), Duration.ofMinutes(1), null);
    String hostQueue = anyHost.hostTaskQueue();
    TrainingActivities materialize = trainingStub(hostQueue, Duration.ofHours(2), request.heartbeatTimeout());
    Promise<Outcome> code =
        timed("code", () -> materialize.checkoutCode(request.replayId(), triplet.code()));
    Promise<Outcome> environment =
        timed("environment", () -> materialize.pullImage(request.replayId(), triplet.environment().image()));
    Promise<Outcome> data =
        timed("data", () -> materialize.restoreData(request.replayId(), triplet.data()));
    Promise.allOf(code, environment, data).get();
    leave("materialize");
    report.inputs = new ReplayReport.Inputs(code.get().status, environment.get().status, data.get().status);
    report.evidence.put("code", code.get().evidence);
    report.evidence.put("environment", environment.get().evidence);
    report.evidence.put("data", data.get().evidence);

    TrainingActivities host = trainingStub(hostQueue, Duration.ofHours(1), null);
    try {
      if (!report.inputs.allVerified()) {
        report.verdict = Verdict.INPUTS_UNVERIFIABLE;
        report.reason = unverifiedReason(report.inputs);
        return finish(request, report);
      }

      enter("train");
      TrainingActivities trainer =
          trainingStub(hostQueue, Duration.ofSeconds(limits.timeoutSeconds()).plusMinutes(30), request.heartbeatTimeout());
      TrainingResult result;
      try {
        result =
            trainer.train(
                new TrainingSpec(
                    request.replayId(), triplet.environment().image(), triplet.code(),
                    version.recorded().metricsFile(), limits, version.recorded().outputRules()));
      } catch (ActivityFailure failure) {
        leave("train");
        report.verdict = Verdict.TRAINING_FAILED;
        report.reason = "training could not be run: " + describe(failure);
        return finish(request, report);
      }
      leave("train");
      report.training = result;
      if (!result.succeeded()) {
        report.verdict = Verdict.TRAINING_FAILED;
        report.reason = result.failureSummary();
        return finish(request, report);
      }

      enter("compare");
      Comparison comparison = control.compare(version.recorded(), result);
      leave("compare");
      report.comparison = comparison;
      report.verdict = comparison.verdict();
      report.reason = comparison.reason();
      return finish(request, report);
    } finally {
      // Detached, so that the container and work directory are removed even when the replay is cancelled.
      Workflow.newDetachedCancellationScope(
              () -> {
                try {
                  host.cleanup(request.replayId());
                } catch (ActivityFailure failure) {
                  log.warn("cleanup of replay {} failed: {}", request.replayId(), describe(failure));
                }
              })
          .run();
    }
  }

  private ReplayResult finish(ReplayRequest request, Report report) {
    enter("report");
    long now = Workflow.currentTimeMillis();
    durations.put("total", now - report.startedAt);
    ReplayReport written = report.build(now, durations);
    String uri = control.writeReport(written);
    leave("report");
    String writeBackProblem = null;
    if (!request.skipWriteBack()) {
      try {
        control.recordVerdict(request.modelSpec(), written, uri);
      } catch (ActivityFailure failure) {
        // The report is the record; write-back is a convenience and must not change the verdict.
        writeBackProblem = describe(failure);
        log.warn("could not write the verdict back to the registry: {}", writeBackProblem);
      }
    }
    recordMetrics(written);
    step = "done";
    return new ReplayResult(request.replayId(), written.verdict(), written.verdictReason(), uri, writeBackProblem);
  }

  /**
   * Replays by verdict and step durations, through the workflow's metrics scope, which the SDK keeps
   * replay-safe (nothing is recorded twice when a history is replayed) and the worker exports to
   * Prometheus.
   */
  private static void recordMetrics(ReplayReport report) {
    Scope scope = Workflow.getMetricsScope();
    scope.tagged(Map.of("verdict", report.verdict().name())).counter("timemachine_replays").inc(1);
    report.durationsMs()
        .forEach((name, ms) -> scope.tagged(Map.of("step", name)).timer("timemachine_step_duration").record(
            com.uber.m3.util.Duration.ofMillis(ms)));
  }

  /**
   * Resolving can be long (an MLflow version's artifacts are downloaded and hashed, gigabytes for a
   * big model), so it gets hours rather than minutes, and a heartbeat timeout so that a dead worker is
   * noticed as quickly as during training. Only timeouts differ from the other control steps; the
   * commands the workflow issues stay the same.
   */
  private static ControlActivities resolver(ReplayRequest request) {
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
        ActivityOptions.newBuilder()
            .setTaskQueue(queue)
            .setStartToCloseTimeout(startToClose)
            .setRetryOptions(RETRY);
    if (heartbeat != null) {
      options.setHeartbeatTimeout(heartbeat);
    }
    return Workflow.newActivityStub(TrainingActivities.class, options.build());
  }

  /** Runs a materialize step asynchronously, timing it and turning its failure into a status. */
  private Promise<Outcome> timed(String name, Supplier<InputCheck> activity) {
    long start = Workflow.currentTimeMillis();
    return Async.function(activity::get)
        .handle(
            (check, failure) -> {
              durations.put(name, Workflow.currentTimeMillis() - start);
              if (failure == null) {
                return new Outcome(ReplayReport.VERIFIED, check.evidence());
              }
              return new Outcome(describe(failure), null);
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

  private static ApplicationFailure applicationCause(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof ApplicationFailure app) {
        return app;
      }
    }
    return null;
  }

  /** One line for a failed activity: its own message if it said one, else what timed out. */
  static String describe(Throwable failure) {
    ApplicationFailure app = applicationCause(failure);
    if (app != null) {
      return app.getOriginalMessage();
    }
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof TimeoutFailure timeout) {
        return "the step timed out (" + timeout.getTimeoutType() + ")";
      }
    }
    return String.valueOf(failure.getMessage());
  }

  private record Outcome(String status, String evidence) {}

  /** The report being assembled; built into an immutable {@link ReplayReport} at the end. */
  private static final class Report {
    final String replayId;
    final String modelSpec;
    final long startedAt;
    final TrainingLimits limits;
    ModelVersion version;
    ReplayReport.Inputs inputs =
        new ReplayReport.Inputs(ReplayReport.NOT_CHECKED, ReplayReport.NOT_CHECKED, ReplayReport.NOT_CHECKED);
    final Map<String, String> evidence = new LinkedHashMap<>();
    TrainingResult training;
    Comparison comparison;
    Verdict verdict;
    String reason;

    Report(String replayId, String modelSpec, long startedAt, TrainingLimits limits) {
      this.replayId = replayId;
      this.modelSpec = modelSpec;
      this.startedAt = startedAt;
      this.limits = limits;
    }

    void inputsUnverifiable(String why) {
      verdict = Verdict.INPUTS_UNVERIFIABLE;
      reason = why;
    }

    ReplayReport build(long finishedAt, Map<String, Long> durations) {
      evidence.values().removeIf(v -> v == null);
      return new ReplayReport(
          ReplayReport.SCHEMA,
          replayId,
          modelSpec,
          version == null ? null : version.model(),
          verdict,
          reason,
          version == null ? null : version.triplet(),
          inputs,
          Map.copyOf(evidence),
          comparison == null ? List.of() : comparison.artifacts(),
          comparison == null ? List.of() : comparison.metrics(),
          training == null ? null : training.exitCode(),
          training == null ? List.of() : training.logTail(),
          training == null ? null : training.log(),
          limits,
          training == null ? null : training.outputsUri(),
          Instant.ofEpochMilli(startedAt),
          Instant.ofEpochMilli(finishedAt),
          new LinkedHashMap<>(durations));
    }
  }
}
