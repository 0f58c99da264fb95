package dev.timemachine.workflow;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Replays every version a selector names, each as a child {@link ReplayWorkflow}, a few at a time,
 * and ends with a fleet summary compared with the previous night's.
 */
@WorkflowInterface
public interface FleetReplayWorkflow {
  @WorkflowMethod
  FleetResult run(FleetRequest request);

  @QueryMethod
  FleetProgress progress();
}
