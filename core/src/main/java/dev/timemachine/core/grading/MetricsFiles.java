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
  /**
   * At most this many metrics: every metric rides in the replay's workflow payloads and its report
   * (Temporal refuses a payload over 2 MB), so a file of 200,000 "metrics" is refused, not recorded.
   */
  public static final int MAX_METRICS = 10_000;

  private MetricsFiles() {}

  /**
   * Parsed metrics; {@code problem} is null when the whole file was a flat object of numbers.
   *
   * @param unreadable the file was not written, or is not a JSON object, so {@code values} is empty
   *     for want of a file rather than of numbers in it
   */
  public record Parsed(Map<String, Double> values, String problem, boolean unreadable) {
    static Parsed unreadable(String problem) {
      return new Parsed(Map.of(), problem, true);
    }
  }

  public static Parsed read(Path outputDir, String metricsFile) {
    return readFile(outputDir.resolve(metricsFile), metricsFile);
  }

  /** Reads {@code file}, named {@code metricsFile} in messages; a null file is one that was not written. */
  public static Parsed readFile(Path file, String metricsFile) {
    if (file == null || !Files.isRegularFile(file)) {
      return Parsed.unreadable("the metrics file " + metricsFile + " was not written");
    }
    try {
      return parse(Files.readAllBytes(file), metricsFile);
    } catch (IOException e) {
      return Parsed.unreadable("the metrics file " + metricsFile + " cannot be read: " + e.getMessage());
    }
  }

  /**
   * Parses the content of a metrics file, named {@code metricsFile} in messages: the one parser of
   * both sides, the metrics recorded with a version (in any registry) and those a replay rebuilt.
   */
  public static Parsed parse(byte[] content, String metricsFile) {
    JsonNode node;
    try {
      // A key given twice is a mistake in the file, not a value to pick silently.
      node = Json.mapper().reader().with(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .readTree(content);
    } catch (IOException e) {
      return Parsed.unreadable("the metrics file " + metricsFile + " is not valid JSON: "
          + e.getMessage().lines().findFirst().orElse(""));
    }
    if (node == null || !node.isObject()) {
      return Parsed.unreadable("the metrics file " + metricsFile + " is not a JSON object");
    }
    if (node.size() > MAX_METRICS) {
      return Parsed.unreadable("the metrics file " + metricsFile + " has " + node.size() + " entries, more than the "
          + MAX_METRICS + " a replay can carry: keep the metrics to grade on in it, and the rest in an artifact");
    }
    Map<String, Double> values = new TreeMap<>();
    List<String> skipped = new ArrayList<>();
    List<String> infinite = new ArrayList<>();
    node.properties()
        .forEach(
            e -> {
              if (!e.getValue().isNumber()) {
                skipped.add(e.getKey());
              } else if (!Double.isFinite(e.getValue().doubleValue())) {
                // 1e400 parses to Infinity: a number no tolerance can compare, never stored as "Infinity".
                infinite.add(e.getKey() + "=" + e.getValue().asText());
              } else {
                values.put(e.getKey(), e.getValue().doubleValue());
              }
            });
    List<String> problems = new ArrayList<>();
    if (!infinite.isEmpty()) {
      problems.add("metrics that are not finite doubles ignored: " + infinite);
    }
    if (!skipped.isEmpty()) {
      problems.add("non-numeric metrics ignored: " + skipped);
    }
    return new Parsed(values, problems.isEmpty() ? null : String.join("; ", problems), false);
  }
}
