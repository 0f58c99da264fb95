package dev.timemachine.core.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.json.Json;
import org.junit.jupiter.api.Test;

class BacktestReportTest {
  @Test
  void a_report_written_before_lineage_reads_with_no_upstream_artifacts() {
    String v1 = "{\"schema\":\"timemachine.backtest-report/v1\",\"backtestId\":\"b\",\"modelSpec\":\"churn@1\","
        + "\"outcome\":\"BACKTEST_COMPLETED\",\"reason\":\"r\",\"against\":[],\"thresholds\":[],\"runs\":[]}";
    BacktestReport report = Json.parse(v1.getBytes(java.nio.charset.StandardCharsets.UTF_8), BacktestReport.class, "v1");
    assertThat(report.upstream()).isEmpty();
    assertThat(Json.toString(report)).as("and writes none back").doesNotContain("upstream");
  }
}
