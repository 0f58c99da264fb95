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
      "ones and with other versions trained on the same data. Exit: 0 completed, 1 training failed or a threshold",
      "missed, 3 inputs unverifiable, 4 contract violated."
    })
public final class BacktestCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "MODEL", description = "name@version (built-in registry) or mlflow:name@alias / mlflow:name/version")
  String model;

  @Option(names = "--data", required = true, paramLabel = "DIR|SNAPSHOT_URI",
      description = "The new data: a directory (uploaded as a snapshot) or a snapshot URI.")
  String data;

  @Option(names = "--against", paramLabel = "MODEL",
      description = "Another version to train on the same data and compare with; repeatable.")
  List<String> against = new ArrayList<>();

  @Option(names = "--retrain", description = "Retrain the old code on the new data (the default, and the only mode so far).")
  boolean retrain;

  @Option(names = "--evaluate",
      description = "Score the old artifact through a recorded evaluate entry point: not implemented yet, refused.")
  boolean evaluate;

  @Option(names = "--json", description = "Print only the report JSON on stdout.")
  boolean json;

  @Option(names = "--backtest-id", description = "Backtest id (default: generated).")
  String backtestId;

  @CommandLine.Mixin LimitOptions limits;

  @Override
  public Integer call() {
    if (evaluate) {
      throw TimemachineException.invalidInput(
          "--evaluate is not implemented yet: versions record no evaluate entry point to score their artifact with; use --retrain");
    }
    Config config = Config.fromEnvironment();
    TrainingLimits trainingLimits = limits.apply(config);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    String id = backtestId != null ? backtestId : BacktestRunner.newBacktestId(model);
    try (Components components = new Components(config);
        TemporalRuntime temporal = TemporalRuntime.connect(config)) {
      components.registries().validateSpec(model);
      against.forEach(components.registries()::validateSpec);
      if (temporal.embedded()) {
        temporal.startAllWorkers(components);
      }
      BacktestRunner runner = new BacktestRunner(temporal, components);
      DataRef newData = runner.snapshotOf(data, message -> {
        err.println("  " + message);
        err.flush();
      });
      BacktestResult result = runner.run(model, id, newData, against, trainingLimits, err);
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

  static void print(BacktestReport report, BacktestResult result, PrintWriter out) {
    out.printf("outcome:   %s%n", report.outcome());
    out.printf("reason:    %s%n", report.reason());
    out.printf("new data:  %s (%s, %d files)%n", report.newData().snapshotUri(), report.newData().rootDigest(),
        report.newData().fileCount());
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
