package dev.timemachine.workflow;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Retrains an old model version's verified code in its verified image on a new data snapshot, after
 * checking the snapshot against the version's contract, and compares the metrics with the recorded
 * ones and with other versions trained on the same snapshot. Always ends with a written report, except
 * when a version cannot be found ({@code NOT_FOUND}).
 */
@WorkflowInterface
public interface BacktestWorkflow {
  @WorkflowMethod
  BacktestResult backtest(BacktestRequest request);

  @QueryMethod
  ReplayProgress progress();
}
