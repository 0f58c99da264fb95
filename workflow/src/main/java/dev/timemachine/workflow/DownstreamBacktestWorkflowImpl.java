package dev.timemachine.workflow;

import dev.timemachine.core.report.DownstreamReport;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.workflow.Async;
import io.temporal.workflow.ChildWorkflowOptions;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Deterministic orchestration of a downstream backtest: child backtests with ids chosen by the starter
 * (so a rerun under the same id reuses them), at most {@code concurrency} in flight, each result turned
 * into an entry of the summary. A child that fails (a version gone from the registry) is an entry
 * without outcome that says why; it does not stop the others.
 */
public class DownstreamBacktestWorkflowImpl implements DownstreamBacktestWorkflow {
  private final BacktestActivities reports =
      Workflow.newActivityStub(
          BacktestActivities.class,
          ActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofMinutes(5))
              .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(6).setDoNotRetry(Failures.DO_NOT_RETRY).build())
              .build());

  @Override
  public DownstreamReport backtestDownstream(DownstreamRequest request) {
    long started = Workflow.currentTimeMillis();
    List<BacktestRequest> backtests = request.backtests();
    List<DownstreamReport.Entry> entries = new ArrayList<>();
    for (int from = 0; from < backtests.size(); from += request.concurrency()) {
      List<Promise<BacktestResult>> window = new ArrayList<>();
      int to = Math.min(backtests.size(), from + request.concurrency());
      for (int i = from; i < to; i++) {
        BacktestRequest child = backtests.get(i);
        BacktestWorkflow stub = Workflow.newChildWorkflowStub(
            BacktestWorkflow.class,
            ChildWorkflowOptions.newBuilder().setWorkflowId(child.backtestId()).build());
        window.add(Async.function(stub::backtest, child));
      }
      for (int i = from; i < to; i++) {
        BacktestRequest child = backtests.get(i);
        String replaced = i < request.replaced().size() ? request.replaced().get(i) : null;
        try {
          BacktestResult result = window.get(i - from).get();
          entries.add(new DownstreamReport.Entry(child.modelSpec(), child.backtestId(), replaced, result.outcome(),
              result.reason(), DownstreamReport.Change.of(result.metricTable()), result.missedThresholds(),
              result.reportUri()));
        } catch (io.temporal.failure.ChildWorkflowFailure failure) {
          entries.add(new DownstreamReport.Entry(child.modelSpec(), child.backtestId(), replaced, null,
              "the backtest could not run: " + Failures.describe(failure), List.of(), List.of(), null));
        }
      }
    }
    DownstreamReport report = DownstreamReport.of(request.id(), request.upstream(), entries,
        Instant.ofEpochMilli(started), Instant.ofEpochMilli(Workflow.currentTimeMillis()));
    reports.writeDownstreamReport(report);
    return report;
  }
}
