package dev.timemachine.cli;

import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.app.GarbageCollector;
import dev.timemachine.core.retention.Retention;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code timemachine gc [--dry-run] [--grace 24h]}: deletes what nothing registered or reported needs. */
@Command(name = "gc", mixinStandardHelpOptions = true,
    description = {"Deletes snapshots, stored objects, replays' kept outputs and logs, and this host's work directories that no",
        "registered version (built-in registry; MLflow when configured), report, backtest, fleet summary or history references,",
        "and that are older than the grace period. Registry manifests, reports and keys are never deleted.",
        "Exits 0 when done, 2 on a bad option, 4 when the store or a registry did not answer (then nothing is deleted)."})
public final class GcCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--dry-run", description = "List what would be deleted, with sizes, and delete nothing.")
  boolean dryRun;

  @Option(names = "--grace", paramLabel = "DURATION", defaultValue = "24h",
      description = "Keep anything younger than this, referenced or not (default ${DEFAULT-VALUE}; s, m, h, d; 0 for none).")
  String grace;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    Duration period = Retention.parseGrace(grace);
    try (Components components = new Components(Config.fromEnvironment())) {
      GarbageCollector gc = new GarbageCollector(components, Clock.systemUTC());
      GarbageCollector.Plan plan = gc.plan(period);
      out.printf("store %s, grace %s%n", plan.store().storeUri(), grace);
      plan.consulted().forEach(line -> out.printf("consulted %s%n", line));
      plan.store().notes().forEach(line -> out.printf("note: %s%n", line));
      if (plan.store().objectsHeldBack() != null) {
        out.printf("note: no object is deleted this time: %s%n", plan.store().objectsHeldBack());
      }
      String verb = dryRun ? "would delete" : "deleting";
      for (Retention.Doomed d : plan.store().doomed()) {
        out.printf("%s %-8s %12d bytes  %s  %s%n", verb, d.kind(), d.size(), d.lastModified(), plan.store().storeUri() + "/" + d.key());
      }
      for (GarbageCollector.WorkDir dir : plan.workDirs()) {
        out.printf("%s %-8s %12d bytes  %s  %s%n", verb, "workdir", dir.bytes(), dir.lastModified(), dir.path());
      }
      for (GarbageCollector.WorkDir entry : plan.cacheEntries()) {
        out.printf("%s %-8s %12d bytes  %s  %s%n", verb, "cache", entry.bytes(), entry.lastModified(), entry.path());
      }
      for (var mirror : plan.mirrors()) {
        out.printf("%s %-8s %12d bytes  %s  %s (%s)%n", verb, "mirror", mirror.bytes(), mirror.lastUsed(), mirror.path(), mirror.url());
      }
      StringBuilder kinds = new StringBuilder();
      for (Map.Entry<String, long[]> e : plan.store().byKind().entrySet()) {
        kinds.append(String.format(", %d %s%s (%d bytes)", e.getValue()[0], e.getKey(), e.getValue()[0] == 1 ? "" : "s",
            e.getValue()[1]));
      }
      if (!plan.workDirs().isEmpty()) {
        kinds.append(String.format(", %d work director%s", plan.workDirs().size(), plan.workDirs().size() == 1 ? "y" : "ies"));
      }
      if (!plan.cacheEntries().isEmpty()) {
        kinds.append(String.format(", %d data cache entr%s", plan.cacheEntries().size(), plan.cacheEntries().size() == 1 ? "y" : "ies"));
      }
      if (!plan.mirrors().isEmpty()) {
        kinds.append(String.format(", %d git mirror%s", plan.mirrors().size(), plan.mirrors().size() == 1 ? "" : "s"));
      }
      int count = plan.store().doomed().size() + plan.workDirs().size() + plan.cacheEntries().size() + plan.mirrors().size();
      out.printf("kept %d stored objects (%d bytes), %d snapshots%n", plan.store().keptKeys(), plan.store().keptBytes(),
          plan.store().keptSnapshots().size());
      if (dryRun) {
        out.printf("dry run: %d would be deleted, %d bytes%s; nothing was deleted%n", count, plan.bytes(), kinds);
        out.flush();
        return 0;
      }
      Retention.Swept swept = gc.sweep(plan);
      swept.spared().forEach(line -> out.printf("spared %s%n", line));
      out.printf("deleted %d, %d bytes%s%n", swept.deletedKeys(), swept.deletedBytes(), kinds);
      out.flush();
      return 0;
    }
  }
}
