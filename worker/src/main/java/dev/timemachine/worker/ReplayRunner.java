package dev.timemachine.worker;

import dev.timemachine.domain.ErrorType;
import dev.timemachine.domain.TimemachineException;
import dev.timemachine.domain.TrainingLimits;
import dev.timemachine.workflow.ReplayProgress;
import dev.timemachine.workflow.ReplayRequest;
import dev.timemachine.workflow.ReplayResult;
import dev.timemachine.workflow.ReplayWorkflow;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.workflow.v1.PendingActivityInfo;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.converter.DataConverter;
import io.temporal.failure.ApplicationFailure;
import java.io.PrintWriter;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
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
    WorkflowClient client = temporal.client();
    ReplayWorkflow workflow =
        client.newWorkflowStub(
            ReplayWorkflow.class,
            WorkflowOptions.newBuilder().setWorkflowId(replayId).setTaskQueue(config.controlQueue()).build());
    ReplayRequest request = new ReplayRequest(replayId, modelSpec, limits, config.trainingQueue());
    WorkflowExecution execution =
        WorkflowClient.start(workflow::replay, writeBack ? request : request.withoutWriteBack());
    progress.printf("replay %s of %s started (workflow %s)%n", replayId, modelSpec, execution.getWorkflowId());
    progress.flush();
    return await(execution, progress);
  }

  /** Waits for a started replay, e.g. one started by the nightly job, with progress. */
  public ReplayResult await(WorkflowExecution execution, PrintWriter progress) {
    WorkflowStub stub = temporal.client().newUntypedWorkflowStub(execution.getWorkflowId());
    CompletableFuture<ReplayResult> result = stub.getResultAsync(ReplayResult.class);
    long started = System.nanoTime();
    String last = "";
    int lostConnections = 0;
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
        // The server may be restarting: the replay is durable, so wait for it to come back.
        progress.printf("lost contact with Temporal (%s); retrying%n", e.getCause().getClass().getSimpleName());
        progress.flush();
        sleep(2000);
        result = stub.getResultAsync(ReplayResult.class);
      }
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
    try {
      ReplayProgress state =
          temporal.client().newUntypedWorkflowStub(execution.getWorkflowId()).query("progress", ReplayProgress.class);
      StringBuilder line = new StringBuilder(state.step());
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
      }
      return line.toString();
    } catch (RuntimeException e) {
      // Progress is best effort; the workflow's result is what counts.
      return "waiting";
    }
  }

  private static RuntimeException translate(Throwable failure, String workflowId) {
    if (failure instanceof WorkflowFailedException failed) {
      for (Throwable t = failed.getCause(); t != null; t = t.getCause()) {
        if (t instanceof ApplicationFailure app) {
          ErrorType type;
          try {
            type = ErrorType.valueOf(app.getType());
          } catch (IllegalArgumentException e) {
            type = ErrorType.UNAVAILABLE;
          }
          return new TimemachineException(type, app.getOriginalMessage(), hintOf(app), null);
        }
      }
      return TimemachineException.unavailable("replay " + workflowId + " failed: " + failed.getMessage(), failed);
    }
    return failure instanceof RuntimeException r ? r : new IllegalStateException(failure);
  }

  private static String hintOf(ApplicationFailure app) {
    try {
      return app.getDetails().get(app.getDetails().getSize() - 1, String.class);
    } catch (RuntimeException e) {
      return null;
    }
  }

}
