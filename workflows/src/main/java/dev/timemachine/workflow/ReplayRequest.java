package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.domain.TrainingLimits;

/**
 * Input of {@link ReplayWorkflow}: which model version to replay (a spec the registry understands,
 * e.g. {@code churn@3}), under which id, with which training limits, and on which task queue the
 * training steps run.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ReplayRequest(String replayId, String modelSpec, TrainingLimits limits, String trainingTaskQueue) {}
