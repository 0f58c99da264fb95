package dev.timemachine.core.grading;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Tolerances proposed from evidence ({@code timemachine calibrate}): per metric, the largest distance of
 * any of N rebuilds from the recorded value, with a margin, rounded up to two significant digits, in
 * the syntax {@code register --tolerance} takes. Nothing is changed; the user decides.
 */
public final class Calibration {
  /** The proposed tolerance is this much wider than the largest distance seen. */
  public static final double MARGIN = 1.5;

  private Calibration() {}

  /** One metric: its recorded value, the values of the rebuilds, and the tolerance proposed. */
  public record Proposal(String metric, double recorded, List<Double> rebuilt, double maxDistance, double absolute) {
    public String option() {
      return "--tolerance " + metric + "=" + (absolute == 0 ? "exact" : "abs:" + plain(absolute));
    }
  }

  public static List<Proposal> propose(Map<String, Double> recorded, List<Map<String, Double>> runs) {
    List<Proposal> out = new ArrayList<>();
    for (Map.Entry<String, Double> metric : recorded.entrySet()) {
      List<Double> values = new ArrayList<>();
      double max = 0;
      for (Map<String, Double> run : runs) {
        Double v = run.get(metric.getKey());
        if (v != null) {
          values.add(v);
          max = Math.max(max, Math.abs(v - metric.getValue()));
        }
      }
      double tolerance = max == 0 ? 0 : roundUp(max * MARGIN);
      out.add(new Proposal(metric.getKey(), metric.getValue(), List.copyOf(values), max, tolerance));
    }
    return out;
  }

  static double roundUp(double x) {
    // Float noise first (0.020000000000000018 * 1.5 is 0.03, not 0.031), then up to two digits.
    return new BigDecimal(x).round(new MathContext(6, RoundingMode.HALF_EVEN)).round(new MathContext(2, RoundingMode.UP))
        .doubleValue();
  }

  static String plain(double x) {
    return new BigDecimal(Double.toString(x)).stripTrailingZeros().toPlainString().toLowerCase(Locale.ROOT);
  }
}
