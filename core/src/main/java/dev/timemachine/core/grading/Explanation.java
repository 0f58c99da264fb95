package dev.timemachine.core.grading;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;
import java.util.Map;

/**
 * Why a replay's artifacts differ from the record, as the report's {@code explanation} carries it: the
 * causes (stable codes, {@link DivergenceCause}) each with the evidence that supports it, and that
 * evidence in full: a model-aware diff per differing artifact, the functional comparison on the probe
 * set, and the nondeterminism probes. A comparator that failed says so in {@code problems}; it never
 * changes the verdict.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"causes", "artifacts", "functional", "probes", "problems"})
public record Explanation(
    List<Cause> causes, List<ArtifactDiff> artifacts, Functional functional, List<ProbeRun> probes,
    List<String> problems) {
  public Explanation {
    causes = causes == null ? List.of() : List.copyOf(causes);
    artifacts = artifacts == null ? List.of() : List.copyOf(artifacts);
    probes = probes == null ? List.of() : List.copyOf(probes);
    problems = problems == null ? List.of() : List.copyOf(problems);
  }

  public Explanation withCauses(List<Cause> causes) {
    return new Explanation(causes, artifacts, functional, probes, problems);
  }

  public Explanation withProbes(List<ProbeRun> probes) {
    return new Explanation(causes, artifacts, functional, probes, problems);
  }

  public boolean has(DivergenceCause code) {
    return causes.stream().anyMatch(c -> c.code() == code);
  }

  /** One cause and what supports it, in words a person can check. */
  @JsonPropertyOrder({"code", "summary", "evidence"})
  public record Cause(DivergenceCause code, String summary, List<String> evidence) {
    public Cause {
      evidence = evidence == null ? List.of() : List.copyOf(evidence);
    }
  }

  /**
   * A model-aware diff of one differing artifact.
   *
   * @param kind {@code text}, {@code json}, {@code yaml}, {@code csv}, {@code metadata}, {@code sklearn},
   *     {@code tensors}, {@code pickle} or {@code binary}
   * @param metadataOnly whether it differs only in volatile fields (normalised before comparing)
   * @param changedKeys for JSON and YAML-like metadata, the paths of the keys whose values differ
   * @param diff a unified diff, bounded ({@link Explanations#MAX_DIFF_LINES} lines), for text and pickle disassembly
   * @param attributes per fitted attribute or tensor, what differs
   * @param firstDiverging the first attribute or tensor in file order that differs, or null
   * @param problem why the comparator could not say more, or null
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonPropertyOrder({"path", "kind", "metadataOnly", "summary", "changedKeys", "attributes", "firstDiverging", "diff",
      "problem"})
  public record ArtifactDiff(
      String path, String kind, boolean metadataOnly, String summary, List<String> changedKeys,
      List<AttributeDiff> attributes, String firstDiverging, String diff, String problem) {}

  /**
   * One fitted attribute, hyper-parameter or tensor: {@code maxAbs}/{@code maxRel} when numeric and of
   * the same shape, {@code relL2} for tensors, else {@code note} says what differs (shape, dtype, value).
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record AttributeDiff(
      String name, String kind, String shape, Double maxAbs, Double maxRel, Double relL2, String note) {}

  /**
   * The recorded and the rebuilt model, loaded in the recorded image, predicting on the probe set.
   *
   * @param task {@code classifier} or {@code regressor}
   * @param labelAgreement classifiers: the share of rows with the same predicted label
   * @param maxProbabilityDiff classifiers: the largest absolute difference of a predicted probability
   * @param maxAbsDiff regressors: the largest absolute difference of a prediction
   * @param maxRelDiff regressors: the largest relative difference of a prediction
   * @param identical whether the predictions are the same within {@code tolerance}
   * @param problem why no comparison could be made, or null (then the other fields are null)
   * @param by who predicted: {@code built-in loader} or {@code probe entry point <argv>}
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Functional(
      String artifact, String probeSet, Integer rows, String task, Double labelAgreement, Double maxProbabilityDiff,
      Double maxAbsDiff, Double maxRelDiff, Double tolerance, Boolean identical, String problem, String by) {
    public static Functional unavailable(String artifact, String probeSet, String problem) {
      return new Functional(artifact, probeSet, null, null, null, null, null, null, null, null, problem, null);
    }

    /** The same comparison, saying who predicted: the built-in loader or the user's probe entry point. */
    public Functional by(String who) {
      return new Functional(artifact, probeSet, rows, task, labelAgreement, maxProbabilityDiff, maxAbsDiff, maxRelDiff,
          tolerance, identical, problem, who);
    }
  }

  /**
   * One nondeterminism probe: the training run again from the same verified inputs, with one variation
   * of its environment ({@code none} for the plain second training).
   *
   * @param runs how many trainings the probe ran (a variation runs twice when the training is
   *     nondeterministic, to see whether the variation makes it deterministic)
   * @param differingFromOriginal recorded artifacts whose bytes differ from the original's after the first run
   * @param differingBetweenRuns for {@code none}: artifacts that differ from the replay's own rebuild; for a
   *     variation run twice: between its two runs; null when not compared
   * @param metrics the metrics of its first run
   * @param problem why the probe could not run or failed (its exit), or null
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record ProbeRun(
      String variation, int runs, List<String> differingFromOriginal, List<String> differingBetweenRuns,
      Map<String, Double> metrics, String problem) {}
}
