package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.timemachine.core.report.BacktestOutcome;
import dev.timemachine.core.report.BacktestReport;
import java.util.List;

/**
 * Output of {@link BacktestWorkflow}: the outcome, why, missed thresholds, where the report is, and its
 * metric table (null in histories from before a downstream backtest tabulated it).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record BacktestResult(
    String backtestId, BacktestOutcome outcome, String reason, List<String> missedThresholds, String reportUri,
    @JsonInclude(JsonInclude.Include.NON_NULL) BacktestReport.MetricTable metricTable) {
  public BacktestResult {
    missedThresholds = missedThresholds == null ? List.of() : List.copyOf(missedThresholds);
  }

  public BacktestResult(
      String backtestId, BacktestOutcome outcome, String reason, List<String> missedThresholds, String reportUri) {
    this(backtestId, outcome, reason, missedThresholds, reportUri, null);
  }
}
