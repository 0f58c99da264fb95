package dev.timemachine.core.report;

import dev.timemachine.core.grading.ArtifactComparison;
import dev.timemachine.core.grading.MetricComparison;
import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.json.Json;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.mustachejava.DefaultMustacheFactory;
import com.github.mustachejava.Mustache;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The human form of a {@link ReplayReport}, for an auditor: one self-contained HTML page (inline CSS,
 * no scripts, no external URL) rendered with Mustache from {@code report.html.mustache}. Every value
 * goes through {@code {{ }}}, which escapes HTML, so a metric or file named {@code <script>} is text.
 *
 * <p>It lives in the core because it is a pure function of the report and the signature status the
 * caller found: no store, no clock, no network. The JSON report stays the evidence; this page is a view
 * of it, and says so.
 */
public final class HtmlReport {
  private static final String TEMPLATE = "dev/timemachine/core/report/report.html.mustache";
  private static final Mustache MUSTACHE = new DefaultMustacheFactory().compile(TEMPLATE);

  private HtmlReport() {}

  /**
   * The state of the attestation next to the report, as the caller checked it.
   *
   * @param state {@code VALID}, {@code UNSIGNED}, {@code INVALID} or {@code MISSING}
   * @param text one line for the banner, e.g. {@code signed by <keyid>, signature valid}
   */
  public record Signature(String state, String text) {
    public static Signature valid(String keyid) {
      return new Signature("VALID", "signed by " + keyid + ", signature valid");
    }

    public static Signature unsigned() {
      return new Signature("UNSIGNED", "UNSIGNED: the attestation has no signature (its worker ran with --unsigned)");
    }

    public static Signature invalid(String why) {
      return new Signature("INVALID", "signature INVALID: " + why);
    }

    public static Signature missing(String where) {
      return new Signature("MISSING", "no attestation at " + where);
    }
  }

  /** One sentence per verdict, the README's table. */
  public static String meaning(Verdict verdict) {
    if (verdict == null) {
      return "no verdict recorded";
    }
    return switch (verdict) {
      case REPRODUCED_BITWISE -> "Every recorded artifact came back byte-for-byte identical.";
      case REPRODUCED_FUNCTIONALLY ->
          "Some artifact differs, but the rebuilt model predicts as the recorded one and every metric is within its tolerance.";
      case REPRODUCED_WITHIN_TOLERANCE -> "Some artifact differs, but every recorded metric is within its tolerance.";
      case DIVERGED -> "An artifact is missing, or a metric is outside its tolerance (or artifacts differ and no metrics were recorded).";
      case TRAINING_FAILED -> "The entry point exited non-zero, ran out of memory or timed out; see the exit code and the log tail.";
      case INPUTS_UNVERIFIABLE -> "Code, image or data is missing or does not match its hash; no training was started.";
      case ERROR -> "No verdict: a service stayed unavailable or a step of timemachine failed. This says nothing about the model.";
    };
  }

  /**
   * @param verifyCommand the command an auditor runs to check the evidence, e.g. {@code timemachine verify <id>}
   * @param generatedFrom where the JSON report was read, shown as the source of truth
   */
  public static String render(ReplayReport report, Signature signature, String verifyCommand, String generatedFrom) {
    StringWriter out = new StringWriter();
    MUSTACHE.execute(out, view(report, signature, verifyCommand, generatedFrom));
    return out.toString();
  }

  static Map<String, Object> view(ReplayReport r, Signature signature, String verifyCommand, String generatedFrom) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("replayId", r.replayId());
    v.put("schema", r.schema());
    v.put("modelSpec", r.modelSpec());
    v.put("model", r.model() == null ? "(not resolved)" : r.model().toString());
    v.put("verdict", r.verdict() == null ? "NONE" : r.verdict().name());
    v.put("verdictClass", r.verdict() == null ? "error" : switch (r.verdict()) {
      case REPRODUCED_BITWISE, REPRODUCED_FUNCTIONALLY, REPRODUCED_WITHIN_TOLERANCE -> "ok";
      case DIVERGED, TRAINING_FAILED, INPUTS_UNVERIFIABLE -> "bad";
      case ERROR -> "error";
    });
    v.put("meaning", meaning(r.verdict()));
    v.put("verdictReason", r.verdictReason());

    JsonNode tree = Json.mapper().valueToTree(r);
    JsonNode triplet = tree.path("triplet");
    List<Map<String, Object>> inputs = new ArrayList<>();
    inputs.add(input("code", tree, List.of(
        row("repository", text(triplet.at("/code/repositoryUrl"))),
        row("commit", text(triplet.at("/code/commit"))),
        row("entry point", text(triplet.at("/code/entryPoint"))),
        row("working directory", text(triplet.at("/code/workingDirectory"))))));
    List<Map<String, Object>> env = new ArrayList<>();
    triplet.path("environment").fields().forEachRemaining(e -> env.add(row(e.getKey(), text(e.getValue()))));
    inputs.add(input("environment", tree, env));
    inputs.add(input("data", tree, List.of(
        row("root digest", text(triplet.at("/data/rootDigest"))),
        row("snapshot", text(triplet.at("/data/snapshotUri"))),
        row("files", text(triplet.at("/data/fileCount"))),
        row("bytes", text(triplet.at("/data/totalBytes"))))));
    v.put("inputs", inputs);

    List<Map<String, Object>> artifacts = new ArrayList<>();
    for (ArtifactComparison a : nonNull(r.artifacts())) {
      artifacts.add(Map.of("path", a.path(), "recorded", orDash(a.recordedSha256()),
          "rebuilt", a.rebuiltSha256() == null ? "(not rebuilt)" : a.rebuiltSha256(),
          "identical", a.identical() ? "yes" : "NO", "cls", a.identical() ? "ok" : "bad"));
    }
    v.put("artifacts", artifacts);
    v.put("noArtifacts", artifacts.isEmpty());

    List<Map<String, Object>> metrics = new ArrayList<>();
    for (MetricComparison m : nonNull(r.metrics())) {
      metrics.add(Map.of("name", m.name(), "recorded", exact(m.recorded()), "rebuilt", exact(m.rebuilt()),
          "absDelta", delta(m.absDelta()), "relDelta", delta(m.relDelta()), "tolerance", orDash(m.tolerance()),
          "within", m.within() ? "yes" : "NO", "cls", m.within() ? "ok" : "bad"));
    }
    v.put("metrics", metrics);
    v.put("noMetrics", metrics.isEmpty());

    if (r.explanation() != null) {
      List<Map<String, Object>> causes = new ArrayList<>();
      for (dev.timemachine.core.grading.Explanation.Cause c : r.explanation().causes()) {
        causes.add(Map.of("code", c.code().name(), "summary", orDash(c.summary()), "evidence", String.join("; ", c.evidence())));
      }
      // The whole account as explain prints it: plain text, escaped by the template like every value.
      v.put("explanation", Map.of("causes", causes, "text", ExplanationText.render(r)));
    }
    v.put("exitCode", r.trainingExitCode() == null ? "(no training ran)" : r.trainingExitCode().toString());
    v.put("logTail", String.join("\n", nonNull(r.logTail())));
    v.put("hasLogTail", !nonNull(r.logTail()).isEmpty());
    v.put("log", r.log() == null ? null : Map.of("uri", orDash(r.log().uri()), "sha256", orDash(r.log().sha256())));
    v.put("rebuiltOutputsUri", orDash(r.rebuiltOutputsUri()));

    List<Map<String, Object>> durations = new ArrayList<>();
    if (r.durationsMs() != null) {
      for (String step : List.of("resolve", "code", "environment", "data", "materialize", "train", "compare", "total")) {
        Long ms = r.durationsMs().get(step);
        if (ms != null) {
          durations.add(Map.of("step", step, "ms", String.format(Locale.ROOT, "%,d ms", ms)));
        }
      }
    }
    v.put("durations", durations);
    v.put("startedAt", r.startedAt() == null ? "-" : r.startedAt().toString());
    v.put("finishedAt", r.finishedAt() == null ? "-" : r.finishedAt().toString());
    if (r.error() != null) {
      v.put("error", Map.of("step", orDash(r.error().step()), "service", orDash(r.error().service()),
          "type", orDash(r.error().type()), "message", orDash(r.error().message())));
    }
    v.put("signatureState", signature.state());
    v.put("signatureClass", "VALID".equals(signature.state()) ? "ok" : "bad");
    v.put("signature", signature.text());
    v.put("verifyCommand", verifyCommand);
    v.put("generatedFrom", generatedFrom);
    return v;
  }

  private static Map<String, Object> input(String kind, JsonNode tree, List<Map<String, Object>> rows) {
    JsonNode check = tree.path("inputs").path(kind);
    String state = check.path("state").asText("NOT_CHECKED");
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("kind", kind);
    m.put("state", state);
    m.put("cls", "VERIFIED".equals(state) ? "ok" : "bad");
    m.put("detail", check.path("detail").asText(""));
    m.put("evidence", tree.path("evidence").path(kind).asText(""));
    m.put("rows", rows);
    return m;
  }

  private static Map<String, Object> row(String key, String value) {
    return Map.of("key", key, "value", value);
  }

  private static String text(JsonNode node) {
    if (node == null || node.isMissingNode() || node.isNull()) {
      return "-";
    }
    if (node.isArray()) {
      List<String> parts = new ArrayList<>();
      node.forEach(n -> parts.add(n.asText()));
      return String.join(" ", parts);
    }
    return node.isValueNode() ? node.asText() : node.toString();
  }

  /** The value as recorded, every digit (the shortest decimal that reads back as the same double). */
  private static String exact(Double d) {
    return d == null ? "(not reported)" : Double.toString(d);
  }

  private static String delta(Double d) {
    return d == null ? "-" : d == 0 ? "0" : String.format(Locale.ROOT, "%.3e", d);
  }

  private static String orDash(String s) {
    return s == null ? "-" : s;
  }

  private static <T> List<T> nonNull(List<T> list) {
    return list == null ? List.of() : list;
  }
}
