package dev.timemachine.workflow;

import dev.timemachine.core.report.DownstreamReport;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Backtests every downstream model of a new upstream version ({@code backtest encoder@3 --downstream}):
 * one child {@link BacktestWorkflow} per model, a sliding window of them in flight, then one summary
 * with each model's outcome and metric changes, written once to {@code backtests/<id>.json}.
 */
@WorkflowInterface
public interface DownstreamBacktestWorkflow {
  @WorkflowMethod
  DownstreamReport backtestDownstream(DownstreamRequest request);
}
