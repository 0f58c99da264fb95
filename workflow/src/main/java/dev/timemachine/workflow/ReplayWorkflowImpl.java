package dev.timemachine.workflow;

import dev.timemachine.core.model.FileEntry;

import dev.timemachine.core.grading.Comparison;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.InputCheck;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.model.InputResult;
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
import io.temporal.workflow.Async;
import io.temporal.workflow.CompletablePromise;
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
 *
 * <p>Two generations live here (see docs/workflow-versioning.md). Replays started before change {@value
 * #TYPED_RESULTS} take {@link #replayV0}: any failed input step made the input unverifiable, and a failed
 * resolve, host pick or comparison failed the workflow without a report. Newer replays take {@link
 * #replayV1}: only an {@code INPUT_UNVERIFIABLE} failure makes an input unverifiable; a service that stays
 * unavailable past the request's transient deadline ends the replay with verdict {@code ERROR}, a report
 * naming the service, and no write-back. Within {@link #replayV1}, replays started since change {@value
 * #HOST_FAILOVER} take {@link #replayWithFailover}: a host that does not pick up a step pinned to it is
 * abandoned, and the replay starts over on another host.
 */
public class ReplayWorkflowImpl implements ReplayWorkflow {
  private static final Logger log = Workflow.getLogger(ReplayWorkflowImpl.class);

  /** The change id of typed input results, the ERROR verdict and the transient deadline. */
  static final String TYPED_RESULTS = "typed-input-results";

  /** The change id of the pickup timeout on host-pinned steps and the failover to another host. */
  static final String HOST_FAILOVER = "host-failover";

  /**
   * The change id of indexing: a replay that ends upserts its model, version and verdict as search
   * attributes ({@link SearchAttributes}), so visibility queries find it by verdict.
   */
  static final String SEARCH_ATTRIBUTES = "search-attributes";
  /**
   * Since this change a replay whose artifacts differ runs {@code TrainingActivities.explain} on its host
   * after the comparison, then the probes the request asks for, and grades {@code REPRODUCED_FUNCTIONALLY}.
   */
  static final String EXPLAIN = "explain";

  /** How many training hosts a replay is handed to before it ends with {@code ERROR}. */
  static final int MAX_HOSTS = 3;

  private static final RetryOptions RETRY =
      RetryOptions.newBuilder()
          .setInitialInterval(Duration.ofSeconds(1))
          .setBackoffCoefficient(2.0)
          .setMaximumInterval(Duration.ofMinutes(1))
          .setMaximumAttempts(6)
          .setDoNotRetry(Failures.DO_NOT_RETRY)
          .build();

  /**
   * For steps that talk to a service: retried with backoff, as often as fits in the step's schedule-to-close
   * timeout (the request's transient deadline), never for the types retrying cannot fix.
   */
  private static final RetryOptions RETRY_UNTIL_DEADLINE =
      RetryOptions.newBuilder()
          .setInitialInterval(Duration.ofSeconds(1))
          .setBackoffCoefficient(2.0)
          .setMaximumInterval(Duration.ofMinutes(1))
          .setDoNotRetry(Failures.DO_NOT_RETRY)
          .build();

  private final ControlActivities control =
      Workflow.newActivityStub(
          ControlActivities.class,
          ActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofMinutes(5))
              .setRetryOptions(RETRY)
              .build());

  private String step = "starting";
  private String host;
  private long stepStartedAt;
  private final List<String> finishedSteps = new ArrayList<>();
  private final Map<String, Long> durations = new LinkedHashMap<>();

  @Override
  public ReplayProgress progress() {
    return new ReplayProgress(step, stepStartedAt, List.copyOf(finishedSteps), host);
  }

  @Override
  public ReplayResult replay(ReplayRequest request) {
    int version = Workflow.getVersion(TYPED_RESULTS, Workflow.DEFAULT_VERSION, 1);
    return version == Workflow.DEFAULT_VERSION ? replayV0(request) : replayV1(request);
  }

  /** The sequence of replays started before {@value #TYPED_RESULTS}; kept for their histories. */
  private ReplayResult replayV0(ReplayRequest request) {
    long started = Workflow.currentTimeMillis();
    TrainingLimits limits = request.limits() == null ? TrainingLimits.DEFAULT : request.limits();
    Report report = new Report(request.replayId(), request.modelSpec(), started, limits);

    enter("resolve");
    ModelVersion version;
    try {
      version = resolver(request).resolve(request.modelSpec());
    } catch (ActivityFailure failure) {
      Failures.Decoded decoded = Failures.decode(failure);
      if (decoded.is(ErrorType.INPUT_UNVERIFIABLE)) {
        // The registry has the version but not a complete triplet: that is a verdict, with a report.
        leave("resolve");
        report.inputsUnverifiable(decoded.message());
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
        timed("code", InputKind.CODE, () -> materialize.checkoutCode(request.replayId(), triplet.code()));
    Promise<Outcome> environment =
        timed("environment", InputKind.ENVIRONMENT,
            () -> materialize.pullImage(request.replayId(), triplet.environment().image()));
    Promise<Outcome> data =
        timed("data", InputKind.DATA, () -> materialize.restoreData(request.replayId(), triplet.data()));
    Promise.allOf(code, environment, data).get();
    leave("materialize");
    report.inputs = new ReplayReport.Inputs(code.get().result, environment.get().result, data.get().result);
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
                    version.recorded().metricsFile(), limits, version.recorded().outputRules(),
                    version.recorded().artifacts().stream().map(FileEntry::path).toList()));
      } catch (ActivityFailure failure) {
        leave("train");
        report.verdict = Verdict.TRAINING_FAILED;
        report.reason = "training could not be run: " + Failures.describe(failure);
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
                  log.warn("cleanup of replay {} failed: {}", request.replayId(), Failures.describe(failure));
                }
              })
          .run();
    }
  }

  /**
   * The sequence since {@value #TYPED_RESULTS}. Every step that talks to a service is retried until the
   * request's transient deadline; a service still down then ends the replay with {@code ERROR} and a
   * report that names it. The report is always written, except for a model that is not registered (or
   * a spec that is not valid), and when the report store itself stays down.
   */
  private ReplayResult replayV1(ReplayRequest request) {
    long started = Workflow.currentTimeMillis();
    TrainingLimits limits = request.limits() == null ? TrainingLimits.DEFAULT : request.limits();
    Duration deadline = request.transientDeadline();
    Report report = new Report(request.replayId(), request.modelSpec(), started, limits);

    enter("resolve");
    ModelVersion version;
    try {
      version = untilDeadline(ControlActivities.class, null, deadline, Duration.ofHours(2), request.heartbeatTimeout())
          .resolve(request.modelSpec());
    } catch (ActivityFailure failure) {
      leave("resolve");
      Failures.Decoded decoded = Failures.decode(failure);
      if (decoded.is(ErrorType.INPUT_UNVERIFIABLE)) {
        // The registry has the version but not a complete triplet: that is a verdict, with a report.
        report.inputsUnverifiable(decoded.message());
        return finishV1(request, report, deadline);
      }
      if (decoded.is(ErrorType.NOT_FOUND) || decoded.is(ErrorType.INVALID_INPUT) || decoded.is(ErrorType.CONFIGURATION)) {
        // No such model version, or a registry this process cannot use as configured: nothing to report
        // on, and the user's mistake to fix (exit 2), not an outage.
        throw failure;
      }
      report.error("resolve", service(decoded, "the model registry of " + request.modelSpec()), decoded, deadline);
      return finishV1(request, report, deadline);
    }
    leave("resolve");
    report.version = version;
    Triplet triplet = version.triplet();
    if (Workflow.getVersion(HOST_FAILOVER, Workflow.DEFAULT_VERSION, 1) != Workflow.DEFAULT_VERSION) {
      return replayWithFailover(request, report, version, limits, deadline);
    }

    // All training steps of this replay run on one host, where its work directory is.
    enter("materialize");
    String hostQueue;
    try {
      hostQueue = trainingStub(request.trainingTaskQueue(), Duration.ofMinutes(1), null).hostTaskQueue();
    } catch (ActivityFailure failure) {
      leave("materialize");
      Failures.Decoded decoded = Failures.decode(failure);
      report.error("host", service(decoded, "the training workers of queue " + request.trainingTaskQueue()), decoded,
          deadline);
      return finishV1(request, report, deadline);
    }
    TrainingActivities materialize =
        untilDeadline(TrainingActivities.class, hostQueue, deadline, Duration.ofHours(2), request.heartbeatTimeout());
    Promise<Outcome> code =
        timedV1("code", InputKind.CODE, "the git host of " + triplet.code().repositoryUrl(),
            () -> materialize.checkoutCode(request.replayId(), triplet.code()));
    Promise<Outcome> environment =
        timedV1("environment", InputKind.ENVIRONMENT, "the image registry of " + triplet.environment().image(),
            () -> materialize.pullImage(request.replayId(), triplet.environment().image()));
    Promise<Outcome> data =
        timedV1("data", InputKind.DATA, "the object store of " + triplet.data().snapshotUri(),
            () -> materialize.restoreData(request.replayId(), triplet.data()));
    Promise.allOf(code, environment, data).get();
    leave("materialize");
    List<Outcome> outcomes = List.of(code.get(), environment.get(), data.get());
    report.inputs = new ReplayReport.Inputs(code.get().result, environment.get().result, data.get().result);
    report.evidence.put("code", code.get().evidence);
    report.evidence.put("environment", environment.get().evidence);
    report.evidence.put("data", data.get().evidence);

    TrainingActivities host = trainingStub(hostQueue, Duration.ofHours(1), null);
    try {
      if (outcomes.stream().anyMatch(o -> o.result.state() == InputResult.State.UNVERIFIABLE)) {
        // A recorded input really does not match: that is the model's verdict, whatever else was down.
        report.verdict = Verdict.INPUTS_UNVERIFIABLE;
        report.reason = unverifiedReason(report.inputs);
        return finishV1(request, report, deadline);
      }
      Outcome outage = outcomes.stream().filter(o -> o.outage != null).findFirst().orElse(null);
      if (outage != null) {
        report.error(outage.result.kind().name().toLowerCase(java.util.Locale.ROOT), outage.service, outage.outage,
            deadline);
        return finishV1(request, report, deadline);
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
                    version.recorded().metricsFile(), limits, version.recorded().outputRules(),
                    version.recorded().artifacts().stream().map(FileEntry::path).toList()));
      } catch (ActivityFailure failure) {
        leave("train");
        Failures.Decoded decoded = Failures.decode(failure);
        if (decoded.is(ErrorType.UNAVAILABLE) || decoded.is(ErrorType.INVALID_INPUT)) {
          // An engine that is down, or limits it cannot give (--cpus 1000): the model is not to blame.
          report.error("train", service(decoded, "the Docker engine of " + hostQueue), decoded, deadline);
        } else {
          report.verdict = Verdict.TRAINING_FAILED;
          report.reason = "training could not be run: " + decoded.message();
        }
        return finishV1(request, report, deadline);
      }
      leave("train");
      report.training = result;
      if (!result.succeeded()) {
        report.verdict = Verdict.TRAINING_FAILED;
        report.reason = result.failureSummary();
        return finishV1(request, report, deadline);
      }

      enter("compare");
      Comparison comparison;
      try {
        comparison = control.compare(version.recorded(), result);
      } catch (ActivityFailure failure) {
        leave("compare");
        Failures.Decoded decoded = Failures.decode(failure);
        report.error("compare", service(decoded, "the comparison on the control workers"), decoded, deadline);
        return finishV1(request, report, deadline);
      }
      leave("compare");
      report.comparison = comparison;
      report.verdict = comparison.verdict();
      report.reason = comparison.reason();
      return finishV1(request, report, deadline);
    } finally {
      // Detached, so that the container and work directory are removed even when the replay is cancelled.
      Workflow.newDetachedCancellationScope(
              () -> {
                try {
                  host.cleanup(request.replayId());
                } catch (ActivityFailure failure) {
                  log.warn("cleanup of replay {} failed: {}", request.replayId(), Failures.describe(failure));
                }
              })
          .run();
    }
  }

  /**
   * The host part of {@link #replayV1} since {@value #HOST_FAILOVER} (the samples-java file-processing
   * pattern). Every step pinned to the chosen host gets the request's pickup timeout as its schedule-to-start
   * timeout. A host that does not pick up one of them in time is abandoned: nothing it found counts (an
   * abandoned host's attempt is never a verdict), no cleanup is sent to it, and the shared training queue is
   * asked for a host again, which runs the whole materialize and train sequence anew. After {@value #MAX_HOSTS} abandoned hosts the replay ends with {@code ERROR} naming them.
   */
  private ReplayResult replayWithFailover(
      ReplayRequest request, Report report, ModelVersion version, TrainingLimits limits, Duration deadline) {
    Duration pickup = request.hostPickupTimeout();
    List<String> abandoned = new ArrayList<>();
    report.hosts = new ArrayList<>();
    String cleanupHost = null;
    try {
      OnHost run;
      while (true) {
        enter("materialize");
        String hostQueue;
        try {
          hostQueue = trainingStub(request.trainingTaskQueue(), Duration.ofMinutes(1), null).hostTaskQueue();
        } catch (ActivityFailure failure) {
          leave("materialize");
          Failures.Decoded decoded = Failures.decode(failure);
          report.error("host", service(decoded, "the training workers of queue " + request.trainingTaskQueue()),
              decoded, deadline);
          return finishV1(request, report, deadline);
        }
        host = hostQueue;
        cleanupHost = hostQueue;
        report.hosts.add(hostQueue);
        run = onHost(hostQueue, request, version, limits, deadline, pickup);
        if (run.abandonedAt() == null) {
          break;
        }
        cleanupHost = null;
        String why = hostQueue + " did not pick up " + run.abandonedAt() + " within " + pickup.toSeconds() + " s";
        log.warn("replay {}: {}; abandoning that host", request.replayId(), why);
        abandoned.add(why);
        report.evidence.put("failover", String.join("; ", abandoned));
        if (abandoned.size() >= MAX_HOSTS) {
          report.hostsGone(abandoned, pickup);
          return finishV1(request, report, deadline);
        }
      }

      String hostQueue = run.hostQueue();
      List<Outcome> outcomes = run.outcomes();
      report.inputs = new ReplayReport.Inputs(outcomes.get(0).result, outcomes.get(1).result, outcomes.get(2).result);
      report.evidence.put("code", outcomes.get(0).evidence);
      report.evidence.put("environment", outcomes.get(1).evidence);
      report.evidence.put("data", outcomes.get(2).evidence);
      if (outcomes.stream().anyMatch(o -> o.result.state() == InputResult.State.UNVERIFIABLE)) {
        // A recorded input really does not match: that is the model's verdict, whatever else was down.
        report.verdict = Verdict.INPUTS_UNVERIFIABLE;
        report.reason = unverifiedReason(report.inputs);
        return finishV1(request, report, deadline);
      }
      Outcome outage = outcomes.stream().filter(o -> o.outage != null).findFirst().orElse(null);
      if (outage != null) {
        report.error(outage.result.kind().name().toLowerCase(java.util.Locale.ROOT), outage.service, outage.outage,
            deadline);
        return finishV1(request, report, deadline);
      }
      if (run.trainFailure() != null) {
        Failures.Decoded decoded = run.trainFailure();
        if (decoded.is(ErrorType.UNAVAILABLE) || decoded.is(ErrorType.INVALID_INPUT)) {
          // An engine that is down, or limits it cannot give (--cpus 1000): the model is not to blame.
          report.error("train", service(decoded, "the Docker engine of " + hostQueue), decoded, deadline);
        } else {
          report.verdict = Verdict.TRAINING_FAILED;
          report.reason = "training could not be run: " + decoded.message();
        }
        return finishV1(request, report, deadline);
      }
      TrainingResult result = run.training();
      report.training = result;
      if (!result.succeeded()) {
        report.verdict = Verdict.TRAINING_FAILED;
        report.reason = result.failureSummary();
        return finishV1(request, report, deadline);
      }

      enter("compare");
      Comparison comparison;
      try {
        comparison = control.compare(version.recorded(), result);
      } catch (ActivityFailure failure) {
        leave("compare");
        Failures.Decoded decoded = Failures.decode(failure);
        report.error("compare", service(decoded, "the comparison on the control workers"), decoded, deadline);
        return finishV1(request, report, deadline);
      }
      leave("compare");
      report.comparison = comparison;
      report.verdict = comparison.verdict();
      report.reason = comparison.reason();
      if (comparison.verdict() != Verdict.REPRODUCED_BITWISE
          && Workflow.getVersion(EXPLAIN, Workflow.DEFAULT_VERSION, 1) != Workflow.DEFAULT_VERSION) {
        explain(request, report, version, limits, hostQueue, result, comparison, pickup);
      }
      return finishV1(request, report, deadline);
    } finally {
      if (cleanupHost != null) {
        // Detached, so that the container and work directory are removed even when the replay is cancelled;
        // with the pickup timeout, so that a host gone by now cannot hold the replay open.
        TrainingActivities cleaner = pinned(cleanupHost, Duration.ofHours(1), null, pickup);
        Workflow.newDetachedCancellationScope(
                () -> {
                  try {
                    cleaner.cleanup(request.replayId());
                  } catch (ActivityFailure failure) {
                    log.warn("cleanup of replay {} failed: {}", request.replayId(), Failures.describe(failure));
                  }
                })
            .run();
      }
    }
  }

  /**
   * Since {@value #EXPLAIN}: why the artifacts differ ({@code explain} on the host where the rebuild
   * is), then the nondeterminism probes the request asks for, one activity each, then the causes and the
   * functional grade (pure, {@code core.grading.Explanations}). A failed step is noted in the explanation
   * and never changes the verdict.
   */
  private void explain(
      ReplayRequest request, Report report, ModelVersion version, TrainingLimits limits, String hostQueue,
      TrainingResult result, Comparison comparison, Duration pickup) {
    enter("explain");
    long start = Workflow.currentTimeMillis();
    TrainingActivities host =
        pinned(hostQueue, Duration.ofMinutes(30), request.heartbeatTimeout(), pickup);
    Triplet triplet = version.triplet();
    TrainingSpec training = new TrainingSpec(request.replayId(), triplet.environment().image(), triplet.code(),
        version.recorded().metricsFile(), limits, version.recorded().outputRules(),
        version.recorded().artifacts().stream().map(FileEntry::path).toList(), triplet.upstream());
    dev.timemachine.core.grading.Explanation explanation;
    try {
      explanation = host.explain(new ExplainSpec(training, version.recorded(), result.outputs(), triplet.data().snapshotUri()));
    } catch (ActivityFailure failure) {
      explanation = new dev.timemachine.core.grading.Explanation(List.of(), List.of(), null, List.of(),
          List.of("the explain step failed: " + Failures.describe(failure)));
    }
    String probe = request.probe();
    boolean probing = ReplayRequest.PROBE_TWICE.equals(probe) || ReplayRequest.PROBE_CALIBRATE.equals(probe)
        || (ReplayRequest.PROBE_ON_DIVERGED.equals(probe) && comparison.verdict() == Verdict.DIVERGED);
    if (probing) {
      List<dev.timemachine.core.grading.Explanation.ProbeRun> probes = new ArrayList<>();
      List<String> variations = new ArrayList<>();
      if (ReplayRequest.PROBE_CALIBRATE.equals(probe)) {
        int runs = request.calibrateRuns() == null ? 2 : Math.max(2, request.calibrateRuns());
        for (int i = 1; i < runs; i++) {
          variations.add(dev.timemachine.core.grading.Variations.NONE);
        }
      } else {
        variations.add(dev.timemachine.core.grading.Variations.NONE);
        variations.addAll(dev.timemachine.core.grading.Variations.ALL);
      }
      boolean nondeterministic = false;
      for (int i = 0; i < variations.size(); i++) {
        String variation = variations.get(i);
        try {
          dev.timemachine.core.grading.Explanation.ProbeRun run = host.probe(new ProbeSpec(training, variation, i + 1,
              version.recorded().artifacts(), result.outputs(), nondeterministic));
          if (i == 0 && run.differingBetweenRuns() != null && !run.differingBetweenRuns().isEmpty()) {
            nondeterministic = true;
          }
          probes.add(run);
        } catch (ActivityFailure failure) {
          probes.add(new dev.timemachine.core.grading.Explanation.ProbeRun(variation, 0, null, null, null,
              "the probe failed: " + Failures.describe(failure)));
        }
      }
      explanation = explanation.withProbes(probes);
    }
    explanation = explanation.withCauses(dev.timemachine.core.grading.Explanations.causes(
        version.recorded(), result, comparison, explanation.artifacts(), explanation.functional(), explanation.probes()));
    report.explanation = explanation;
    Comparison graded = dev.timemachine.core.grading.Explanations.grade(comparison, explanation);
    report.comparison = graded;
    report.verdict = graded.verdict();
    report.reason = graded.reason();
    durations.put("explain", Workflow.currentTimeMillis() - start);
    leave("explain");
  }

  /**
   * One host's attempt: the three inputs in parallel, then (when all are verified) the training, every step
   * on {@code hostQueue} with the pickup timeout. A step that was not picked up abandons the host.
   */
  private OnHost onHost(
      String hostQueue, ReplayRequest request, ModelVersion version, TrainingLimits limits, Duration deadline,
      Duration pickup) {
    Triplet triplet = version.triplet();
    TrainingActivities materialize =
        Workflow.newActivityStub(TrainingActivities.class,
            deadlineOptions(hostQueue, deadline, Duration.ofHours(2), request.heartbeatTimeout())
                .setScheduleToStartTimeout(pickup)
                .build());
    CompletablePromise<String> notPickedUp = Workflow.newPromise();
    // The three steps are scheduled together, so on a gone host they all time out together; a step that a
    // slow host did pick up is waited for rather than cancelled, so no cancel races its timeout.
    List<Promise<Outcome>> steps = List.of(
        timedOnHost("code", "checkoutCode", InputKind.CODE, "the git host of " + triplet.code().repositoryUrl(),
            notPickedUp, () -> materialize.checkoutCode(request.replayId(), triplet.code())),
        timedOnHost("environment", "pullImage", InputKind.ENVIRONMENT,
            "the image registry of " + triplet.environment().image(), notPickedUp,
            () -> materialize.pullImage(request.replayId(), triplet.environment().image())),
        triplet.upstream().isEmpty()
            ? timedOnHost("data", "restoreData", InputKind.DATA, "the object store of " + triplet.data().snapshotUri(),
                notPickedUp, () -> materialize.restoreData(request.replayId(), triplet.data()))
            // Only a triplet with upstream artifacts takes this step, so no earlier history sees it.
            : timedOnHost("data", "restoreDataAndUpstream", InputKind.DATA,
                "the object store of " + triplet.data().snapshotUri(), notPickedUp,
                () -> materialize.restoreDataAndUpstream(request.replayId(), triplet.data(), triplet.upstream())));
    Promise.allOf(steps).get();
    if (notPickedUp.isCompleted()) {
      return OnHost.abandoned(hostQueue, notPickedUp.get());
    }
    leave("materialize");
    List<Outcome> outcomes = steps.stream().map(Promise::get).toList();
    if (outcomes.stream().anyMatch(o -> o.result.state() != InputResult.State.VERIFIED)) {
      return new OnHost(hostQueue, outcomes, null, null, null);
    }

    enter("train");
    TrainingActivities trainer =
        pinned(hostQueue, Duration.ofSeconds(limits.timeoutSeconds()).plusMinutes(30), request.heartbeatTimeout(), pickup);
    try {
      TrainingResult result =
          trainer.train(
              new TrainingSpec(
                  request.replayId(), triplet.environment().image(), triplet.code(),
                  version.recorded().metricsFile(), limits, version.recorded().outputRules(),
                  version.recorded().artifacts().stream().map(FileEntry::path).toList(), triplet.upstream()));
      leave("train");
      return new OnHost(hostQueue, outcomes, result, null, null);
    } catch (ActivityFailure failure) {
      if (Failures.notPickedUp(failure)) {
        return OnHost.abandoned(hostQueue, "train");
      }
      leave("train");
      return new OnHost(hostQueue, outcomes, null, Failures.decode(failure), null);
    }
  }

  /**
   * A materialize step on a pinned host, timed, as in {@link #timedV1}; a step that no worker picked up
   * completes {@code notPickedUp} with the step's activity name instead.
   */
  private Promise<Outcome> timedOnHost(
      String name, String activityName, InputKind kind, String service, CompletablePromise<String> notPickedUp,
      Supplier<InputCheck> activity) {
    long start = Workflow.currentTimeMillis();
    return Async.function(activity::get)
        .handle(
            (check, failure) -> {
              durations.put(name, Workflow.currentTimeMillis() - start);
              if (failure == null) {
                return new Outcome(InputResult.verified(kind), check.evidence(), null);
              }
              if (Failures.notPickedUp(failure)) {
                if (!notPickedUp.isCompleted()) {
                  notPickedUp.complete(activityName);
                }
                return new Outcome(InputResult.notChecked(kind, "not picked up"), null, null);
              }
              Failures.Decoded decoded = Failures.decode(failure);
              if (decoded.is(ErrorType.INPUT_UNVERIFIABLE)) {
                return new Outcome(InputResult.unverifiable(kind, decoded.message()), null, null);
              }
              String failed = service(decoded, service);
              return new Outcome(
                  InputResult.notChecked(kind, failed + " failed: " + decoded.message()), null, decoded, failed);
            });
  }

  /** A training stub on {@code queue} whose steps must be picked up within {@code pickup}. */
  private static TrainingActivities pinned(String queue, Duration startToClose, Duration heartbeat, Duration pickup) {
    ActivityOptions.Builder options =
        ActivityOptions.newBuilder()
            .setTaskQueue(queue)
            .setStartToCloseTimeout(startToClose)
            .setScheduleToStartTimeout(pickup)
            .setRetryOptions(RETRY);
    if (heartbeat != null) {
      options.setHeartbeatTimeout(heartbeat);
    }
    return Workflow.newActivityStub(TrainingActivities.class, options.build());
  }

  /**
   * What one host did for the replay.
   *
   * @param outcomes the three inputs' outcomes (code, environment, data); null when abandoned
   * @param training the training result, or null when training did not run or failed
   * @param trainFailure why the training step failed, or null
   * @param abandonedAt the activity the host did not pick up in time, or null
   */
  private record OnHost(
      String hostQueue, List<Outcome> outcomes, TrainingResult training, Failures.Decoded trainFailure,
      String abandonedAt) {
    static OnHost abandoned(String hostQueue, String activity) {
      return new OnHost(hostQueue, null, null, null, activity);
    }
  }

  /**
   * Writes the report (retried until the deadline while the store is down) and, unless the verdict is
   * {@code ERROR} or write-back is skipped, writes the verdict back. A report that cannot be written
   * turns the result into {@code ERROR} naming the store, with the verdict it would have had in the reason.
   */
  private ReplayResult finishV1(ReplayRequest request, Report report, Duration deadline) {
    enter("report");
    long now = Workflow.currentTimeMillis();
    durations.put("total", now - report.startedAt);
    ReplayReport written = report.build(now, durations);
    String uri;
    try {
      uri = untilDeadline(ControlActivities.class, null, deadline, Duration.ofMinutes(5), null).writeReport(written);
    } catch (ActivityFailure failure) {
      Failures.Decoded decoded = Failures.decode(failure);
      String service = service(decoded, "the report store");
      String reason = "the report could not be written to " + service + ": " + decoded.message()
          + "; the outcome would have been " + written.verdict() + " (" + written.verdictReason()
          + "); no verdict, nothing written back";
      log.warn("replay {}: {}", request.replayId(), reason);
      step = "done";
      return indexed(report, new ReplayResult(request.replayId(), Verdict.ERROR, reason, null, null, service));
    }
    leave("report");
    String writeBackProblem = null;
    if (!request.skipWriteBack() && written.verdict() != Verdict.ERROR) {
      try {
        control.recordVerdict(request.modelSpec(), written, uri);
      } catch (ActivityFailure failure) {
        // The report is the record; write-back is a convenience and must not change the verdict.
        writeBackProblem = Failures.describe(failure);
        log.warn("could not write the verdict back to the registry: {}", writeBackProblem);
      }
    }
    recordMetrics(written);
    step = "done";
    return indexed(report, new ReplayResult(
        request.replayId(), written.verdict(), written.verdictReason(), uri, writeBackProblem,
        written.error() == null ? null : written.error().service()));
  }

  /**
   * Since {@value #SEARCH_ATTRIBUTES}: upserts the resolved model and version and the verdict, so that
   * {@code timemachine replays list --verdict} and the Temporal UI find the replay. Older replays end
   * without it (their histories have no marker here).
   */
  private static ReplayResult indexed(Report report, ReplayResult result) {
    if (Workflow.getVersion(SEARCH_ATTRIBUTES, Workflow.DEFAULT_VERSION, 1) != Workflow.DEFAULT_VERSION) {
      Workflow.upsertTypedSearchAttributes(
          SearchAttributes.atEnd(report.version == null ? null : report.version.model(), result.verdict())
              .toArray(io.temporal.common.SearchAttributeUpdate<?>[]::new));
    }
    return result;
  }

  /** The service a failure names, else what the step talks to. */
  private static String service(Failures.Decoded failure, String fallback) {
    return failure.details().service() != null ? failure.details().service() : fallback;
  }

  /**
   * A stub whose steps are retried with backoff until {@code deadline} (their schedule-to-close timeout),
   * each attempt bounded by {@code startToClose}; on {@code queue}, or the workflow's own when null.
   */
  private static <T> T untilDeadline(
      Class<T> activities, String queue, Duration deadline, Duration startToClose, Duration heartbeat) {
    return Workflow.newActivityStub(activities, deadlineOptions(queue, deadline, startToClose, heartbeat).build());
  }

  private static ActivityOptions.Builder deadlineOptions(
      String queue, Duration deadline, Duration startToClose, Duration heartbeat) {
    ActivityOptions.Builder options =
        ActivityOptions.newBuilder()
            .setScheduleToCloseTimeout(deadline)
            .setStartToCloseTimeout(startToClose.compareTo(deadline) < 0 ? startToClose : deadline)
            .setRetryOptions(RETRY_UNTIL_DEADLINE);
    if (queue != null) {
      options.setTaskQueue(queue);
    }
    if (heartbeat != null) {
      options.setHeartbeatTimeout(heartbeat);
    }
    return options;
  }

  /**
   * V1: runs a materialize step asynchronously, timing it. Only an {@code INPUT_UNVERIFIABLE} failure
   * makes the input unverifiable; any other failure (its service down past the deadline) leaves it
   * not checked, and is the replay's outage.
   */
  private Promise<Outcome> timedV1(String name, InputKind kind, String service, Supplier<InputCheck> activity) {
    long start = Workflow.currentTimeMillis();
    return Async.function(activity::get)
        .handle(
            (check, failure) -> {
              durations.put(name, Workflow.currentTimeMillis() - start);
              if (failure == null) {
                return new Outcome(InputResult.verified(kind), check.evidence(), null);
              }
              Failures.Decoded decoded = Failures.decode(failure);
              if (decoded.is(ErrorType.INPUT_UNVERIFIABLE)) {
                return new Outcome(InputResult.unverifiable(kind, decoded.message()), null, null);
              }
              String failed = service(decoded, service);
              return new Outcome(
                  InputResult.notChecked(kind, failed + " failed: " + decoded.message()), null, decoded, failed);
            });
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
        writeBackProblem = Failures.describe(failure);
        log.warn("could not write the verdict back to the registry: {}", writeBackProblem);
      }
    }
    recordMetrics(written);
    step = "done";
    return indexed(report, new ReplayResult(request.replayId(), written.verdict(), written.verdictReason(), uri, writeBackProblem));
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

  /** V0: runs a materialize step asynchronously, timing it; any failure makes the input unverifiable. */
  private Promise<Outcome> timed(String name, InputKind kind, Supplier<InputCheck> activity) {
    long start = Workflow.currentTimeMillis();
    return Async.function(activity::get)
        .handle(
            (check, failure) -> {
              durations.put(name, Workflow.currentTimeMillis() - start);
              if (failure == null) {
                return new Outcome(InputResult.verified(kind), check.evidence(), null);
              }
              return new Outcome(InputResult.unverifiable(kind, Failures.describe(failure)), null, null);
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

  /** "code: why; data: why" for every input that is not verified (v0: all of them are unverifiable). */
  private static String unverifiedReason(ReplayReport.Inputs inputs) {
    List<String> problems = new ArrayList<>();
    for (InputResult input : List.of(inputs.code(), inputs.environment(), inputs.data())) {
      if (!input.verified()) {
        problems.add(input.kind().name().toLowerCase(java.util.Locale.ROOT) + ": "
            + (input.detail() == null ? input.state().name() : input.detail()));
      }
    }
    return String.join("; ", problems);
  }

  /**
   * A materialize step's outcome.
   *
   * @param outage the decoded failure when a service failed (not when the input was unverifiable)
   * @param service the service that failed, when {@code outage} is set
   */
  private record Outcome(InputResult result, String evidence, Failures.Decoded outage, String service) {
    Outcome(InputResult result, String evidence, Failures.Decoded outage) {
      this(result, evidence, outage, null);
    }
  }

  /** The report being assembled; built into an immutable {@link ReplayReport} at the end. */
  private static final class Report {
    final String replayId;
    final String modelSpec;
    final long startedAt;
    final TrainingLimits limits;
    ModelVersion version;
    ReplayReport.Inputs inputs = ReplayReport.Inputs.notChecked();
    ReplayReport.Failure error;
    /** The hosts the replay was handed to, in order; null before {@value #HOST_FAILOVER}. */
    List<String> hosts;
    final Map<String, String> evidence = new LinkedHashMap<>();
    TrainingResult training;
    Comparison comparison;
    dev.timemachine.core.grading.Explanation explanation;
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

    /** No verdict: {@code service} failed at {@code step}, after retries until {@code deadline} if it timed out. */
    void error(String step, String service, Failures.Decoded failure, Duration deadline) {
      verdict = Verdict.ERROR;
      error = new ReplayReport.Failure(step, service, failure.type(), failure.message());
      reason = service + " failed (step " + step + ")"
          + (failure.timedOut() ? ", still after retrying for " + deadline.toSeconds() + " s" : "") + ": "
          + failure.message() + "; no verdict, nothing written back";
    }

    /** No verdict: none of the {@value #MAX_HOSTS} hosts tried picked up its work. */
    void hostsGone(List<String> abandoned, Duration pickup) {
      verdict = Verdict.ERROR;
      String service = "the training hosts " + String.join(", ", hosts);
      String message = "none picked up its work within " + pickup.toSeconds() + " s (" + String.join("; ", abandoned)
          + ")";
      error = new ReplayReport.Failure("host", service, Failures.TIMEOUT, message);
      reason = service + " failed (step host): " + message + "; no verdict, nothing written back";
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
          new LinkedHashMap<>(durations),
          error,
          hosts == null ? null : List.copyOf(hosts),
          explanation);
    }
  }
}
