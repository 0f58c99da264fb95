package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.report.BacktestOutcome;
import java.util.List;

/** Output of {@link BacktestWorkflow}: the outcome, why, missed thresholds, and where the report is. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record BacktestResult(
    String backtestId, BacktestOutcome outcome, String reason, List<String> missedThresholds, String reportUri) {
  public BacktestResult {
    missedThresholds = missedThresholds == null ? List.of() : List.copyOf(missedThresholds);
  }
}
