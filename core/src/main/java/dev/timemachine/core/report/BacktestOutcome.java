package dev.timemachine.core.report;

/** How a backtest of an old model version on new data ended. */
public enum BacktestOutcome {
  /** Every model was retrained on the new data; the report has the metric table and the threshold results. */
  BACKTEST_COMPLETED(0),
  /** The new data breaks the old version's contract; no container was started. The report names each difference. */
  CONTRACT_VIOLATED(5),
  /** A model's entry point failed on the new data (exit code, log tail and stored log in the report). */
  TRAINING_FAILED(1),
  /** The old code or image, or the new snapshot, is missing or does not match its hash; no container was started. */
  INPUTS_UNVERIFIABLE(3);

  private final int exitCode;

  BacktestOutcome(int exitCode) {
    this.exitCode = exitCode;
  }

  /** The CLI exit code; a completed backtest whose model misses a threshold exits 1 instead (see the report). */
  public int exitCode() {
    return exitCode;
  }
}
