package dev.timemachine.core.report;

import dev.timemachine.core.grading.ArtifactComparison;
import dev.timemachine.core.grading.Explanation;
import dev.timemachine.core.grading.Explanation.ArtifactDiff;
import dev.timemachine.core.grading.Explanation.AttributeDiff;
import dev.timemachine.core.grading.Explanation.Cause;
import dev.timemachine.core.grading.Explanation.ProbeRun;
import dev.timemachine.core.grading.Explanations;
import dev.timemachine.core.grading.MetricComparison;
import java.util.Locale;

/** The account {@code timemachine explain} prints of a replay report: pure, from the stored report alone. */
public final class ExplanationText {
  /** The most attributes listed per artifact; the report holds them all. */
  static final int MAX_ATTRIBUTES_SHOWN = 12;

  private ExplanationText() {}

  public static String render(ReplayReport report) {
    StringBuilder s = new StringBuilder();
    s.append("replay ").append(report.replayId()).append(" of ").append(report.modelSpec()).append('\n');
    s.append("verdict: ").append(report.verdict()).append('\n');
    s.append("reason:  ").append(report.verdictReason()).append('\n');
    long differing = report.artifacts().stream().filter(a -> !a.identical()).count();
    s.append("artifacts: ").append(report.artifacts().size()).append(" recorded, ").append(differing)
        .append(" differ\n");
    for (ArtifactComparison a : report.artifacts()) {
      if (!a.identical()) {
        s.append("  ").append(a.path()).append(": ").append(short12(a.recordedSha256())).append(" -> ")
            .append(a.rebuiltSha256() == null ? "not rebuilt" : short12(a.rebuiltSha256())).append('\n');
      }
    }
    for (MetricComparison m : report.metrics()) {
      s.append(String.format(Locale.ROOT, "metric %s: %s -> %s (%s)%s%n", m.name(), m.recorded(),
          m.rebuilt() == null ? "not reported" : m.rebuilt(), m.tolerance(), m.within() ? "" : "  OUTSIDE TOLERANCE"));
    }
    Explanation e = report.explanation();
    if (e == null) {
      s.append(report.artifacts().stream().allMatch(ArtifactComparison::identical) && !report.artifacts().isEmpty()
          ? "nothing to explain: every artifact came back byte for byte\n"
          : "no explanation in this report (it predates explanations, or no training ran)\n");
      return s.toString();
    }
    s.append("\ncauses (docs/divergence-causes.md):\n");
    if (e.causes().isEmpty()) {
      s.append("  none found\n");
    }
    for (Cause c : e.causes()) {
      s.append("  ").append(c.code()).append(": ").append(c.summary()).append('\n');
      c.evidence().forEach(ev -> s.append("      ").append(ev).append('\n'));
    }
    if (e.functional() != null) {
      s.append("\nbehaviour on the probe set ").append(e.functional().probeSet()).append(" (").append(e.functional().artifact())
          .append(e.functional().by() == null ? "" : ", by the " + e.functional().by())
          .append("): ").append(Explanations.describe(e.functional()))
          .append(Boolean.TRUE.equals(e.functional().identical()) ? " -> same predictions"
              : Boolean.FALSE.equals(e.functional().identical()) ? " -> predictions differ" : "")
          .append('\n');
    }
    for (ArtifactDiff d : e.artifacts()) {
      s.append("\n").append(d.path()).append(" [").append(d.kind()).append("]: ")
          .append(d.summary() == null ? "" : d.summary()).append('\n');
      if (d.problem() != null) {
        s.append("  comparator: ").append(d.problem()).append('\n');
      }
      if (d.firstDiverging() != null) {
        s.append("  first diverging: ").append(d.firstDiverging()).append('\n');
      }
      if (d.changedKeys() != null) {
        s.append("  changed keys: ").append(String.join(", ", d.changedKeys())).append('\n');
      }
      if (d.attributes() != null) {
        d.attributes().stream().limit(MAX_ATTRIBUTES_SHOWN).forEach(a -> s.append("  ").append(attribute(a)).append('\n'));
        if (d.attributes().size() > MAX_ATTRIBUTES_SHOWN) {
          s.append("  ... ").append(d.attributes().size() - MAX_ATTRIBUTES_SHOWN).append(" more in the report\n");
        }
      }
      if (d.diff() != null && !d.diff().isBlank()) {
        d.diff().lines().forEach(line -> s.append("  | ").append(line).append('\n'));
      }
    }
    if (!e.probes().isEmpty()) {
      s.append("\nprobes (trained again from the same verified inputs):\n");
      for (ProbeRun p : e.probes()) {
        s.append("  ").append(p.variation()).append(": ");
        if (p.problem() != null) {
          s.append(p.problem()).append('\n');
          continue;
        }
        s.append(p.runs()).append(" run(s); vs the original: ")
            .append(p.differingFromOriginal() == null || p.differingFromOriginal().isEmpty() ? "identical"
                : "differs in " + String.join(", ", p.differingFromOriginal()));
        if (p.differingBetweenRuns() != null) {
          s.append("; ").append(p.variation().equals("none") ? "vs the first rebuild: " : "between its runs: ")
              .append(p.differingBetweenRuns().isEmpty() ? "identical" : "differs in " + String.join(", ", p.differingBetweenRuns()));
        }
        if (p.metrics() != null && !p.metrics().isEmpty()) {
          s.append("; metrics ").append(p.metrics());
        }
        s.append('\n');
      }
    }
    e.problems().forEach(p -> s.append("problem: ").append(p).append('\n'));
    return s.toString();
  }

  private static String attribute(AttributeDiff a) {
    StringBuilder s = new StringBuilder().append(a.kind() == null ? "" : a.kind() + " ").append(a.name());
    if (a.shape() != null) {
      s.append(" ").append(a.shape());
    }
    if (a.maxAbs() != null) {
      s.append(String.format(Locale.ROOT, ": max abs diff %.3g", a.maxAbs()));
    }
    if (a.maxRel() != null) {
      s.append(String.format(Locale.ROOT, ", max rel diff %.3g", a.maxRel()));
    }
    if (a.relL2() != null) {
      s.append(String.format(Locale.ROOT, ", rel L2 %.3g", a.relL2()));
    }
    if (a.note() != null) {
      s.append(a.maxAbs() != null ? " (" + a.note() + ")" : ": " + a.note());
    }
    return s.toString();
  }

  private static String short12(String sha) {
    return sha == null ? "?" : sha.substring(0, Math.min(12, sha.length()));
  }
}
