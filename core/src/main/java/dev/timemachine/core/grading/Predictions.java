package dev.timemachine.core.grading;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.core.grading.Explanation.Functional;
import dev.timemachine.core.json.Json;

/**
 * Compares the predictions a user's probe entry point wrote for the recorded and for the rebuilt model
 * ({@code predictions.json}): {@code {"labels": [...], "probabilities": [[...], ...]}} for a classifier
 * (probabilities optional), {@code {"predictions": [numbers]}} for a regressor. Pure.
 */
public final class Predictions {
  private Predictions() {}

  public static Functional compare(String artifact, String probeSet, byte[] original, byte[] rebuilt, double tolerance) {
    JsonNode a;
    JsonNode b;
    try {
      a = Json.mapper().readTree(original);
      b = Json.mapper().readTree(rebuilt);
    } catch (java.io.IOException | RuntimeException e) {
      return Functional.unavailable(artifact, probeSet, "predictions.json is not JSON: " + e.getMessage());
    }
    if (a.has("labels") && b.has("labels")) {
      JsonNode la = a.get("labels");
      JsonNode lb = b.get("labels");
      if (!la.isArray() || la.size() != lb.size() || la.isEmpty()) {
        return Functional.unavailable(artifact, probeSet, "the two probes wrote " + la.size() + " and " + lb.size() + " labels");
      }
      int same = 0;
      for (int i = 0; i < la.size(); i++) {
        same += la.get(i).equals(lb.get(i)) ? 1 : 0;
      }
      Double maxP = null;
      if (a.has("probabilities") && b.has("probabilities")) {
        maxP = maxAbs(a.get("probabilities"), b.get("probabilities"));
        if (maxP == null) {
          return Functional.unavailable(artifact, probeSet, "the two probes wrote probabilities of different shapes");
        }
      }
      double agreement = (double) same / la.size();
      boolean identical = same == la.size() && (maxP == null || maxP <= tolerance);
      return new Functional(artifact, probeSet, la.size(), "classifier", agreement, maxP, null, null, tolerance, identical,
          null, null);
    }
    if (a.has("predictions") && b.has("predictions")) {
      JsonNode pa = a.get("predictions");
      JsonNode pb = b.get("predictions");
      if (!pa.isArray() || pa.size() != pb.size() || pa.isEmpty()) {
        return Functional.unavailable(artifact, probeSet, "the two probes wrote " + pa.size() + " and " + pb.size() + " predictions");
      }
      double maxAbs = 0;
      double maxRel = 0;
      for (int i = 0; i < pa.size(); i++) {
        double x = pa.get(i).asDouble();
        double y = pb.get(i).asDouble();
        double d = Math.abs(x - y);
        maxAbs = Math.max(maxAbs, d);
        double denom = Math.max(Math.abs(x), Math.abs(y));
        maxRel = Math.max(maxRel, denom > 0 ? d / denom : 0);
      }
      return new Functional(artifact, probeSet, pa.size(), "regressor", null, null, maxAbs, maxRel, tolerance,
          maxAbs <= tolerance, null, null);
    }
    return Functional.unavailable(artifact, probeSet,
        "predictions.json must hold \"labels\" (and optionally \"probabilities\") or \"predictions\"");
  }

  /** The largest absolute difference of two equally shaped arrays of numbers (nested once at most), or null. */
  private static Double maxAbs(JsonNode a, JsonNode b) {
    if (!a.isArray() || !b.isArray() || a.size() != b.size()) {
      return null;
    }
    double max = 0;
    for (int i = 0; i < a.size(); i++) {
      JsonNode x = a.get(i);
      JsonNode y = b.get(i);
      if (x.isArray()) {
        Double inner = maxAbs(x, y);
        if (inner == null) {
          return null;
        }
        max = Math.max(max, inner);
      } else {
        max = Math.max(max, Math.abs(x.asDouble() - y.asDouble()));
      }
    }
    return max;
  }
}
