package dev.timemachine.cli;

import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.app.ReplayRunner;
import dev.timemachine.app.TemporalRuntime;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.grading.Calibration;
import dev.timemachine.core.grading.Explanation;
import dev.timemachine.core.grading.MetricComparison;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.workflow.ReplayRequest;
import dev.timemachine.workflow.ReplayResult;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Trains a version N times from its verified inputs and proposes tolerances from the spread it saw. */
@Command(name = "calibrate", mixinStandardHelpOptions = true,
    description = {"Replays MODEL once (nothing written back) and trains it RUNS-1 more times from the same verified",
        "inputs, then proposes per-metric tolerances from the largest distance of any run from the recorded value",
        "(x" + Calibration.MARGIN + ", two significant digits), printed as the --tolerance options of register.",
        "Nothing is changed: register again with them if they make sense to you."})
public final class CalibrateCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "MODEL", description = "name@version (built-in registry) or mlflow:name@alias")
  String model;

  @Option(names = "--runs", defaultValue = "5", description = "Trainings in all (at least 2; default ${DEFAULT-VALUE}).")
  int runs;

  @CommandLine.Mixin LimitOptions limits;

  @Override
  public Integer call() {
    if (runs < 2 || runs > 100) {
      throw TimemachineException.invalidInput("--runs must be between 2 and 100, not " + runs);
    }
    Config config = Config.fromEnvironment();
    TrainingLimits trainingLimits = limits.apply(config);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (Components components = new Components(config); TemporalRuntime temporal = ReplayCommand.connectPreparing(config, components)) {
      components.registries().validateSpec(model);
      if (temporal.embedded()) {
        temporal.startAllWorkers(components);
      }
      String id = ReplayRunner.newReplayId(model);
      ReplayResult result = new ReplayRunner(temporal, config)
          .run(model, id, trainingLimits, false, ReplayRequest.PROBE_CALIBRATE, runs, err);
      if (result.reportUri() == null) {
        ReplayCommand.printError(result, err);
        return result.verdict().exitCode();
      }
      ReplayReport report = Json.parse(components.readReport(result.reportUri()), ReplayReport.class, result.reportUri());
      if (report.metrics().isEmpty()) {
        out.printf("replay %s: %s (%s)%n", id, report.verdict(), report.verdictReason());
        out.println("no metrics to calibrate: the training did not run to the end, or none were recorded");
        out.flush();
        return report.verdict().exitCode() == 0 ? 1 : report.verdict().exitCode();
      }
      Map<String, Double> recorded = new HashMap<>();
      Map<String, Double> first = new HashMap<>();
      for (MetricComparison m : report.metrics()) {
        recorded.put(m.name(), m.recorded());
        if (m.rebuilt() != null) {
          first.put(m.name(), m.rebuilt());
        }
      }
      List<Map<String, Double>> all = new ArrayList<>();
      all.add(first);
      int failed = 0;
      if (report.explanation() != null) {
        for (Explanation.ProbeRun p : report.explanation().probes()) {
          if (p.problem() == null && p.metrics() != null) {
            all.add(p.metrics());
          } else {
            failed++;
          }
        }
      }
      out.printf("replay %s: %s; %d of %d trainings gave metrics%s%n", id, report.verdict(), all.size(),
          report.artifacts().isEmpty() ? 1 : runs, failed > 0 ? " (" + failed + " failed)" : "");
      List<String> options = new ArrayList<>();
      for (Calibration.Proposal p : Calibration.propose(recorded, all)) {
        out.printf("  %-12s recorded %s, rebuilt %s, largest distance %s -> %s%n", p.metric(), p.recorded(), p.rebuilt(),
            p.maxDistance(), p.option());
        options.add(p.option());
      }
      out.println("register again with: " + String.join(" ", options));
      out.flush();
      return 0;
    }
  }
}
