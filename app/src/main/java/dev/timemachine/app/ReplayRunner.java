package dev.timemachine.app;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.ReplayIds;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.workflow.Failures;
import dev.timemachine.workflow.ReplayProgress;
import dev.timemachine.workflow.ReplayRequest;
import dev.timemachine.workflow.ReplayResult;
import dev.timemachine.workflow.ReplayWorkflow;
import dev.timemachine.workflow.SearchAttributes;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.PendingActivityState;
import io.temporal.api.enums.v1.TaskQueueType;
import io.temporal.api.taskqueue.v1.TaskQueue;
import io.temporal.api.workflow.v1.PendingActivityInfo;
import io.temporal.api.workflowservice.v1.DescribeTaskQueueRequest;
import io.temporal.api.query.v1.WorkflowQuery;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.api.workflowservice.v1.QueryWorkflowRequest;
import io.temporal.api.workflowservice.v1.QueryWorkflowResponse;
import io.temporal.api.enums.v1.WorkflowIdConflictPolicy;
import io.temporal.api.enums.v1.WorkflowIdReusePolicy;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowNotFoundException;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.converter.DataConverter;
import java.io.PrintWriter;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Starts a replay workflow and waits for it, printing progress (current step, elapsed time, and the
 * latest heartbeat of the running activity: pull progress, files restored, training log) to a
 * progress stream at most once a second.
 */
public final class ReplayRunner {
  /** About five minutes of a server that does not answer before a waiting client gives up. */
  private static final int MAX_LOST_CONNECTIONS = 150;

  /**
   * How often "workflow not found" is retried (2 s apart) before it is believed: a restarted server
   * may answer so briefly while it takes its shards back.
   */
  private static final int MAX_NOT_FOUND = 15;

  /**
   * Workers send heartbeats to the server at least every {@code TemporalRuntime.HEARTBEAT_THROTTLE}
   * (5 s) while a step runs; twice that without one means the worker is probably gone.
   */
  static final long SILENCE_WARNING_SECONDS = 10;

  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss");

  private final TemporalRuntime temporal;
  private final Config config;

  public ReplayRunner(TemporalRuntime temporal, Config config) {
    this.temporal = temporal;
    this.config = config;
  }

  /** A fresh replay id: readable, sortable by time, unique. */
  public static String newReplayId(String modelSpec) {
    String readable = modelSpec.replaceAll("[^A-Za-z0-9_.-]", "-");
    if (readable.length() > 60) {
      readable = readable.substring(0, 60);
    }
    return "replay-" + readable + "-" + LocalDateTime.now(ZoneOffset.UTC).format(STAMP) + "-"
        + UUID.randomUUID().toString().substring(0, 8);
  }

  public ReplayResult run(String modelSpec, String replayId, TrainingLimits limits, PrintWriter progress) {
    return run(modelSpec, replayId, limits, true, progress);
  }

  /**
   * @param writeBack whether the verdict goes back to the registry the version came from (MLflow:
   *     model-version tags and a run in {@code timemachine-replays}); false for {@code --no-write-back}
   */
  public ReplayResult run(String modelSpec, String replayId, TrainingLimits limits, boolean writeBack, PrintWriter progress) {
    return run(modelSpec, replayId, limits, writeBack, null, null, progress);
  }

  /**
   * @param probe which nondeterminism probes follow an explained divergence ({@code ReplayRequest.PROBE_*}),
   *     or null for none
   * @param calibrateRuns with {@code PROBE_CALIBRATE}: trainings in all
   */
  public ReplayResult run(
      String modelSpec, String replayId, TrainingLimits limits, boolean writeBack, String probe, Integer calibrateRuns,
      PrintWriter progress) {
    // Before anything starts: a workflow under a bad id would run for minutes and could write no report.
    ReplayIds.require(replayId);
    WorkflowClient client = temporal.client();
    ReplayWorkflow workflow =
        client.newWorkflowStub(
            ReplayWorkflow.class,
            WorkflowOptions.newBuilder().setWorkflowId(replayId).setTaskQueue(config.controlQueue())
                // A replay id names one replay: a closed one is never started again (its report and kept
                // outputs stay its own), and a second start while it runs fails instead of joining it.
                .setWorkflowIdReusePolicy(WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE)
                .setWorkflowIdConflictPolicy(WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
                .setTypedSearchAttributes(SearchAttributes.atStart(modelSpec, SearchAttributes.Trigger.MANUAL))
                .build());
    ReplayRequest request =
        new ReplayRequest(replayId, modelSpec, limits, config.trainingQueue(), config.heartbeatTimeoutSeconds())
            .withTransientDeadline(config.transientDeadline())
            .withHostPickupTimeout(config.hostPickupTimeout())
            .withProbe(probe, calibrateRuns);
    // Two embedded CLIs are two Temporal servers: only the host can refuse the second of one id.
    AutoCloseable hostLock = temporal.embedded() ? HostLocks.hold(config.workDir(), replayId) : () -> {};
    try {
      return startAndAwait(workflow, request, writeBack, replayId, modelSpec, progress);
    } finally {
      try {
        hostLock.close();
      } catch (Exception e) {
        // Released by the operating system when this process ends anyway.
      }
    }
  }

  private ReplayResult startAndAwait(
      ReplayWorkflow workflow, ReplayRequest request, boolean writeBack, String replayId, String modelSpec,
      PrintWriter progress) {
    WorkflowExecution execution;
    try {
      execution = WorkflowClient.start(workflow::replay, writeBack ? request : request.withoutWriteBack());
    } catch (WorkflowExecutionAlreadyStarted e) {
      throw TimemachineException.conflict(
          "replay id " + replayId + " is taken: a replay with this id is running or has finished, and an id is used once",
          "leave out --replay-id for a fresh one, or choose another");
    } catch (io.temporal.client.WorkflowServiceException e) {
      throw unregisteredSearchAttributes(e, config);
    }
    progress.printf("replay %s of %s started (workflow %s)%n", replayId, modelSpec, execution.getWorkflowId());
    if (!temporal.embedded()) {
      idleQueues().forEach(warning -> progress.println("warning: " + warning));
    }
    progress.flush();
    return await(execution, progress);
  }

  /**
   * A start the server refused because timemachine's search attributes are not registered, as one
   * actionable error; any other refusal unchanged.
   */
  static RuntimeException unregisteredSearchAttributes(io.temporal.client.WorkflowServiceException e, Config config) {
    if (e.getCause() instanceof io.grpc.StatusRuntimeException status
        && status.getStatus().getCode() == io.grpc.Status.Code.INVALID_ARGUMENT
        && String.valueOf(status.getStatus().getDescription()).toLowerCase(java.util.Locale.ROOT).contains("search attribute")) {
      return TimemachineException.configuration(
          "the Temporal server at " + config.temporalAddress() + " does not know the search attributes "
              + SearchAttributes.NAMES + ": " + status.getStatus().getDescription(),
          "start a timemachine worker against it once (it registers them), or run scripts/temporal.sh up");
    }
    return e;
  }

  /** Waits for a started replay, e.g. one started by the nightly job, with progress. */
  public ReplayResult await(WorkflowExecution execution, PrintWriter progress) {
    WorkflowStub stub = temporal.client().newUntypedWorkflowStub(execution.getWorkflowId());
    CompletableFuture<ReplayResult> result = stub.getResultAsync(ReplayResult.class);
    long started = System.nanoTime();
    String last = "";
    int lostConnections = 0;
    int notFound = 0;
    while (true) {
      try {
        return result.get(1, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        String line = describe(execution);
        if (!line.equals(last)) {
          long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
          progress.printf("[%4ds] %s%n", seconds, line);
          progress.flush();
          last = line;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw TimemachineException.unavailable("interrupted while waiting for " + execution.getWorkflowId(), e);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof WorkflowFailedException || ++lostConnections > MAX_LOST_CONNECTIONS) {
          throw translate(e.getCause(), execution.getWorkflowId());
        }
        if (e.getCause() instanceof WorkflowNotFoundException && ++notFound > MAX_NOT_FOUND) {
          // The server answers, and it does not know the replay: retrying will not bring it back.
          throw new TimemachineException(ErrorType.UNAVAILABLE,
              "replay " + execution.getWorkflowId() + " is not known to the Temporal server at "
                  + (config.embeddedTemporal() ? "(in process)" : config.temporalAddress()) + " (namespace "
                  + config.namespace() + "): its history is gone, so it cannot finish and has written no report",
              "check that the server kept its database (a dev server needs --db-filename), then replay again", e.getCause());
        }
        // The server may be restarting: the replay is durable, so wait for it to come back.
        progress.printf("lost contact with Temporal (%s); retrying%n", e.getCause().getClass().getSimpleName());
        progress.flush();
        sleep(2000);
        result = stub.getResultAsync(ReplayResult.class);
      }
    }
  }

  /**
   * The task queues of a replay that no worker has polled lately, each as a sentence saying what to
   * start. Without a worker a replay does not fail: it waits, durably, and a user watching a silent
   * progress line deserves to know why.
   */
  public List<String> idleQueues() {
    List<String> idle = new ArrayList<>();
    checkPollers(config.controlQueue(), TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, "control", idle);
    checkPollers(config.trainingQueue(), TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, "training", idle);
    return idle;
  }

  private void checkPollers(String queue, TaskQueueType type, String role, List<String> idle) {
    try {
      var response =
          temporal.service().blockingStub().withDeadlineAfter(5, TimeUnit.SECONDS)
              .describeTaskQueue(
                  DescribeTaskQueueRequest.newBuilder()
                      .setNamespace(config.namespace())
                      .setTaskQueue(TaskQueue.newBuilder().setName(queue).build())
                      .setTaskQueueType(type)
                      .build());
      if (response.getPollersCount() == 0) {
        idle.add("no worker polls the " + role + " task queue '" + queue + "' on " + config.temporalAddress()
            + " (namespace " + config.namespace() + "); the replay waits until one does: start `timemachine worker --queues "
            + role + "` with the same TEMPORAL_ADDRESS and queue settings");
      }
    } catch (RuntimeException e) {
      // The check is advice; a server that cannot answer it will show up in the replay itself.
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw TimemachineException.unavailable("interrupted", e);
    }
  }

  private String describe(WorkflowExecution execution) {
    StringBuilder line = new StringBuilder(currentStep(execution));
    try {
      var response =
          temporal.service().blockingStub().withDeadlineAfter(5, TimeUnit.SECONDS)
              .describeWorkflowExecution(
                  DescribeWorkflowExecutionRequest.newBuilder()
                      .setNamespace(config.namespace())
                      .setExecution(execution)
                      .build());
      for (PendingActivityInfo activity : response.getPendingActivitiesList()) {
        String details = null;
        if (activity.hasHeartbeatDetails()) {
          details =
              DataConverter.getDefaultInstance()
                  .fromPayloads(0, Optional.of(activity.getHeartbeatDetails()), String.class, String.class);
        }
        // Heartbeat details name their step ("train: running 12s; last log: ..."); else show the activity.
        line.append(" | ").append(details != null && !details.isEmpty() ? details : activity.getActivityType().getName());
        if (activity.getAttempt() > 1) {
          line.append(" (attempt ").append(activity.getAttempt()).append(')');
        }
        line.append(silence(activity));
      }
      return line.toString();
    } catch (RuntimeException e) {
      // Progress is best effort; the workflow's result is what counts.
      return "waiting for the Temporal server";
    }
  }

  /**
   * The workflow's current step, from its progress query. A query is answered by a workflow worker, so
   * it is asked with a short deadline: with the control workers down the line still shows the pending
   * activities, which the server alone knows.
   */
  private String currentStep(WorkflowExecution execution) {
    try {
      QueryWorkflowResponse response =
          temporal.service().blockingStub().withDeadlineAfter(2, TimeUnit.SECONDS)
              .queryWorkflow(
                  QueryWorkflowRequest.newBuilder()
                      .setNamespace(config.namespace())
                      .setExecution(execution)
                      .setQuery(WorkflowQuery.newBuilder().setQueryType("progress").build())
                      .build());
      ReplayProgress state =
          DataConverter.getDefaultInstance()
              .fromPayloads(0, Optional.of(response.getQueryResult()), ReplayProgress.class, ReplayProgress.class);
      return state.step();
    } catch (RuntimeException e) {
      return "(no control worker answers)";
    }
  }

  private String silence(PendingActivityInfo activity) {
    return silenceNote(activity, System.currentTimeMillis() / 1000, config.heartbeatTimeoutSeconds());
  }

  /**
   * Says so when a running activity has stopped heartbeating, in steps of ten seconds: its worker is
   * probably gone, and Temporal hands the step to another worker once the heartbeat timeout passes.
   * Empty while the activity is not running or has been heard from lately.
   */
  static String silenceNote(PendingActivityInfo activity, long nowEpochSeconds, int heartbeatTimeoutSeconds) {
    if (!activity.hasLastHeartbeatTime() || activity.getState() != PendingActivityState.PENDING_ACTIVITY_STATE_STARTED) {
      return "";
    }
    // A retried attempt keeps the previous attempt's last heartbeat; its own start counts as a sign of life.
    long lastSign = Math.max(activity.getLastHeartbeatTime().getSeconds(), activity.getLastStartedTime().getSeconds());
    long silentSeconds = nowEpochSeconds - lastSign;
    if (silentSeconds < SILENCE_WARNING_SECONDS) {
      return "";
    }
    return " (no heartbeat for " + silentSeconds / 10 * 10 + "+ s: its worker may be down; Temporal retries the step after "
        + heartbeatTimeoutSeconds + " s of silence)";
  }

  private static RuntimeException translate(Throwable failure, String workflowId) {
    if (failure instanceof WorkflowFailedException failed) {
      Failures.Decoded decoded = Failures.decode(failed);
      if (decoded.errorType() != null) {
        return decoded.toException();
      }
      return TimemachineException.unavailable("replay " + workflowId + " failed: " + failed.getMessage(), failed);
    }
    return failure instanceof RuntimeException r ? r : new IllegalStateException(failure);
  }

}
