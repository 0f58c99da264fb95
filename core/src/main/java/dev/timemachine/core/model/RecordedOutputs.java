package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the original training run produced: every artifact's path (its recorded name) and hash, the
 * metrics it reported (read from the artifact named {@code metricsFile}), per-metric tolerances, and
 * the rules that selected and named the artifacts in its output directory, which a replay applies
 * again ({@link OutputRules}). No rules, as in every manifest written before they existed, means the
 * whole output directory.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record RecordedOutputs(
    List<FileEntry> artifacts,
    String metricsFile,
    Map<String, Double> metrics,
    Map<String, Tolerance> tolerances,
    @JsonInclude(JsonInclude.Include.NON_EMPTY) List<OutputRule> outputRules,
    @JsonInclude(JsonInclude.Include.NON_NULL) ProbeSet probe) {
  public static final String DEFAULT_METRICS_FILE = "metrics.json";

  /**
   * The data a replay predicts on to compare the recorded and the rebuilt model's behaviour when their
   * bytes differ: {@code file} is a path in the version's data snapshot, {@code predictionTolerance}
   * the largest absolute difference of a predicted probability (classifiers; labels must be identical)
   * or value (regressors) that still counts as the same prediction (0: exact). {@code entryPoint}: the
   * user's own probe (argv, run in the recorded image from the code directory) instead of the built-in
   * loader; its contract is in docs/divergence-causes.md ("A probe entry point of your own").
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record ProbeSet(
      String file, double predictionTolerance, @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> entryPoint) {
    /** A probe set predicted on by the built-in loader (pickled scikit-learn estimators). */
    public ProbeSet(String file, double predictionTolerance) {
      this(file, predictionTolerance, null);
    }

    public ProbeSet {
      entryPoint = entryPoint == null || entryPoint.isEmpty() ? null : List.copyOf(entryPoint);
      RelativePaths.require(file, "probe set");
      if (!Double.isFinite(predictionTolerance) || predictionTolerance < 0) {
        throw TimemachineException.invalidInput(
            "the prediction tolerance must be a finite number of at least 0, not " + predictionTolerance);
      }
    }
  }

  /** Outputs with rules and without a probe set, as every manifest before functional comparison. */
  public RecordedOutputs(
      List<FileEntry> artifacts, String metricsFile, Map<String, Double> metrics, Map<String, Tolerance> tolerances,
      List<OutputRule> outputRules) {
    this(artifacts, metricsFile, metrics, tolerances, outputRules, null);
  }

  /** Outputs collected from the whole output directory, without rules. */
  public RecordedOutputs(
      List<FileEntry> artifacts, String metricsFile, Map<String, Double> metrics, Map<String, Tolerance> tolerances) {
    this(artifacts, metricsFile, metrics, tolerances, List.of(), null);
  }

  public RecordedOutputs {
    artifacts = artifacts == null ? List.of() : List.copyOf(artifacts);
    if (artifacts.isEmpty()) {
      throw TimemachineException.invalidInput("recorded outputs must list at least one artifact");
    }
    metricsFile = metricsFile == null || metricsFile.isBlank() ? DEFAULT_METRICS_FILE : metricsFile;
    RelativePaths.require(metricsFile, "metrics file");
    metrics = metrics == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(metrics));
    tolerances = tolerances == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(tolerances));
    for (String name : tolerances.keySet()) {
      if (!metrics.containsKey(name)) {
        throw TimemachineException.invalidInput(
            "a tolerance is given for metric '" + name + "', which was not recorded (recorded: " + metrics.keySet() + ")");
      }
    }
    outputRules = outputRules == null ? List.of() : List.copyOf(outputRules);
  }

  /** The same outputs with {@code probe} as their probe set. */
  public RecordedOutputs withProbe(ProbeSet probe) {
    return new RecordedOutputs(artifacts, metricsFile, metrics, tolerances, outputRules, probe);
  }

  public Tolerance toleranceFor(String metric) {
    return tolerances.getOrDefault(metric, Tolerance.EXACT);
  }
}
