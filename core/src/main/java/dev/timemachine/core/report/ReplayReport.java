package dev.timemachine.core.report;

import dev.timemachine.core.grading.ArtifactComparison;
import dev.timemachine.core.grading.MetricComparison;
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
 * readable.
 *
 * @param modelSpec the model as the replay was asked for, e.g. {@code churn@3} or {@code mlflow:churn@champion}
 * @param inputs for each of {@code code}, {@code environment}, {@code data}: {@code VERIFIED}, the
 *     reason it could not be verified, or {@code NOT_CHECKED}
 * @param evidence for each verified input, what was checked (HEAD commit, image id, root digest)
 * @param log the whole training log as stored, with its sha256; null if no training ran
 * @param durationsMs wall-clock milliseconds per step: resolve, code, environment, data, materialize,
 *     train, compare, total
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonPropertyOrder({"schema", "replayId", "modelSpec", "model", "verdict", "verdictReason", "triplet", "inputs", "evidence",
    "artifacts", "metrics", "trainingExitCode", "logTail", "log", "limits", "rebuiltOutputsUri", "startedAt", "finishedAt",
    "durationsMs"})
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
    Map<String, Long> durationsMs) {
  public static final String SCHEMA = "timemachine.replay-report/v1";
  public static final String VERIFIED = "VERIFIED";
  public static final String NOT_CHECKED = "NOT_CHECKED";

  /** The verification status of the three inputs. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonPropertyOrder({"code", "environment", "data"})
  public record Inputs(String code, String environment, String data) {
    public boolean allVerified() {
      return VERIFIED.equals(code) && VERIFIED.equals(environment) && VERIFIED.equals(data);
    }
  }
}
