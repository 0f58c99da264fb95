package dev.timemachine.domain;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the original training run produced: every artifact's path and hash, the metrics it reported
 * (read from {@code metricsFile} in its output directory), and per-metric tolerances.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record RecordedOutputs(
    List<FileEntry> artifacts, String metricsFile, Map<String, Double> metrics, Map<String, Tolerance> tolerances) {
  public static final String DEFAULT_METRICS_FILE = "metrics.json";

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
  }

  public Tolerance toleranceFor(String metric) {
    return tolerances.getOrDefault(metric, Tolerance.EXACT);
  }
}
