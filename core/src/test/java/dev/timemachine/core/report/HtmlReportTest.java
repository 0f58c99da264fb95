package dev.timemachine.core.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.json.Json;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class HtmlReportTest {
  static final String IMG = "<img src=x onerror=alert(1)>";
  static final String SCRIPT = "<script>alert(1)</script>";

  /** A report whose metric, artifact, reason and log line are hostile HTML. */
  static ReplayReport hostile() {
    String json = """
        {"schema":"timemachine.replay-report/v2","replayId":"replay-churn-1-20261202T000000-deadbeef","modelSpec":"churn@1",
         "model":{"name":"churn","version":"1"},"verdict":"DIVERGED","verdictReason":"metric %1$s is outside its tolerance",
         "triplet":{"code":{"repositoryUrl":"file:///repo","commit":"973f22616e8601525f812eb11f042edfe3d17353",
           "entryPoint":["python3","train.py"],"workingDirectory":"."},
           "environment":{"image":"127.0.0.1:5000/churn-env@sha256:3b098ea508fbce43ef7162c99a1d08a29e2c13e413a0b968205012966bc68379"},
           "data":{"snapshotUri":"file:///s","rootDigest":"sha256:b3baa173981c8fba3b6120008937a80a523e003caafafe777b8cbdd4512eb275",
             "fileCount":2,"totalBytes":98723}},
         "inputs":{"code":{"state":"VERIFIED"},"environment":{"state":"VERIFIED"},"data":{"state":"VERIFIED"}},
         "evidence":{"code":"HEAD 973f22616e8601525f812eb11f042edfe3d17353"},
         "artifacts":[{"path":"%2$s","recordedSha256":"aa","rebuiltSha256":"bb","identical":false},
                      {"path":"%1$s","recordedSha256":"cc","rebuiltSha256":"cc","identical":true}],
         "metrics":[{"name":"%1$s","recorded":0.885,"rebuilt":0.9,"absDelta":0.015,"relDelta":0.0169,"tolerance":"abs:0.001","within":false},
                    {"name":"%2$s","recorded":1.0,"rebuilt":1.0,"absDelta":0.0,"relDelta":0.0,"tolerance":"exact","within":true}],
         "trainingExitCode":0,"logTail":["%2$s"],"durationsMs":{"train":4427,"total":6758}}
        """.formatted(IMG.replace("\"", "\\\""), SCRIPT);
    return Json.parse(json.getBytes(StandardCharsets.UTF_8), ReplayReport.class, "the hostile report");
  }

  @Test
  void hostile_names_are_escaped_as_text_and_no_element_is_created() {
    String page = HtmlReport.render(hostile(), HtmlReport.Signature.unsigned(), "timemachine verify x", "file:///r.json");

    assertThat(page).as("no element from the report's values")
        .doesNotContain("<img").doesNotContain("<script").doesNotContain("onerror=alert(1)>");
    // mustache.java escapes = too: &#61;.
    assertThat(page).contains("&lt;img src&#61;x onerror&#61;alert(1)&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;");
  }

  @Test
  void the_page_is_self_contained_and_carries_the_verdict_triplet_tables_and_signature() {
    String page = HtmlReport.render(hostile(), HtmlReport.Signature.valid("abc123"), "timemachine verify x", "file:///r.json");

    assertThat(page).as("no external asset, no script").doesNotContain("src=\"http", "href=\"http", "<link", "<script");
    assertThat(page).contains("DIVERGED", HtmlReport.meaning(dev.timemachine.core.grading.Verdict.DIVERGED),
        "973f22616e8601525f812eb11f042edfe3d17353",
        "sha256:3b098ea508fbce43ef7162c99a1d08a29e2c13e413a0b968205012966bc68379",
        "sha256:b3baa173981c8fba3b6120008937a80a523e003caafafe777b8cbdd4512eb275",
        "abs:0.001", "0.885", "1.500e-02", "signed by abc123, signature valid", "timemachine verify x", "4,427 ms");
  }

  @Test
  void a_report_without_triplet_or_tables_still_renders() {
    ReplayReport bare = Json.parse("""
        {"schema":"timemachine.replay-report/v2","replayId":"r","modelSpec":"nope@1","verdict":"ERROR",
         "error":{"step":"resolve","service":"model registry","type":"UNAVAILABLE","message":"refused"}}
        """.getBytes(StandardCharsets.UTF_8), ReplayReport.class, "bare");
    String page = HtmlReport.render(bare, HtmlReport.Signature.missing("file:///x.intoto.json"), "v", "f");
    assertThat(page).contains("ERROR", "model registry", "no artifacts compared", "no metrics compared", "no attestation at");
  }
}
