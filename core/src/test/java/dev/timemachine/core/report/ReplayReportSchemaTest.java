package dev.timemachine.core.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.model.InputResult;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ReplayReportSchemaTest {
  @Test
  void a_v1_report_with_status_strings_still_reads() {
    String v1 = """
        {"schema":"timemachine.replay-report/v1","replayId":"r1","modelSpec":"churn@1","verdict":"INPUTS_UNVERIFIABLE",
         "verdictReason":"data: data file 'customers.csv' sha256 is 00",
         "inputs":{"code":"VERIFIED","environment":"NOT_CHECKED","data":"data file 'customers.csv' sha256 is 00"},
         "startedAt":"2026-11-01T00:00:00Z","durationsMs":{"total":5}}
        """;
    ReplayReport report = Json.parse(v1.getBytes(StandardCharsets.UTF_8), ReplayReport.class, "v1 report");

    assertThat(report.schema()).isEqualTo(ReplayReport.SCHEMA_V1);
    assertThat(report.inputs().code()).isEqualTo(InputResult.verified(InputKind.CODE));
    assertThat(report.inputs().environment()).isEqualTo(InputResult.notChecked(InputKind.ENVIRONMENT, null));
    assertThat(report.inputs().data())
        .isEqualTo(InputResult.unverifiable(InputKind.DATA, "data file 'customers.csv' sha256 is 00"));
    assertThat(report.error()).isNull();
  }

  @Test
  void a_v2_report_writes_typed_inputs_and_its_error_and_reads_back_the_same() {
    ReplayReport report =
        new ReplayReport(ReplayReport.SCHEMA, "r2", "churn@1", null, Verdict.ERROR, "image registry down", null,
            new ReplayReport.Inputs(
                InputResult.verified(InputKind.CODE),
                InputResult.notChecked(InputKind.ENVIRONMENT, "image registry 127.0.0.1:5055 failed: refused"),
                InputResult.verified(InputKind.DATA)),
            Map.of(), List.of(), List.of(), null, List.of(), null, null, null, Instant.parse("2026-11-01T00:00:00Z"),
            Instant.parse("2026-11-01T00:01:00Z"), Map.of("total", 60000L),
            new ReplayReport.Failure("environment", "image registry 127.0.0.1:5055", "UNAVAILABLE", "refused"));
    String json = new String(Json.toBytes(report), StandardCharsets.UTF_8);
    String compact = json.replaceAll("\\s*([:{,])\\s*", "$1");

    assertThat(compact).contains("\"schema\":\"timemachine.replay-report/v3\"")
        .contains("\"environment\":{\"kind\":\"ENVIRONMENT\",\"state\":\"NOT_CHECKED\"")
        .contains("\"service\":\"image registry 127.0.0.1:5055\"");
    assertThat(Json.parse(json.getBytes(StandardCharsets.UTF_8), ReplayReport.class, "v2 report")).isEqualTo(report);
  }
}
