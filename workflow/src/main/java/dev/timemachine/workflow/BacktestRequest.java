package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.TrainingLimits;
import java.util.List;

/**
 * Input of {@link BacktestWorkflow}: which version to retrain on which snapshot, against which other
 * versions, under which id and limits.
 *
 * @param newData the new snapshot, by reference (URI and root digest, no file list); the training host
 *     verifies every file against it
 * @param against specs of versions trained on the same snapshot for comparison; empty for none
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record BacktestRequest(
    String backtestId,
    String modelSpec,
    DataRef newData,
    List<String> against,
    TrainingLimits limits,
    String trainingTaskQueue,
    int heartbeatTimeoutSeconds) {
  public BacktestRequest {
    against = against == null ? List.of() : List.copyOf(against);
  }

  public java.time.Duration heartbeatTimeout() {
    return java.time.Duration.ofSeconds(
        heartbeatTimeoutSeconds > 0 ? heartbeatTimeoutSeconds : ReplayRequest.DEFAULT_HEARTBEAT_TIMEOUT_SECONDS);
  }
}
