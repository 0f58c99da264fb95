package dev.timemachine.workflow;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Rebuilds one registered model version from its recorded triplet and grades the result. Always ends
 * with a written report, except when the model version itself cannot be found or its spec is invalid
 * (then it fails with {@code NOT_FOUND} or {@code INVALID_INPUT} and there is nothing to report on), and
 * when the report store stays down past the transient deadline (then the result is {@code ERROR} with no
 * report URI, naming the store). A service that stays down ends it with verdict {@code ERROR}, whose
 * report names the service; an {@code ERROR} is never written back to the registry. The replay id is
 * validated by the client before the workflow starts.
 */
@WorkflowInterface
public interface ReplayWorkflow {
  @WorkflowMethod
  ReplayResult replay(ReplayRequest request);

  @QueryMethod
  ReplayProgress progress();
}
