package dev.timemachine.cli;

import dev.timemachine.app.BacktestRunner;
import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.app.TemporalRuntime;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.report.BacktestOutcome;
import dev.timemachine.core.report.BacktestReport;
import dev.timemachine.workflow.BacktestResult;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code timemachine backtest churn@3 --data ./q4}: retrain an old version on new data, guarded by its contract. */
@Command(
    name = "backtest",
    mixinStandardHelpOptions = true,
    description = {
      "Retrains a registered model version's verified code in its verified image on new data, after checking the new",
      "data against the version's contract (before any container starts), and compares its metrics with the recorded",
      "ones and with other versions trained on the same data. With --downstream, backtests instead every model that",
      "consumes an artifact of MODEL (the latest version of each) with MODEL's artifact in place of the one it",
      "recorded, and tabulates how each metric moved. Exit: 0 completed, 1 training failed or a threshold missed,",
      "3 inputs unverifiable, 4 an outage, 5 contract violated (with --downstream: the worst of the backtests)."
    })
public final class BacktestCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "MODEL", description = "name@version (built-in registry) or mlflow:name@alias / mlflow:name/version")
  String model;

  @Option(names = "--data", paramLabel = "DIR|SNAPSHOT_URI",
      description = "The new data: a directory (uploaded as a snapshot) or a snapshot URI. Required, except with"
          + " --downstream, where each downstream model retrains on its own recorded data unless it is given.")
  String data;

  @Option(names = "--downstream",
      description = "Backtest every downstream model of MODEL (a new upstream version, e.g. encoder@3) with its artifact"
          + " in place of the old one, in one workflow; `timemachine lineage` shows what is downstream.")
  boolean downstream;

  @Option(names = "--concurrency", defaultValue = "2", paramLabel = "N",
      description = "With --downstream: how many backtests run at once (default 2).")
  int concurrency;

  @Option(names = "--against", paramLabel = "MODEL",
      description = "Another version to train on the same data and compare with; repeatable.")
  List<String> against = new ArrayList<>();

  @Option(names = "--retrain", description = "Retrain the old code on the new data (the default).")
  boolean retrain;

  @Option(names = "--evaluate",
      description = "Score the old version's recorded artifacts (verified by sha256) on the new data through its recorded"
          + " evaluate entry point (register --evaluate-entry-point), without training.")
  boolean evaluate;

  @Option(names = "--json", description = "Print only the report JSON on stdout.")
  boolean json;

  @Option(names = "--backtest-id", description = "Backtest id (default: generated).")
  String backtestId;

  @CommandLine.Mixin LimitOptions limits;

  @Override
  public Integer call() {
    if (evaluate && retrain) {
      throw TimemachineException.invalidInput("--retrain and --evaluate exclude each other: retrain the old code, or"
          + " score the old artifact");
    }
    String mode = evaluate ? dev.timemachine.workflow.BacktestRequest.EVALUATE : null;
    if (!downstream && data == null) {
      throw TimemachineException.invalidInput("--data is required: the new data, a directory or a snapshot URI"
          + " (or --downstream, to backtest the models that consume " + model + ")");
    }
    if (downstream && !against.isEmpty()) {
      throw TimemachineException.invalidInput("--against does not go with --downstream: each downstream model is"
          + " compared with its own recorded metrics");
    }
    if (concurrency < 1) {
      throw TimemachineException.invalidInput("--concurrency must be at least 1, not " + concurrency);
    }
    Config config = Config.fromEnvironment();
    TrainingLimits trainingLimits = limits.apply(config);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    String id = backtestId != null ? backtestId : BacktestRunner.newBacktestId(model);
    try (Components components = new Components(config);
        TemporalRuntime temporal = ReplayCommand.connectPreparing(config, components)) {
      components.registries().validateSpec(model);
      against.forEach(components.registries()::validateSpec);
      if (temporal.embedded()) {
        temporal.startAllWorkers(components);
      }
      BacktestRunner runner = new BacktestRunner(temporal, components);
      DataRef newData = data == null ? null : runner.snapshotOf(data, message -> {
        err.println("  " + message);
        err.flush();
      });
      if (downstream) {
        BacktestRunner.DownstreamPlan plan = runner.planDownstream(model, id, newData, trainingLimits, concurrency, mode);
        dev.timemachine.core.report.DownstreamReport report = runner.runDownstream(plan, err);
        if (json) {
          out.print(Json.toString(report));
        } else {
          printDownstream(report, runner.reportUri(id), out);
        }
        out.flush();
        return downstreamExitCode(report);
      }
      if (evaluate) {
        runner.requireEvaluateEntryPoints(model, against);
      }
      BacktestResult result = runner.run(model, id, newData, against, trainingLimits, mode, err);
      BacktestReport report = runner.report(result);
      if (json) {
        out.print(Json.toString(report));
      } else {
        print(report, result, out);
      }
      out.flush();
      return exitCode(result);
    }
  }

  static int exitCode(BacktestResult result) {
    if (result.outcome() == BacktestOutcome.BACKTEST_COMPLETED && !result.missedThresholds().isEmpty()) {
      return 1;
    }
    return result.outcome().exitCode();
  }

  /** The worst of the downstream backtests' exit codes (an entry that could not run is an outage, 4). */
  static int downstreamExitCode(dev.timemachine.core.report.DownstreamReport report) {
    int worst = 0;
    for (dev.timemachine.core.report.DownstreamReport.Entry e : report.entries()) {
      int code = e.outcome() == null ? 4 : e.outcome().exitCode();
      if (code == 0 && !e.missedThresholds().isEmpty()) {
        code = 1;
      }
      worst = rank(code) > rank(worst) ? code : worst;
    }
    return worst;
  }

  private static int rank(int exitCode) {
    // An outage says least about the models; an unverifiable input or a broken contract says most.
    return switch (exitCode) {
      case 0 -> 0;
      case 1 -> 1;
      case 4 -> 2;
      case 3 -> 3;
      default -> 4;
    };
  }

  static void printDownstream(dev.timemachine.core.report.DownstreamReport report, String uri, PrintWriter out) {
    out.printf("downstream of %s: %d model(s) %s%n", report.upstream(), report.entries().size(), report.counts());
    for (dev.timemachine.core.report.DownstreamReport.Entry e : report.entries()) {
      out.printf("%n%s  (%s)%n", e.modelSpec(), e.replaced());
      out.printf("  outcome: %s: %s%n", e.outcome() == null ? "NOT RUN" : e.outcome(), e.reason());
      if (!e.changes().isEmpty()) {
        int width = Math.max(8, e.changes().stream().mapToInt(c -> c.metric().length()).max().orElse(8));
        out.printf("  %-" + width + "s  %-20s  %-20s  %s%n", "metric", "recorded", "with " + report.upstream(), "change");
        for (dev.timemachine.core.report.DownstreamReport.Change c : e.changes()) {
          out.printf("  %-" + width + "s  %-20s  %-20s  %s%n", c.metric(), c.recorded() == null ? "-" : c.recorded(),
              c.retrained() == null ? "-" : c.retrained(),
              c.delta() == null ? "-" : String.format(java.util.Locale.ROOT, "%+.6g", c.delta()));
        }
      }
      e.missedThresholds().forEach(t -> out.printf("  threshold MISSED: %s%n", t));
      if (e.reportUri() != null) {
        out.printf("  report:  %s%n", e.reportUri());
      }
    }
    out.printf("%nsummary:   %s%n", uri);
  }

  static void print(BacktestReport report, BacktestResult result, PrintWriter out) {
    out.printf("outcome:   %s%n", report.outcome());
    out.printf("reason:    %s%n", report.reason());
    if (report.original() != null) {
      out.printf("original:  %s, registered %s: code %s @ %s, trained on %s%n", report.original().model(),
          report.original().registeredAt(), report.original().triplet().code().repositoryUrl(),
          report.original().triplet().code().commit(), report.original().triplet().data().rootDigest());
    }
    out.printf("new data:  %s (%s, %d files)%n", report.newData().snapshotUri(), report.newData().rootDigest(),
        report.newData().fileCount());
    for (dev.timemachine.core.model.UpstreamRef u : report.upstream()) {
      out.printf("upstream:  %s:%s at %s (sha256 %s)%n", u.model(), u.artifact(), u.containerPath(), u.sha256());
    }
    if (report.contract() != null) {
      out.printf("contract:  %s%n", report.contract().satisfied() ? "satisfied (" + report.contractSource() + ")"
          : "VIOLATED: " + report.contract().summary());
      report.contract().additions().forEach(a -> out.printf("           + %s (allowed)%n", a));
    }
    BacktestReport.MetricTable table = report.metricTable();
    if (table != null && !table.rows().isEmpty()) {
      int width = Math.max(8, table.rows().stream().mapToInt(r -> r.metric().length()).max().orElse(8));
      StringBuilder header = new StringBuilder(String.format("%-" + width + "s", "metric"));
      table.columns().forEach(c -> header.append("  ").append(String.format("%-20s", c)));
      out.println(header.toString().stripTrailing());
      for (BacktestReport.MetricTable.Row row : table.rows()) {
        StringBuilder line = new StringBuilder(String.format("%-" + width + "s", row.metric()));
        row.values().forEach(v -> line.append("  ").append(String.format("%-20s", v == null ? "-" : v)));
        out.println(line.toString().stripTrailing());
      }
    }
    for (BacktestReport.ThresholdResult t : report.thresholds()) {
      out.printf("threshold: %s %s%n", t.threshold(), t.met() ? "met (" + t.value() + ")" : "MISSED: " + t.violation());
    }
    out.printf("report:    %s%n", result.reportUri());
  }
}
