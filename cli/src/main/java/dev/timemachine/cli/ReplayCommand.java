package dev.timemachine.cli;

import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.model.ReplayIds;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.app.ReplayRunner;
import dev.timemachine.app.TemporalRuntime;
import dev.timemachine.workflow.ReplayRequest;
import dev.timemachine.workflow.ReplayResult;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code timemachine replay churn@1}: rebuild one model version and grade it. */
@Command(
    name = "replay",
    mixinStandardHelpOptions = true,
    description = {
      "Rebuilds a registered model version from its triplet and grades the result.",
      "Uses the Temporal server at TEMPORAL_ADDRESS (a worker must be running), or an in-process server and worker if unset."
    })
public final class ReplayCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "MODEL", description = "name@version (built-in registry) or mlflow:name@alias / mlflow:name/version")
  String model;

  @Option(names = "--json", description = "Print only the report JSON on stdout.")
  boolean json;

  @Option(names = "--replay-id", description = "Replay id (default: generated). Reusing one is refused by Temporal while it runs.")
  String replayId;

  @Option(names = "--no-write-back",
      description = "Leave the registry untouched (MLflow: no model-version tags, no run in timemachine-replays). The report is written either way.")
  boolean noWriteBack;

  @Option(names = "--explain",
      description = "When the verdict is DIVERGED, also probe for nondeterminism: train again, then with 1 thread,"
          + " PYTHONHASHSEED=0 and 1 CPU, one at a time (see docs/divergence-causes.md).")
  boolean explain;

  @Option(names = "--twice", description = "Whenever artifacts differ, train a second time (and try the variations) to tell"
      + " nondeterministic training from an environment that drifted.")
  boolean twice;

  @Option(names = "--no-probe", description = "Never run the nondeterminism probes (overrides --explain and --twice).")
  boolean noProbe;

  @CommandLine.Mixin LimitOptions limits;

  @Override
  public Integer call() {
    // Checked before any service is touched: a bad id is refused at once, and no workflow is started.
    String id = replayId != null ? ReplayIds.require(replayId) : ReplayRunner.newReplayId(model);
    Config config = Config.fromEnvironment();
    TrainingLimits trainingLimits = limits.apply(config);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Timings.mark("parse");
    try (Components components = new Components(config);
        TemporalRuntime temporal = connectPreparing(config, components)) {
      Timings.mark("temporal");
      components.registries().validateSpec(model);
      // An in-process server forgets finished replays; the store does not. Refused before anything runs.
      if (replayId != null && components.reportUri(id).isPresent()) {
        throw TimemachineException.conflict(
            "replay id " + id + " is taken: its report " + components.reportUri(id).get() + " exists, and an id is used once",
            "leave out --replay-id for a fresh one, or choose another");
      }
      if (temporal.embedded()) {
        temporal.startAllWorkers(components);
      }
      Timings.mark("workers");
      String probe = noProbe ? ReplayRequest.PROBE_NONE
          : twice ? ReplayRequest.PROBE_TWICE : explain ? ReplayRequest.PROBE_ON_DIVERGED : null;
      ReplayResult result =
          new ReplayRunner(temporal, config).run(model, id, trainingLimits, !noWriteBack, probe, null, err);
      Timings.mark("workflow");
      printResult(result, components, out, json);
      printWriteBackProblem(result, err);
      printError(result, err);
      Timings.mark("print");
      return result.verdict().exitCode();
    } finally {
      Timings.mark("close");
    }
  }

  /** Connects; an embedded run builds its training host's Docker client meanwhile, for its workers. */
  static TemporalRuntime connectPreparing(Config config, Components components) {
    if (config.embeddedTemporal()) {
      components.prepareEngineInBackground();
    }
    return TemporalRuntime.connect(config);
  }

  /** A verdict that could not be written back is still the verdict; the user hears about it on stderr. */
  static void printWriteBackProblem(ReplayResult result, PrintWriter err) {
    if (result.writeBackProblem() != null) {
      err.println("warning: the verdict was not written back to the registry: " + result.writeBackProblem());
      err.flush();
    }
  }

  /**
   * The warning for a version registered with {@code --allow-unpushed}, or null: its code may be gone
   * for good, and a reader of any replay of it should know that its commit was never checked.
   */
  static String unpushedWarning(ReplayReport report) {
    if (report.triplet() == null || !report.triplet().code().registeredUnpushed()) {
      return null;
    }
    var code = report.triplet().code();
    return "warning: commit " + code.commit() + " was not reachable from " + code.repositoryUrl()
        + " when this version was registered (--allow-unpushed); it replays only if it was pushed since";
  }

  /**
   * The one line for a replay without a verdict: which service failed, why, and what to do. It goes to
   * stderr, so that {@code --json} keeps stdout for the report.
   */
  static void printError(ReplayResult result, PrintWriter err) {
    if (result.verdict() != Verdict.ERROR) {
      return;
    }
    err.println("error: no verdict, " + result.reason() + " -> bring "
        + (result.failedService() == null ? "the failed service" : result.failedService())
        + " back (or raise TIMEMACHINE_TRANSIENT_DEADLINE) and replay again");
    err.flush();
  }

  static void printResult(ReplayResult result, Components components, PrintWriter out, boolean json) {
    if (result.reportUri() == null) {
      // Only an ERROR has no report: the store it goes to was down. The reason says what it would have said.
      if (!json) {
        out.printf("verdict: %s%n", result.verdict());
        out.printf("reason:  %s%n", result.reason());
        out.println("report:  none (it could not be written)");
      }
      out.flush();
      return;
    }
    byte[] report = components.readReport(result.reportUri());
    if (json) {
      out.print(new String(report, StandardCharsets.UTF_8));
    } else {
      ReplayReport parsed = Json.parse(report, ReplayReport.class, result.reportUri());
      out.printf("verdict: %s%n", result.verdict());
      out.printf("reason:  %s%n", result.reason());
      out.printf("inputs:  code %s, environment %s, data %s%n",
          parsed.inputs().code(), parsed.inputs().environment(), parsed.inputs().data());
      String unpushed = unpushedWarning(parsed);
      if (unpushed != null) {
        out.println(unpushed);
      }
      if (parsed.log() != null) {
        out.printf("log:     %s (%d lines, sha256 %s%s)%n", parsed.log().uri(), parsed.log().lines(),
            parsed.log().sha256(), parsed.log().truncated() ? ", truncated" : "");
      }
      if (parsed.error() != null) {
        out.printf("failed:  %s (step %s, %s): %s%n", parsed.error().service(), parsed.error().step(),
            parsed.error().type(), parsed.error().message());
      }
      if (parsed.verdict() == Verdict.TRAINING_FAILED && !parsed.logTail().isEmpty()) {
        List<String> tail = parsed.logTail();
        int from = Math.max(0, tail.size() - 20);
        out.printf("last %d log lines:%n", tail.size() - from);
        tail.subList(from, tail.size()).forEach(line -> out.println("  | " + line));
      }
      out.printf("report:  %s%n", result.reportUri());
      attestationLine(result, components, out);
    }
    out.flush();
  }

  /** Where the attestation is, whether it is signed, and how to check it. */
  static void attestationLine(ReplayResult result, Components components, PrintWriter out) {
    String key = dev.timemachine.core.evidence.ReplayStatement.attestationKey(result.replayId());
    if (!components.store().exists(key)) {
      return;
    }
    var envelope = Json.parse(components.store().getBytes(key), dev.timemachine.core.evidence.Dsse.Envelope.class, key);
    out.printf("attested: %s (%s)%n", components.store().uriOf(key), envelope.signatures().isEmpty()
        ? "UNSIGNED: the worker ran with --unsigned"
        : "signed, keyid " + envelope.signatures().get(0).keyid());
    out.printf("verify:  timemachine verify %s%n", result.replayId());
  }
}
