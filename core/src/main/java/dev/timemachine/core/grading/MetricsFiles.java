package dev.timemachine.core.grading;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.core.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads a training run's metrics file: a flat JSON object of numbers, such as {@code {"accuracy":
 * 0.91}}. A problem is returned, not thrown, so that a replay can still be graded (and say why).
 */
public final class MetricsFiles {
  private MetricsFiles() {}

  /** Parsed metrics; {@code problem} is null when the whole file was a flat object of numbers. */
  public record Parsed(Map<String, Double> values, String problem) {}

  public static Parsed read(Path outputDir, String metricsFile) {
    return readFile(outputDir.resolve(metricsFile), metricsFile);
  }

  /** Reads {@code file}, named {@code metricsFile} in messages; a null file is one that was not written. */
  public static Parsed readFile(Path file, String metricsFile) {
    if (file == null || !Files.isRegularFile(file)) {
      return new Parsed(Map.of(), "the metrics file " + metricsFile + " was not written");
    }
    try {
      JsonNode node = Json.mapper().readTree(file.toFile());
      if (node == null || !node.isObject()) {
        return new Parsed(Map.of(), "the metrics file " + metricsFile + " is not a JSON object");
      }
      Map<String, Double> values = new TreeMap<>();
      List<String> skipped = new ArrayList<>();
      node.fields()
          .forEachRemaining(
              e -> {
                if (e.getValue().isNumber()) {
                  values.put(e.getKey(), e.getValue().doubleValue());
                } else {
                  skipped.add(e.getKey());
                }
              });
      return new Parsed(values, skipped.isEmpty() ? null : "non-numeric metrics ignored: " + skipped);
    } catch (IOException e) {
      return new Parsed(Map.of(), "the metrics file " + metricsFile + " is not valid JSON: " + e.getMessage());
    }
  }
}
