package dev.timemachine.cli;

import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.app.FleetRunner;
import dev.timemachine.app.TemporalRuntime;
import dev.timemachine.core.fleet.FleetSummary;
import dev.timemachine.core.fleet.Selection;
import dev.timemachine.core.json.Json;
import dev.timemachine.workflow.FleetRequest;
import dev.timemachine.workflow.FleetResult;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code timemachine fleet list|run <selector>}. */
@Command(name = "fleet", mixinStandardHelpOptions = true,
    description = "Selects model versions across registries and replays them all (the nightly replay).",
    subcommands = {FleetCommand.ListFleet.class, FleetCommand.RunFleet.class})
public final class FleetCommand implements Runnable {
  static final String SELECTOR_HELP =
      "e.g. 'churn@*', '*@latest', 'mlflow:*@champion', 'mlflow:churn/*', or a list 'churn@1,mlflow:churn/3'";

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: list or run");
  }

  /** Prints what a selector resolves to, and why each left-out version is left out. */
  @Command(name = "list", mixinStandardHelpOptions = true, description = "Shows what a selector resolves to.")
  public static final class ListFleet implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SELECTOR", description = SELECTOR_HELP)
    String selector;

    @Option(names = "--json", description = "Print the selection as JSON.")
    boolean json;

    @Override
    public Integer call() {
      try (Components components = new Components(Config.fromEnvironment())) {
        Selection selection = components.fleetCatalog().select(selector);
        print(selection, spec.commandLine().getOut(), json);
        return 0;
      }
    }

    static void print(Selection selection, PrintWriter out, boolean json) {
      if (json) {
        out.print(Json.toString(selection));
      } else {
        out.printf("%d selected, %d excluded by %s%n", selection.selected().size(), selection.excluded().size(),
            selection.selector());
        for (Selection.Selected s : selection.selected()) {
          out.printf("  %-40s selected by %s%n", s.spec(), s.because());
        }
        for (Selection.Excluded e : selection.excluded()) {
          out.printf("  %-40s excluded: %s%n", e.spec(), e.reason());
        }
      }
      out.flush();
    }
  }

  /** Replays every selected version; exits 1 when a version that reproduced last night does not tonight. */
  @Command(name = "run", mixinStandardHelpOptions = true,
      description = {"Replays every version a selector names and writes the fleet summary fleets/<fleetId>.json.",
          "Exits 1 when any version is a NEW_FAILURE (reproduced on the previous night of the same --name, not tonight),"
              + " or did not reproduce on its first night (FIRST_RUN); both are in the alert."})
  public static final class RunFleet implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SELECTOR", description = SELECTOR_HELP)
    String selector;

    @Option(names = "--concurrency", defaultValue = "4", description = "Replays in flight at once (default 4).")
    int concurrency;

    @Option(names = "--name", defaultValue = "fleet",
        description = "The fleet's name: summaries of one name are compared night to night (default fleet).")
    String name;

    @Option(names = "--timezone", defaultValue = "UTC", description = "Time zone whose date names the night (default UTC).")
    String timeZone;

    @Option(names = "--no-write-back", description = "Leave the registries untouched.")
    boolean noWriteBack;

    @Option(names = "--json", description = "Print only the fleet summary JSON on stdout.")
    boolean json;

    @CommandLine.Mixin LimitOptions limits;

    @Override
    public Integer call() {
      if (concurrency < 1 || concurrency > 1000) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--concurrency must be 1 to 1000");
      }
      Config config = Config.fromEnvironment();
      try (Components components = new Components(config);
          TemporalRuntime temporal = ReplayCommand.connectPreparing(config, components)) {
        components.fleetCatalog(); // fail fast on a registry that is not configured
        dev.timemachine.core.fleet.Selector.parse(selector);
        if (temporal.embedded()) {
          temporal.startAllWorkers(components);
        }
        FleetRunner runner = new FleetRunner(temporal, config);
        FleetRequest request =
            runner.request(name, selector, concurrency, "manual", timeZone, limits.apply(config), !noWriteBack);
        FleetResult result = runner.run(request, spec.commandLine().getErr());
        FleetSummary summary = FleetRunner.summary(components.store(), result.fleetId());
        printSummary(summary, result.summaryUri(), spec.commandLine().getOut(), json);
        return result.newFailures().isEmpty() ? 0 : 1;
      }
    }
  }

  static void printSummary(FleetSummary summary, String uri, PrintWriter out, boolean json) {
    if (json) {
      out.print(Json.toString(summary));
      out.flush();
      return;
    }
    out.printf("fleet %s (night %s): %d versions in %d s; previous %s%n", summary.fleetId(), summary.night(),
        summary.entries().size(), summary.durationMs() / 1000, summary.previousFleetId() == null ? "none" : summary.previousFleetId());
    out.printf("%-36s %-28s %-28s %-14s %s%n", "VERSION", "VERDICT", "PREVIOUS", "CHANGE", "REPORT");
    for (FleetSummary.Entry e : summary.entries()) {
      out.printf("%-36s %-28s %-28s %-14s %s%s%n", e.spec(), e.verdict(), e.previousVerdict() == null ? "-" : e.previousVerdict(),
          e.change(), e.reportUri() == null ? e.reason() : e.reportUri(), e.reused() ? " (reused)" : "");
    }
    summary.excluded().forEach(x -> out.printf("%-36s excluded: %s%n", x.spec(), x.reason()));
    out.printf("verdicts: %s; changes: %s%n", summary.verdicts(), summary.changes());
    out.printf("summary: %s%n", uri);
    out.flush();
  }
}
