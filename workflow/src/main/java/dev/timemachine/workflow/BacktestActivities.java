package dev.timemachine.workflow;

import dev.timemachine.core.contract.ContractCheck;
import dev.timemachine.core.contract.ModelContract;
import dev.timemachine.core.report.BacktestReport;
import io.temporal.activity.ActivityInterface;

/**
 * The backtest's own steps; everything else it reuses from {@link ControlActivities} and
 * {@link TrainingActivities}. The two data steps run on the training host, after {@code restoreData}
 * verified the files they read; the report is written from the control queue.
 */
@ActivityInterface
public interface BacktestActivities {
  /** Infers the schema of every file restored for {@code runId} and holds them against {@code contract}. */
  ContractCheck checkContract(String runId, ModelContract contract);

  /**
   * The schemas of the data restored for {@code runId}, as a contract without thresholds: for a version
   * registered before contracts existed, read from its own (verified) original snapshot.
   */
  ModelContract inferContract(String runId);

  /** Writes the report once, {@code backtests/<backtestId>.json}, and returns its URI; an identical retry is a no-op. */
  String writeBacktestReport(BacktestReport report);

  /** Writes a downstream backtest's summary once, {@code backtests/<id>.json}; an identical retry is a no-op. */
  String writeDownstreamReport(dev.timemachine.core.report.DownstreamReport report);
}
