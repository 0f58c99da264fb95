package dev.timemachine.app;

/**
 * What a worker process is: the task queues it serves, the stable id of its host, how long its
 * training steps may stay silent, and where it serves its metrics.
 *
 * @param workerId stable id of a training host; its own queue is {@code <trainingQueue>@<workerId>}
 * @param heartbeatTimeoutSeconds how long a training-host step may stay silent before Temporal counts
 *     its worker as dead and retries the step (on the same host's queue); this is how long a replay
 *     waits after a worker is killed before a restarted worker takes it over
 * @param metricsHost the address the Prometheus endpoint binds to
 * @param metricsPort its port, 0 for a free one
 * @param transientDeadline {@code TIMEMACHINE_TRANSIENT_DEADLINE} ({@code 90s}, {@code 30m}, {@code 2h};
 *     default 30m): how long a replay retries a service that is down before it ends with verdict ERROR
 * @param signingKey {@code TIMEMACHINE_SIGNING_KEY}: the private key file this worker signs attestations
 *     with, or null
 * @param hostPickupTimeout {@code TIMEMACHINE_HOST_PICKUP_TIMEOUT} (default 60s): how long a step pinned to a
 *     replay's training host may wait to be picked up before the replay moves to another host
 * @param alertWebhook {@code TIMEMACHINE_ALERT_WEBHOOK}: where fleet runs post their new failures, or null
 */
public record WorkerSettings(
    String controlQueue,
    String trainingQueue,
    String workerId,
    int heartbeatTimeoutSeconds,
    String metricsHost,
    int metricsPort,
    java.time.Duration transientDeadline,
    String signingKey,
    String alertWebhook,
    java.time.Duration hostPickupTimeout) {

  /** This host's own training queue: stable per worker id, so a restarted worker resumes its replays. */
  public String hostQueue() {
    return trainingQueue + "@" + workerId;
  }
}
