package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * What a running replay is doing, for progress displays. Times are workflow time in epoch millis.
 *
 * @param host the task queue of the training host the replay runs on, once one answered (after a
 *     failover, the current one); null before
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ReplayProgress(String step, long stepStartedAtMillis, List<String> finishedSteps, String host) {
  public ReplayProgress(String step, long stepStartedAtMillis, List<String> finishedSteps) {
    this(step, stepStartedAtMillis, finishedSteps, null);
  }
}
