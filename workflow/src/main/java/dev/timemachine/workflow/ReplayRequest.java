package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.model.TrainingLimits;

/**
 * Input of {@link ReplayWorkflow}: which model version to replay (a spec the registry understands,
 * e.g. {@code churn@3}), under which id, with which training limits, and on which task queue the
 * training steps run.
 *
 * @param heartbeatTimeoutSeconds how long a silent training-host step may go before Temporal declares
 *     its worker dead and retries it (0: the default of 60 s); the adapters report progress about
 *     once a second
 * @param skipWriteBack true to leave the registry untouched (the CLI's {@code --no-write-back}); false,
 *     the default, writes the verdict back to the registry the version came from. It is a "skip" flag
 *     so that requests recorded before it existed arrive as false and replay the same commands.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ReplayRequest(
    String replayId,
    String modelSpec,
    TrainingLimits limits,
    String trainingTaskQueue,
    int heartbeatTimeoutSeconds,
    boolean skipWriteBack) {
  public static final int DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 60;

  public ReplayRequest(String replayId, String modelSpec, TrainingLimits limits, String trainingTaskQueue) {
    this(replayId, modelSpec, limits, trainingTaskQueue, 0, false);
  }

  public ReplayRequest(
      String replayId, String modelSpec, TrainingLimits limits, String trainingTaskQueue, int heartbeatTimeoutSeconds) {
    this(replayId, modelSpec, limits, trainingTaskQueue, heartbeatTimeoutSeconds, false);
  }

  /** The same request without the write-back. */
  public ReplayRequest withoutWriteBack() {
    return new ReplayRequest(replayId, modelSpec, limits, trainingTaskQueue, heartbeatTimeoutSeconds, true);
  }

  public java.time.Duration heartbeatTimeout() {
    return java.time.Duration.ofSeconds(
        heartbeatTimeoutSeconds > 0 ? heartbeatTimeoutSeconds : DEFAULT_HEARTBEAT_TIMEOUT_SECONDS);
  }
}
