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
 * @param transientDeadlineSeconds how long a step that talks to a service (model registry, git host,
 *     image registry, object store, Docker engine) is retried with backoff while that service is
 *     unavailable, before the replay ends without a verdict ({@code ERROR}); it also bounds each input
 *     step as a whole. Null or 0: {@link #DEFAULT_TRANSIENT_DEADLINE}. Seconds, because Jackson writes a
 *     {@code Duration} as a number of a unit no reader can guess.
 * @param hostPickupTimeoutSeconds how long a step pinned to the chosen training host may wait in that
 *     host's queue before the host counts as gone and the replay starts over on another host (its
 *     schedule-to-start timeout). Null or 0: {@link #DEFAULT_HOST_PICKUP_TIMEOUT}. Only replays that take
 *     change {@code host-failover} read it.
 * @param probe the nondeterminism probes after an explained divergence (change {@code explain}): null or
 *     {@link #PROBE_NONE}, none; {@link #PROBE_TWICE} ({@code --twice}), always when artifacts differ;
 *     {@link #PROBE_ON_DIVERGED} ({@code --explain}), when the verdict is {@code DIVERGED};
 *     {@link #PROBE_CALIBRATE}, {@code calibrateRuns - 1} more plain trainings, for {@code timemachine calibrate}
 * @param calibrateRuns with {@link #PROBE_CALIBRATE}: how many trainings in all (the replay's own included)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ReplayRequest(
    String replayId,
    String modelSpec,
    TrainingLimits limits,
    String trainingTaskQueue,
    int heartbeatTimeoutSeconds,
    boolean skipWriteBack,
    Long transientDeadlineSeconds,
    Long hostPickupTimeoutSeconds,
    String probe,
    Integer calibrateRuns) {
  public static final int DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 60;
  public static final String PROBE_NONE = "none";
  public static final String PROBE_TWICE = "twice";
  public static final String PROBE_ON_DIVERGED = "on-diverged";
  public static final String PROBE_CALIBRATE = "calibrate";

  public ReplayRequest(
      String replayId, String modelSpec, TrainingLimits limits, String trainingTaskQueue, int heartbeatTimeoutSeconds,
      boolean skipWriteBack, Long transientDeadlineSeconds, Long hostPickupTimeoutSeconds) {
    this(replayId, modelSpec, limits, trainingTaskQueue, heartbeatTimeoutSeconds, skipWriteBack,
        transientDeadlineSeconds, hostPickupTimeoutSeconds, null, null);
  }

  /** The same request with these probes ({@code probe} one of the PROBE_ constants). */
  public ReplayRequest withProbe(String probe, Integer calibrateRuns) {
    return new ReplayRequest(
        replayId, modelSpec, limits, trainingTaskQueue, heartbeatTimeoutSeconds, skipWriteBack, transientDeadlineSeconds,
        hostPickupTimeoutSeconds, probe, calibrateRuns);
  }
  public static final java.time.Duration DEFAULT_TRANSIENT_DEADLINE = java.time.Duration.ofMinutes(30);
  public static final java.time.Duration DEFAULT_HOST_PICKUP_TIMEOUT = java.time.Duration.ofSeconds(60);

  public ReplayRequest(
      String replayId, String modelSpec, TrainingLimits limits, String trainingTaskQueue, int heartbeatTimeoutSeconds,
      boolean skipWriteBack, Long transientDeadlineSeconds) {
    this(replayId, modelSpec, limits, trainingTaskQueue, heartbeatTimeoutSeconds, skipWriteBack,
        transientDeadlineSeconds, null);
  }

  public ReplayRequest(
      String replayId, String modelSpec, TrainingLimits limits, String trainingTaskQueue, int heartbeatTimeoutSeconds,
      boolean skipWriteBack) {
    this(replayId, modelSpec, limits, trainingTaskQueue, heartbeatTimeoutSeconds, skipWriteBack, null);
  }

  public ReplayRequest(String replayId, String modelSpec, TrainingLimits limits, String trainingTaskQueue) {
    this(replayId, modelSpec, limits, trainingTaskQueue, 0, false);
  }

  public ReplayRequest(
      String replayId, String modelSpec, TrainingLimits limits, String trainingTaskQueue, int heartbeatTimeoutSeconds) {
    this(replayId, modelSpec, limits, trainingTaskQueue, heartbeatTimeoutSeconds, false);
  }

  /** The same request without the write-back. */
  public ReplayRequest withoutWriteBack() {
    return new ReplayRequest(
        replayId, modelSpec, limits, trainingTaskQueue, heartbeatTimeoutSeconds, true, transientDeadlineSeconds,
        hostPickupTimeoutSeconds, probe, calibrateRuns);
  }

  /** The same request with another transient deadline (whole seconds; at least one). */
  public ReplayRequest withTransientDeadline(java.time.Duration deadline) {
    return new ReplayRequest(
        replayId, modelSpec, limits, trainingTaskQueue, heartbeatTimeoutSeconds, skipWriteBack,
        Math.max(1, deadline.toSeconds()), hostPickupTimeoutSeconds, probe, calibrateRuns);
  }

  /** The same request with another host pickup timeout (whole seconds; at least one). */
  public ReplayRequest withHostPickupTimeout(java.time.Duration timeout) {
    return new ReplayRequest(
        replayId, modelSpec, limits, trainingTaskQueue, heartbeatTimeoutSeconds, skipWriteBack,
        transientDeadlineSeconds, Math.max(1, timeout.toSeconds()), probe, calibrateRuns);
  }

  public java.time.Duration hostPickupTimeout() {
    return hostPickupTimeoutSeconds == null || hostPickupTimeoutSeconds <= 0
        ? DEFAULT_HOST_PICKUP_TIMEOUT
        : java.time.Duration.ofSeconds(hostPickupTimeoutSeconds);
  }

  public java.time.Duration transientDeadline() {
    return transientDeadlineSeconds == null || transientDeadlineSeconds <= 0
        ? DEFAULT_TRANSIENT_DEADLINE
        : java.time.Duration.ofSeconds(transientDeadlineSeconds);
  }

  public java.time.Duration heartbeatTimeout() {
    return java.time.Duration.ofSeconds(
        heartbeatTimeoutSeconds > 0 ? heartbeatTimeoutSeconds : DEFAULT_HEARTBEAT_TIMEOUT_SECONDS);
  }
}
