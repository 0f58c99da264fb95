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
    @JsonInclude(JsonInclude.Include.NON_EMPTY) List<OutputRule> outputRules) {
  public static final String DEFAULT_METRICS_FILE = "metrics.json";

  /** Outputs collected from the whole output directory, without rules. */
  public RecordedOutputs(
      List<FileEntry> artifacts, String metricsFile, Map<String, Double> metrics, Map<String, Tolerance> tolerances) {
    this(artifacts, metricsFile, metrics, tolerances, List.of());
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

  public Tolerance toleranceFor(String metric) {
    return tolerances.getOrDefault(metric, Tolerance.EXACT);
  }
}
