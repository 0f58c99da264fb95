package dev.timemachine.core.grading;

import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.model.Tolerance;
import dev.timemachine.core.model.TrainingResult;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The comparison of a successful rebuild with the record, and the verdict it earns. Pure: no I/O, so
 * it runs the same in an activity, a test or an auditor's notebook.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Comparison(
    List<ArtifactComparison> artifacts, List<MetricComparison> metrics, Verdict verdict, String reason) {

  public static Comparison of(RecordedOutputs recorded, TrainingResult rebuilt) {
    Map<String, String> rebuiltHashes =
        rebuilt.outputs().stream().collect(Collectors.toMap(FileEntry::path, FileEntry::sha256, (a, b) -> a));
    List<ArtifactComparison> artifacts = new ArrayList<>();
    int differing = 0;
    List<String> missing = new ArrayList<>();
    for (FileEntry artifact : recorded.artifacts()) {
      String hash = rebuiltHashes.get(artifact.path());
      boolean identical = artifact.sha256().equals(hash);
      artifacts.add(new ArtifactComparison(artifact.path(), artifact.sha256(), hash, identical));
      if (hash == null) {
        missing.add(artifact.path());
      } else if (!identical) {
        differing++;
      }
    }

    List<MetricComparison> metrics = new ArrayList<>();
    List<String> outside = new ArrayList<>();
    for (Map.Entry<String, Double> entry : recorded.metrics().entrySet()) {
      String name = entry.getKey();
      double was = entry.getValue();
      Double now = rebuilt.metrics().get(name);
      Tolerance tolerance = recorded.toleranceFor(name);
      Double abs = now == null ? null : Math.abs(now - was);
      Double rel = abs == null || was == 0 ? null : abs / Math.abs(was);
      boolean within = now != null && tolerance.within(was, now);
      metrics.add(new MetricComparison(name, was, now, abs, rel, tolerance.toString(), within));
      if (!within) {
        outside.add(now == null ? name + " (not reported)" : name + " (" + was + " -> " + now + ", " + tolerance + ")");
      }
    }

    Verdict verdict;
    String reason;
    if (missing.isEmpty() && differing == 0) {
      verdict = Verdict.REPRODUCED_BITWISE;
      reason = "all " + artifacts.size() + " artifacts are byte-for-byte identical";
    } else if (!missing.isEmpty()) {
      verdict = Verdict.DIVERGED;
      reason = "recorded artifacts were not rebuilt: " + String.join(", ", missing);
    } else if (recorded.metrics().isEmpty()) {
      verdict = Verdict.DIVERGED;
      reason = differing + " artifact(s) differ and no metrics were recorded to judge them by";
    } else if (outside.isEmpty()) {
      verdict = Verdict.REPRODUCED_WITHIN_TOLERANCE;
      reason = differing + " artifact(s) differ; all " + metrics.size() + " metrics are within tolerance";
    } else {
      verdict = Verdict.DIVERGED;
      reason = differing + " artifact(s) differ; metrics outside tolerance: " + String.join("; ", outside);
    }
    if (rebuilt.metricsProblem() != null && verdict != Verdict.REPRODUCED_BITWISE) {
      reason = reason + " (" + rebuilt.metricsProblem() + ")";
    }
    if (rebuilt.outputsProblem() != null && verdict != Verdict.REPRODUCED_BITWISE) {
      reason = reason + " (" + rebuilt.outputsProblem() + ")";
    }
    if (!rebuilt.refusedOutputs().isEmpty()) {
      // Whatever the verdict: an output that tried to leave the sandbox is worth an auditor's attention.
      reason = reason + " (outputs refused or altered: " + String.join("; ", rebuilt.refusedOutputs()) + ")";
    }
    return new Comparison(List.copyOf(artifacts), List.copyOf(metrics), verdict, reason);
  }

}
