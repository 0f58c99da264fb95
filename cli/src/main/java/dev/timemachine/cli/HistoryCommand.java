package dev.timemachine.cli;

import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.core.evidence.HistoryChain;
import dev.timemachine.core.model.ModelRef;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code timemachine history <model>@<version>}: every replay's verdict, and whether the chain holds. */
@Command(name = "history", mixinStandardHelpOptions = true,
    description = {"Shows the verdict history of a model version (date, verdict, metric deltas, replay id) and checks its",
        "hash chain: a deleted, reordered or edited record is named. Exits 0 if the chain is intact, 1 if not."})
public final class HistoryCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "MODEL@VERSION")
  String model;

  @Override
  public Integer call() {
    ModelRef ref = ModelRef.parse(model);
    try (Components components = new Components(Config.fromEnvironment())) {
      List<HistoryChain.Entry> entries = new HistoryChain(components.store()).check(ref);
      var out = spec.commandLine().getOut();
      if (entries.isEmpty()) {
        out.printf("no replays of %s recorded in %s%n", ref, components.store().uriOf(HistoryChain.prefix(ref)));
        out.flush();
        return 0;
      }
      out.printf("%-8s %-22s %-28s %-40s %s%n", "seq", "finished", "verdict", "metric deltas (rebuilt - recorded)", "replay");
      String firstProblem = null;
      for (HistoryChain.Entry e : entries) {
        var r = e.record();
        if (r == null) {
          out.printf("%-8s %s%n", e.key().substring(e.key().lastIndexOf('/') + 1), "(unreadable)");
        } else {
          out.printf("%-8d %-22s %-28s %-40s %s%n", r.seq(), r.finishedAt(), r.verdict(), deltas(r.metricDeltas()), r.replayId());
        }
        if (e.problem() != null) {
          out.printf("         TAMPERED: %s%n", e.problem());
          firstProblem = firstProblem == null ? e.problem() : firstProblem;
        }
      }
      if (firstProblem != null) {
        out.printf("chain BROKEN: %s%n", firstProblem);
        out.flush();
        return 1;
      }
      out.printf("chain intact: %d records, each pinning the one before it and matching its report and attestation%n", entries.size());
      out.flush();
      return 0;
    }
  }

  private static String deltas(Map<String, Double> deltas) {
    if (deltas == null || deltas.isEmpty()) {
      return "-";
    }
    StringBuilder s = new StringBuilder();
    deltas.forEach((k, v) -> s.append(s.length() == 0 ? "" : ", ").append(k).append(' ').append(String.format("%+.6g", v)));
    return s.toString();
  }
}
