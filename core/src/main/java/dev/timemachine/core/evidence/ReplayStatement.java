package dev.timemachine.core.evidence;

import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

/**
 * The in-toto Statement v1 about one replay, built from the report's exact stored bytes.
 *
 * <p>Subjects: every recorded artifact of the model version (its recorded name and sha256), every
 * rebuilt artifact and the training log as kept in the store ({@code replays/<id>/...}), and the report
 * itself ({@code reports/<id>.json}). The predicate ({@link #PREDICATE_TYPE}) is a superset of a SLSA
 * Verification Summary v1: {@code verifier}, {@code timeVerified}, {@code resourceUri}, {@code policy},
 * {@code verificationResult}, {@code verifiedLevels}, plus the verdict, the triplet with each input's
 * check, every artifact and metric comparison, the Temporal workflow and run, and the training.
 *
 * <p>Every predicate field that repeats the report is listed in {@link #COVERED}, so a verifier can
 * compare each one with the stored report and name the first that differs.
 */
public final class ReplayStatement {
  public static final String STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
  public static final String PREDICATE_TYPE = "https://timemachine.dev/replay/v1";
  public static final String VERIFIER_ID = "https://timemachine.dev/verifier/timemachine";
  public static final String POLICY_URI = "https://timemachine.dev/policy/grading/v1";

  /** Which predicate field (JSON pointer) repeats which report field: what "matches the report" means. */
  public static final List<Covered> COVERED =
      List.of(
          new Covered("/replayId", "/replayId"),
          new Covered("/resourceUri", "/modelSpec"),
          new Covered("/model", "/model"),
          new Covered("/timeVerified", "/finishedAt"),
          new Covered("/startedAt", "/startedAt"),
          new Covered("/verdict", "/verdict"),
          new Covered("/verdictReason", "/verdictReason"),
          new Covered("/triplet/code/ref", "/triplet/code"),
          new Covered("/triplet/code/check", "/inputs/code"),
          new Covered("/triplet/code/evidence", "/evidence/code"),
          new Covered("/triplet/environment/ref", "/triplet/environment"),
          new Covered("/triplet/environment/check", "/inputs/environment"),
          new Covered("/triplet/environment/evidence", "/evidence/environment"),
          new Covered("/triplet/data/ref", "/triplet/data"),
          new Covered("/triplet/data/check", "/inputs/data"),
          new Covered("/triplet/data/evidence", "/evidence/data"),
          new Covered("/artifacts", "/artifacts"),
          new Covered("/metrics", "/metrics"),
          new Covered("/training/exitCode", "/trainingExitCode"),
          new Covered("/training/log", "/log"),
          new Covered("/rebuiltOutputsUri", "/rebuiltOutputsUri"),
          new Covered("/reportSchema", "/schema"));

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final Set<String> PASSED_VERDICTS = Set.of("REPRODUCED_BITWISE", "REPRODUCED_WITHIN_TOLERANCE");

  private ReplayStatement() {}

  /** A predicate field and the report field it repeats, as JSON pointers. */
  public record Covered(String predicatePointer, String reportPointer) {}

  /**
   * Who verified, and in which Temporal execution.
   *
   * @param version timemachine's version
   * @param workerBuildId the sha256 of the worker's jar (or {@code dev:<what>} when not run from a jar)
   * @param signed false when the worker ran with {@code --unsigned}; the statement then says so
   */
  public record Context(String version, String workerBuildId, String workflowId, String runId, boolean signed) {}

  /** The store keys of a replay's evidence. */
  public static String reportKey(String replayId) {
    return "reports/" + replayId + ".json";
  }

  public static String attestationKey(String replayId) {
    return "reports/" + replayId + ".intoto.json";
  }

  public static String rebuiltKey(String replayId, String artifactPath) {
    return "replays/" + replayId + "/outputs/" + artifactPath;
  }

  public static String logKey(String replayId) {
    return "replays/" + replayId + "/training.log";
  }

  /** The statement's JSON bytes (the DSSE payload). */
  public static byte[] build(byte[] reportBytes, Context context) {
    return Json.toBytes(statement(reportBytes, context));
  }

  public static ObjectNode statement(byte[] reportBytes, Context context) {
    JsonNode report = tree(reportBytes, "the report");
    String replayId = report.path("replayId").asText();
    ObjectNode statement = NODES.objectNode();
    statement.put("_type", STATEMENT_TYPE);
    statement.set("subject", subjects(report, reportBytes));
    statement.put("predicateType", PREDICATE_TYPE);

    ObjectNode p = NODES.objectNode();
    ObjectNode verifier = p.putObject("verifier");
    verifier.put("id", VERIFIER_ID);
    verifier.put("version", context.version());
    verifier.put("workerBuildId", context.workerBuildId());
    verifier.put("signed", context.signed());
    p.set("policy", policy(report));
    p.put("verificationResult", verificationResult(report));
    p.set("verifiedLevels", verifiedLevels(report));
    ObjectNode workflow = p.putObject("workflow");
    workflow.put("workflowId", context.workflowId());
    workflow.put("runId", context.runId());
    ObjectNode reportRef = p.putObject("report");
    reportRef.put("key", reportKey(replayId));
    reportRef.putObject("digest").put("sha256", Digests.sha256Hex(reportBytes));
    for (Covered c : COVERED) {
      JsonNode value = report.at(c.reportPointer());
      if (!value.isMissingNode()) {
        put(p, c.predicatePointer(), value.deepCopy());
      }
    }
    statement.set("predicate", p);
    return statement;
  }

  /** PASSED for a reproduced verdict, FAILED for every other: the SLSA VSA field. */
  public static String verificationResult(JsonNode report) {
    return PASSED_VERDICTS.contains(report.path("verdict").asText()) ? "PASSED" : "FAILED";
  }

  /** The levels this replay reached: inputs verified, and reproduced bitwise or within tolerance. */
  public static ArrayNode verifiedLevels(JsonNode report) {
    ArrayNode levels = NODES.arrayNode();
    JsonNode inputs = report.path("inputs");
    if ("VERIFIED".equals(inputs.path("code").asText()) && "VERIFIED".equals(inputs.path("environment").asText())
        && "VERIFIED".equals(inputs.path("data").asText())) {
      levels.add("TIMEMACHINE_INPUTS_VERIFIED");
    }
    String verdict = report.path("verdict").asText();
    if (PASSED_VERDICTS.contains(verdict)) {
      levels.add("TIMEMACHINE_" + verdict);
    }
    return levels;
  }

  /**
   * The grading policy this replay was judged by: the rules (the one in README's Verdicts) and every
   * metric's tolerance, with its sha256 over the document's JSON bytes ({@link Json#toBytes}).
   */
  public static ObjectNode policy(JsonNode report) {
    ObjectNode document = NODES.objectNode();
    document.put("grading", "timemachine.grading/v1");
    document.put("artifacts", "an artifact is identical when its rebuilt sha256 equals the recorded sha256");
    document.put("metrics", "a metric is within tolerance when |rebuilt - recorded| <= max(abs, rel * |recorded|); default exact");
    ObjectNode tolerances = document.putObject("tolerances");
    for (JsonNode metric : report.path("metrics")) {
      tolerances.put(metric.path("name").asText(), metric.path("tolerance").asText());
    }
    ObjectNode policy = NODES.objectNode();
    policy.put("uri", POLICY_URI);
    policy.putObject("digest").put("sha256", Digests.sha256Hex(Json.toBytes(document)));
    policy.set("document", document);
    return policy;
  }

  static ArrayNode subjects(JsonNode report, byte[] reportBytes) {
    String replayId = report.path("replayId").asText();
    ArrayNode subjects = NODES.arrayNode();
    for (JsonNode artifact : report.path("artifacts")) {
      subject(subjects, artifact.path("path").asText(), artifact.path("recordedSha256").asText());
    }
    for (JsonNode artifact : report.path("artifacts")) {
      if (artifact.hasNonNull("rebuiltSha256")) {
        subject(subjects, rebuiltKey(replayId, artifact.path("path").asText()), artifact.path("rebuiltSha256").asText());
      }
    }
    if (report.path("log").hasNonNull("sha256")) {
      subject(subjects, logKey(replayId), report.path("log").path("sha256").asText());
    }
    subject(subjects, reportKey(replayId), Digests.sha256Hex(reportBytes));
    return subjects;
  }

  private static void subject(ArrayNode subjects, String name, String sha256) {
    ObjectNode s = subjects.addObject();
    s.put("name", name);
    s.putObject("digest").put("sha256", sha256);
  }

  private static void put(ObjectNode root, String pointer, JsonNode value) {
    JsonPointer ptr = JsonPointer.compile(pointer);
    ObjectNode parent = root;
    while (!ptr.tail().matches()) {
      String name = ptr.getMatchingProperty();
      parent = parent.has(name) ? (ObjectNode) parent.get(name) : parent.putObject(name);
      ptr = ptr.tail();
    }
    parent.set(ptr.getMatchingProperty(), value);
  }

  static JsonNode tree(byte[] bytes, String what) {
    try {
      JsonNode node = Json.mapper().readTree(bytes);
      if (node == null || !node.isObject()) {
        throw TimemachineException.invalidInput(what + " is not a JSON object");
      }
      return node;
    } catch (IOException e) {
      throw TimemachineException.invalidInput(
          what + " is not valid JSON: " + new String(e.getMessage().getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8).lines().findFirst().orElse(""));
    }
  }
}
