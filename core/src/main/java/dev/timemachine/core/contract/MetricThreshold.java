package dev.timemachine.core.contract;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.errors.TimemachineException;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A bound a metric must meet for a model to be fit for use, e.g. {@code accuracy>=0.85}: recorded at
 * registration ({@code --threshold}) and checked on every backtest's results.
 *
 * @param op one of {@code >=}, {@code >}, {@code <=}, {@code <}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record MetricThreshold(String metric, String op, double value) {
  private static final Pattern FORM = Pattern.compile("\\s*([A-Za-z0-9_.\\-/]+)\\s*(>=|<=|>|<)\\s*(\\S+)\\s*");

  public MetricThreshold {
    if (metric == null || metric.isBlank()) {
      throw TimemachineException.invalidInput("a threshold needs a metric name");
    }
    if (!(">=".equals(op) || ">".equals(op) || "<=".equals(op) || "<".equals(op))) {
      throw TimemachineException.invalidInput("threshold operator '" + op + "' must be one of >=, >, <=, <");
    }
    if (!Double.isFinite(value)) {
      throw TimemachineException.invalidInput("threshold of '" + metric + "' must be a finite number");
    }
  }

  /** Parses {@code METRIC>=X} (or {@code >}, {@code <=}, {@code <}). */
  public static MetricThreshold parse(String text) {
    Matcher m = FORM.matcher(text == null ? "" : text);
    if (!m.matches()) {
      throw TimemachineException.invalidInput("--threshold '" + text + "': expected METRIC>=X, METRIC>X, METRIC<=X or METRIC<X");
    }
    try {
      return new MetricThreshold(m.group(1), m.group(2), Double.parseDouble(m.group(3)));
    } catch (NumberFormatException e) {
      throw TimemachineException.invalidInput("--threshold '" + text + "': '" + m.group(3) + "' is not a number");
    }
  }

  public boolean accepts(double actual) {
    return switch (op) {
      case ">=" -> actual >= value;
      case ">" -> actual > value;
      case "<=" -> actual <= value;
      default -> actual < value;
    };
  }

  /** Why {@code metrics} miss this threshold, e.g. {@code accuracy 0.81 < 0.85}; null when they meet it. */
  public String violation(Map<String, Double> metrics) {
    Double actual = metrics == null ? null : metrics.get(metric);
    if (actual == null) {
      return metric + " not reported (threshold " + this + ")";
    }
    if (accepts(actual)) {
      return null;
    }
    String negated = switch (op) {
      case ">=" -> "<";
      case ">" -> "<=";
      case "<=" -> ">";
      default -> ">=";
    };
    return metric + " " + format(actual) + " " + negated + " " + format(value);
  }

  private static String format(double d) {
    return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf((long) d) : String.valueOf(d);
  }

  @Override
  public String toString() {
    return metric + op + format(value);
  }
}
