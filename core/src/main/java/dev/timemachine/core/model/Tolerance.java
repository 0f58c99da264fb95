package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * How far a rebuilt metric may drift from the recorded one. With neither bound set the comparison is
 * exact. With one or both set, a value is within tolerance when {@code |rebuilt - recorded| <=
 * max(absolute, relative * |recorded|)}, the rule of Python's {@code math.isclose}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Tolerance(Double absolute, Double relative) {
  public static final Tolerance EXACT = new Tolerance(null, null);

  public Tolerance {
    // Infinity would accept any value (and NaN none): a tolerance is a finite bound or none.
    if (absolute != null && !(absolute >= 0 && Double.isFinite(absolute))) {
      throw TimemachineException.invalidInput("absolute tolerance must be a finite number >= 0, got " + absolute);
    }
    if (relative != null && !(relative >= 0 && Double.isFinite(relative))) {
      throw TimemachineException.invalidInput("relative tolerance must be a finite number >= 0, got " + relative);
    }
  }

  /**
   * Parses {@code abs:0.01}, {@code rel:0.001}, {@code abs:0.01,rel:0.001} or {@code exact}.
   */
  public static Tolerance parse(String text) {
    if (text == null || text.isBlank() || text.equals("exact")) {
      return EXACT;
    }
    Double abs = null;
    Double rel = null;
    for (String part : text.split(",")) {
      String[] kv = part.trim().split(":", 2);
      if (kv.length != 2) {
        throw TimemachineException.invalidInput("tolerance '" + text + "': expected abs:<number> and/or rel:<number>");
      }
      double value;
      try {
        value = Double.parseDouble(kv[1]);
      } catch (NumberFormatException e) {
        throw TimemachineException.invalidInput("tolerance '" + text + "': '" + kv[1] + "' is not a number");
      }
      String bound = kv[0].trim();
      if (("abs".equals(bound) && abs != null) || ("rel".equals(bound) && rel != null)) {
        throw TimemachineException.invalidInput("tolerance '" + text + "': " + bound + " is given twice");
      }
      switch (bound) {
        case "abs" -> abs = value;
        case "rel" -> rel = value;
        default -> throw TimemachineException.invalidInput(
            "tolerance '" + text + "': unknown bound '" + kv[0] + "' (use abs or rel)");
      }
    }
    return new Tolerance(abs, rel);
  }

  @JsonIgnore
  public boolean isExact() {
    return absolute == null && relative == null;
  }

  public boolean within(double recorded, double rebuilt) {
    if (Double.isNaN(recorded) || Double.isNaN(rebuilt)) {
      return false;
    }
    if (isExact()) {
      return Double.compare(recorded, rebuilt) == 0 || recorded == rebuilt;
    }
    double allowed = Math.max(absolute == null ? 0 : absolute, relative == null ? 0 : relative * Math.abs(recorded));
    return Math.abs(rebuilt - recorded) <= allowed;
  }

  @Override
  public String toString() {
    if (isExact()) {
      return "exact";
    }
    StringBuilder s = new StringBuilder();
    if (absolute != null) {
      s.append("abs:").append(absolute);
    }
    if (relative != null) {
      s.append(s.length() > 0 ? "," : "").append("rel:").append(relative);
    }
    return s.toString();
  }
}
