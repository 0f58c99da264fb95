package dev.timemachine.workflow;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Rebuilds one registered model version from its recorded triplet and grades the result. Always ends
 * with a written report, except when the model version itself cannot be found (then it fails with
 * {@code NOT_FOUND} and there is nothing to report on).
 */
@WorkflowInterface
public interface ReplayWorkflow {
  @WorkflowMethod
  ReplayResult replay(ReplayRequest request);

  @QueryMethod
  ReplayProgress progress();
}
