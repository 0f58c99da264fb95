package dev.timemachine.workflow;

import dev.timemachine.core.fleet.FleetIds;
import dev.timemachine.core.fleet.FleetSummary;
import dev.timemachine.core.fleet.Selection;
import dev.timemachine.core.grading.Verdict;
import io.temporal.activity.ActivityOptions;
import io.temporal.api.enums.v1.ParentClosePolicy;
import io.temporal.api.enums.v1.WorkflowIdReusePolicy;
import io.temporal.common.SearchAttributeKey;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.CanceledFailure;
import com.uber.m3.tally.Scope;
import org.slf4j.Logger;
import io.temporal.workflow.Async;
import io.temporal.workflow.CancellationScope;
import io.temporal.workflow.ChildWorkflowOptions;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Deterministic orchestration of a fleet: select once, then replay the versions in batches of {@code
 * batchSize}, each batch with a sliding window of at most {@code concurrency} child replays in flight,
 * its entries written as a part, then continue-as-new with the offset; the last run assembles the
 * summary. A batch is drained before continuing as new, because children do not survive their
 * parent's run (ParentClosePolicy REQUEST_CANCEL). Cancelling the fleet cancels its children.
 */
public class FleetReplayWorkflowImpl implements FleetReplayWorkflow {
  private static final Logger log = Workflow.getLogger(FleetReplayWorkflowImpl.class);

  /** Set by Temporal on workflows a schedule starts: the time it was due, also for a backfill. */
  static final SearchAttributeKey<OffsetDateTime> SCHEDULED_START =
      SearchAttributeKey.forOffsetDateTime("TemporalScheduledStartTime");

  /**
   * The change id of the pre-flight check: each batch's versions are checked ({@link
   * FleetActivities#preflight}) before any replay starts, and a version whose inputs are gone is an
   * {@code INPUTS_UNVERIFIABLE} entry without a child; children carry the search attributes of their
   * model, version and trigger {@code fleet}.
   */
  static final String PREFLIGHT = "preflight-check";

  private static final DateTimeFormatter NIGHT = DateTimeFormatter.ofPattern("yyyyMMdd");
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HHmmss");

  private final FleetActivities fleet =
      Workflow.newActivityStub(
          FleetActivities.class,
          ActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofMinutes(10))
              .setRetryOptions(
                  io.temporal.common.RetryOptions.newBuilder()
                      .setInitialInterval(Duration.ofSeconds(1))
                      .setBackoffCoefficient(2.0)
                      .setMaximumInterval(Duration.ofMinutes(1))
                      .setMaximumAttempts(6)
                      .setDoNotRetry(Failures.DO_NOT_RETRY)
                      .build())
              .build());

  private String fleetId;
  private int total;
  private int done;
  private int inFlight;

  @Override
  public FleetProgress progress() {
    return new FleetProgress(fleetId, total, done, inFlight);
  }

  @Override
  public FleetResult run(FleetRequest request) {
    FleetRequest.State state = request.state() == null ? start(request) : request.state();
    fleetId = state.fleetId();
    List<String> specs = state.specs();
    int from = state.offset();
    int to = Math.min(specs.size(), from + request.effectiveBatchSize());
    List<String> batch = specs.subList(from, to);
    total = batch.size();

    List<FleetSummary.Entry> entries = replayBatch(request, state.night(), batch);
    if (!batch.isEmpty()) {
      fleet.writePart(state.fleetId(), state.parts(), entries);
    }
    int parts = state.parts() + (batch.isEmpty() ? 0 : 1);
    if (to < specs.size()) {
      Workflow.continueAsNew(request.withState(
          new FleetRequest.State(state.fleetId(), state.night(), state.startedAtMillis(), specs, state.excluded(), to, parts)));
    }
    FleetResult result = fleet.writeSummary(new FleetActivities.SummaryRequest(
        state.fleetId(), request.effectiveName(), request.selector(), state.night(), request.trigger(),
        state.startedAtMillis(), Workflow.currentTimeMillis(), parts, state.excluded()));
    if (!result.newFailures().isEmpty()) {
      try {
        fleet.alert(state.fleetId());
      } catch (ActivityFailure failure) {
        // The summary is the record; an alert that cannot be delivered must not fail the fleet.
        log.warn("the alert for fleet {} could not be sent: {}", state.fleetId(), Failures.describe(failure));
      }
    }
    recordMetrics(request.effectiveName(), result);
    return result;
  }

  /**
   * Fleet runs, their versions by change and by verdict, and their duration, through the workflow's
   * replay-safe metrics scope, which the worker exports to Prometheus.
   */
  private static void recordMetrics(String name, FleetResult result) {
    Scope scope = Workflow.getMetricsScope().tagged(Map.of("fleet", name));
    scope.counter("timemachine_fleet_runs").inc(1);
    result.changes().forEach((change, n) -> scope.tagged(Map.of("change", change.name())).counter("timemachine_fleet_versions").inc(n));
    result.verdicts().forEach((verdict, n) -> scope.tagged(Map.of("verdict", verdict)).counter("timemachine_fleet_verdicts").inc(n));
    scope.timer("timemachine_fleet_duration").record(com.uber.m3.util.Duration.ofMillis(result.durationMs()));
  }

  /** The first run: name the night and the fleet, and fix the selection. */
  private FleetRequest.State start(FleetRequest request) {
    long now = Workflow.currentTimeMillis();
    ZoneId zone = ZoneId.of(request.timeZone() == null || request.timeZone().isBlank() ? "UTC" : request.timeZone());
    Instant due = scheduledStart().orElse(Instant.ofEpochMilli(now));
    String night = due.atZone(zone).format(NIGHT);
    ZonedDateTime started = Instant.ofEpochMilli(now).atZone(zone);
    String id = request.effectiveName() + "-" + night + "-" + started.format(NIGHT) + "T" + started.format(TIME);
    Selection selection = fleet.select(request.selector());
    return new FleetRequest.State(id, night, now, selection.specs(), selection.excluded(), 0, 0);
  }

  private static java.util.Optional<Instant> scheduledStart() {
    var attributes = Workflow.getTypedSearchAttributes();
    if (!attributes.containsKey(SCHEDULED_START)) {
      return java.util.Optional.empty();
    }
    OffsetDateTime due = attributes.get(SCHEDULED_START);
    return java.util.Optional.ofNullable(due).map(OffsetDateTime::toInstant);
  }

  /** Replays one batch with a sliding window; entries come back in the batch's order. */
  private List<FleetSummary.Entry> replayBatch(FleetRequest request, String night, List<String> batch) {
    List<String> ids = batch.stream().map(spec -> FleetIds.replayId(spec, night)).toList();
    Map<String, ReplayResult> finished = batch.isEmpty() ? Map.of() : fleet.finishedReplays(ids);
    boolean preflight = Workflow.getVersion(PREFLIGHT, Workflow.DEFAULT_VERSION, 1) != Workflow.DEFAULT_VERSION;
    Map<String, String> gone = Map.of();
    if (preflight) {
      List<String> toCheck = new ArrayList<>();
      for (int i = 0; i < batch.size(); i++) {
        if (!finished.containsKey(ids.get(i))) {
          toCheck.add(batch.get(i));
        }
      }
      try {
        gone = toCheck.isEmpty() ? Map.of() : fleet.preflight(toCheck);
      } catch (ActivityFailure failure) {
        // The check only saves training hosts; without it every version is replayed and decides for itself.
        log.warn("the pre-flight check of fleet {} failed; replaying every version: {}", fleetId, Failures.describe(failure));
      }
    }
    FleetSummary.Entry[] entries = new FleetSummary.Entry[batch.size()];
    List<Promise<Void>> window = new ArrayList<>();
    int limit = request.effectiveConcurrency();
    for (int i = 0; i < batch.size(); i++) {
      String spec = batch.get(i);
      String replayId = ids.get(i);
      ReplayResult earlier = finished.get(replayId);
      if (earlier != null) {
        entries[i] = entry(spec, replayId, earlier, true, 0);
        done++;
        continue;
      }
      String missing = gone.get(spec);
      if (missing != null) {
        // Its inputs are gone: training it would only say so later, after taking a host.
        entries[i] = new FleetSummary.Entry(spec, replayId, Verdict.INPUTS_UNVERIFIABLE.name(), missing, null, false, 0,
            null, null);
        done++;
        continue;
      }
      while (window.size() >= limit) {
        Promise.anyOf(window).get();
        window.removeIf(Promise::isCompleted);
      }
      if (CancellationScope.current().isCancelRequested()) {
        throw new CanceledFailure("fleet " + fleetId + " was cancelled");
      }
      int slot = i;
      long started = Workflow.currentTimeMillis();
      ReplayWorkflow child = Workflow.newChildWorkflowStub(ReplayWorkflow.class, childOptions(replayId, preflight ? spec : null));
      ReplayRequest replay =
          new ReplayRequest(replayId, spec, request.limits(), request.trainingTaskQueue(), request.heartbeatTimeoutSeconds(),
              request.skipWriteBack());
      inFlight++;
      window.add(
          Async.function(child::replay, replay)
              .handle(
                  (result, failure) -> {
                    inFlight--;
                    done++;
                    long ms = Workflow.currentTimeMillis() - started;
                    entries[slot] =
                        failure == null
                            ? entry(spec, replayId, result, false, ms)
                            : new FleetSummary.Entry(spec, replayId, FleetSummary.ERROR, Failures.describe(failure),
                                null, false, ms, null, null);
                    return null;
                  }));
    }
    Promise.allOf(window).get();
    if (CancellationScope.current().isCancelRequested()) {
      throw new CanceledFailure("fleet " + fleetId + " was cancelled");
    }
    return List.of(entries);
  }

  /** With {@code indexedSpec} (since {@value #PREFLIGHT}): the child's search attributes. */
  private static ChildWorkflowOptions childOptions(String replayId, String indexedSpec) {
    ChildWorkflowOptions.Builder options = ChildWorkflowOptions.newBuilder();
    if (indexedSpec != null) {
      options.setTypedSearchAttributes(SearchAttributes.atStart(indexedSpec, SearchAttributes.Trigger.FLEET));
    }
    return options
        .setWorkflowId(replayId)
        // A replay that completed has its report, which finishedReplays found; one that failed may run again.
        .setWorkflowIdReusePolicy(WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY)
        .setParentClosePolicy(ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL)
        .build();
  }

  private static FleetSummary.Entry entry(String spec, String replayId, ReplayResult result, boolean reused, long ms) {
    return new FleetSummary.Entry(spec, replayId, result.verdict().name(), result.reason(), result.reportUri(), reused, ms,
        null, null);
  }
}
