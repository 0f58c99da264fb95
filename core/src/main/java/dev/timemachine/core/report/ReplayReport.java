package dev.timemachine.core.report;

import dev.timemachine.core.grading.Explanation;

import dev.timemachine.core.grading.ArtifactComparison;
import dev.timemachine.core.grading.MetricComparison;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.model.InputResult;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.model.TrainingLog;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.core.grading.Verdict;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The immutable evidence of one replay, written once to the object store under its replay id. Its
 * JSON form is versioned by {@link #SCHEMA}; readers ignore unknown fields so old reports stay
 * readable. v2 changed {@code inputs}: each is an object {@code {kind, state, detail}} instead of a status
 * string, and added {@code error}; a v1 report still reads (its strings become {@link InputResult}s).
 *
 * @param modelSpec the model as the replay was asked for, e.g. {@code churn@3} or {@code mlflow:churn@champion}
 * @param inputs for each of {@code code}, {@code environment}, {@code data}: {@code VERIFIED},
 *     {@code UNVERIFIABLE} with the reason, or {@code NOT_CHECKED} (with the reason when a service was down)
 * @param evidence for each verified input, what was checked (HEAD commit, image id, root digest)
 * @param log the whole training log as stored, with its sha256; null if no training ran
 * @param durationsMs wall-clock milliseconds per step: resolve, code, environment, data, materialize,
 *     train, compare, total
 * @param error for verdict {@code ERROR}, which service failed at which step and why; null otherwise
 * @param hosts the task queues of the training hosts the replay was handed to, in order: the last one
 *     ran it (or, for an {@code ERROR} at step {@code host}, did not pick it up either); the others never
 *     picked up a step pinned to them and were abandoned (evidence {@code failover} says which step).
 *     Null in reports of replays started before host failover.
 * @param explanation why the artifacts differ, with the evidence ({@link Explanation}); null when they do
 *     not differ, when no training ran, or in reports before v3. v3 added it and the verdict
 *     {@code REPRODUCED_FUNCTIONALLY}; v2 reports read as they are.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonPropertyOrder({"schema", "replayId", "modelSpec", "model", "verdict", "verdictReason", "triplet", "inputs", "evidence",
    "artifacts", "metrics", "trainingExitCode", "logTail", "log", "limits", "rebuiltOutputsUri", "startedAt", "finishedAt",
    "durationsMs", "error", "hosts", "explanation"})
public record ReplayReport(
    String schema,
    String replayId,
    String modelSpec,
    ModelRef model,
    Verdict verdict,
    String verdictReason,
    Triplet triplet,
    Inputs inputs,
    Map<String, String> evidence,
    List<ArtifactComparison> artifacts,
    List<MetricComparison> metrics,
    Long trainingExitCode,
    List<String> logTail,
    TrainingLog log,
    TrainingLimits limits,
    String rebuiltOutputsUri,
    Instant startedAt,
    Instant finishedAt,
    Map<String, Long> durationsMs,
    Failure error,
    List<String> hosts,
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
        Explanation explanation) {
  public static final String SCHEMA = "timemachine.replay-report/v3";
  public static final String SCHEMA_V2 = "timemachine.replay-report/v2";
  public static final String SCHEMA_V1 = "timemachine.replay-report/v1";
  public static final String VERIFIED = "VERIFIED";
  public static final String NOT_CHECKED = "NOT_CHECKED";

  /** A report without an explanation, as every report before v3. */
  public ReplayReport(
      String schema, String replayId, String modelSpec, ModelRef model, Verdict verdict, String verdictReason,
      Triplet triplet, Inputs inputs, Map<String, String> evidence, List<ArtifactComparison> artifacts,
      List<MetricComparison> metrics, Long trainingExitCode, List<String> logTail, TrainingLog log, TrainingLimits limits,
      String rebuiltOutputsUri, Instant startedAt, Instant finishedAt, Map<String, Long> durationsMs, Failure error,
      List<String> hosts) {
    this(schema, replayId, modelSpec, model, verdict, verdictReason, triplet, inputs, evidence, artifacts, metrics,
        trainingExitCode, logTail, log, limits, rebuiltOutputsUri, startedAt, finishedAt, durationsMs, error, hosts, null);
  }

  /** A report without the hosts it ran on, as reports before host failover are. */
  public ReplayReport(
      String schema, String replayId, String modelSpec, ModelRef model, Verdict verdict, String verdictReason,
      Triplet triplet, Inputs inputs, Map<String, String> evidence, List<ArtifactComparison> artifacts,
      List<MetricComparison> metrics, Long trainingExitCode, List<String> logTail, TrainingLog log, TrainingLimits limits,
      String rebuiltOutputsUri, Instant startedAt, Instant finishedAt, Map<String, Long> durationsMs, Failure error) {
    this(schema, replayId, modelSpec, model, verdict, verdictReason, triplet, inputs, evidence, artifacts, metrics,
        trainingExitCode, logTail, log, limits, rebuiltOutputsUri, startedAt, finishedAt, durationsMs, error,
        (List<String>) null);
  }

  /** A report without an error, as every verdict but {@code ERROR} has. */
  public ReplayReport(
      String schema, String replayId, String modelSpec, ModelRef model, Verdict verdict, String verdictReason,
      Triplet triplet, Inputs inputs, Map<String, String> evidence, List<ArtifactComparison> artifacts,
      List<MetricComparison> metrics, Long trainingExitCode, List<String> logTail, TrainingLog log, TrainingLimits limits,
      String rebuiltOutputsUri, Instant startedAt, Instant finishedAt, Map<String, Long> durationsMs) {
    this(schema, replayId, modelSpec, model, verdict, verdictReason, triplet, inputs, evidence, artifacts, metrics,
        trainingExitCode, logTail, log, limits, rebuiltOutputsUri, startedAt, finishedAt, durationsMs, (Failure) null);
  }

  /** The verification results of the three inputs; each carries its own kind. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonPropertyOrder({"code", "environment", "data"})
  public record Inputs(InputResult code, InputResult environment, InputResult data) {
    public Inputs {
      code = code == null ? null : code.withKind(InputKind.CODE);
      environment = environment == null ? null : environment.withKind(InputKind.ENVIRONMENT);
      data = data == null ? null : data.withKind(InputKind.DATA);
    }

    /** From v1 status strings: {@code VERIFIED}, {@code NOT_CHECKED}, or the reason. */
    public Inputs(String code, String environment, String data) {
      this(InputResult.fromV1(code), InputResult.fromV1(environment), InputResult.fromV1(data));
    }

    public static Inputs notChecked() {
      return new Inputs(
          InputResult.notChecked(InputKind.CODE, null),
          InputResult.notChecked(InputKind.ENVIRONMENT, null),
          InputResult.notChecked(InputKind.DATA, null));
    }

    public boolean allVerified() {
      return code != null && code.verified() && environment != null && environment.verified()
          && data != null && data.verified();
    }
  }

  /**
   * Why a replay ended without a verdict.
   *
   * @param step the replay step that failed: resolve, host, code, environment, data, train, compare (host: no
   *     training host answered, or none of the hosts tried picked up its work)
   * @param service what was down, e.g. {@code image registry 127.0.0.1:5055} or {@code object store s3://bucket}
   * @param type the error type of the last failure ({@code UNAVAILABLE}, ...), or {@code TIMEOUT}
   * @param message the last failure's message, one line
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonPropertyOrder({"step", "service", "type", "message"})
  public record Failure(String step, String service, String type, String message) {}
}
