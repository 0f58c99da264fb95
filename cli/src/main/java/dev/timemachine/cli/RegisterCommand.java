package dev.timemachine.cli;

import dev.timemachine.core.contract.MetricThreshold;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.OutputRule;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.Tolerance;
import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.registries.manifest.EntryPoints;
import dev.timemachine.registries.manifest.Registration;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code timemachine register}: record a finished training run and its triplet as a model version. */
@Command(
    name = "register",
    mixinStandardHelpOptions = true,
    description = {
      "Records a finished training run as an immutable model version in the built-in registry.",
      "Hashes every output artifact and every data file itself; uploads --data as a snapshot if it is a directory."
    })
public final class RegisterCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "NAME@VERSION", description = "e.g. churn@3")
  String model;

  @Option(names = "--repo", required = true, description = "Git repository URL (or path) of the training code.")
  String repo;

  @Option(names = "--commit", required = true, description = "Full 40-hex commit SHA that was trained.")
  String commit;

  @Option(names = "--entry-point", required = true, paramLabel = "COMMAND",
      description = {
        "Command run in the working directory, recorded as an argv list (a replay runs no shell). One of:",
        "  words, quoted like a shell: \"python3 train.py --name 'a b'\" (4 words)",
        "  a JSON array: '[\"python3\", \"train.py\", \"--name\", \"a b\"]'",
        "  mlproject:NAME: entry point NAME of the MLproject file in --workdir at --commit, e.g. mlproject:main -P alpha=0.5"
      })
  String entryPoint;

  @Option(names = {"-P", "--param"}, paramLabel = "NAME=VALUE",
      description = "A parameter of an mlproject: entry point (overrides its default); repeatable.")
  Map<String, String> params = new LinkedHashMap<>();

  @Option(names = "--allow-unpushed",
      description = "Register even if no branch or tag of --repo contains --commit (recorded, and every replay report warns).")
  boolean allowUnpushed;

  @Option(names = "--workdir", defaultValue = ".", description = "Working directory relative to the repository root (default: .).")
  String workdir;

  @Option(names = "--image", required = true, description = "Environment image pinned by digest: repository@sha256:<64 hex>.")
  String image;

  @Option(names = "--data", required = true, description = "Training data: a directory (uploaded as a snapshot) or a snapshot URI.")
  String data;

  @Option(names = "--output", required = true, description = "The run's output directory (artifacts and metrics file).")
  Path output;

  @Option(names = "--metrics-file", defaultValue = RecordedOutputs.DEFAULT_METRICS_FILE, description = "Metrics file among the outputs, by its recorded name (after --outputs renames; default: metrics.json).")
  String metricsFile;

  @Option(names = "--no-metrics", description = "Record no metrics (then only a bitwise rebuild counts as reproduced).")
  boolean noMetrics;

  @Option(
      names = "--outputs",
      paramLabel = "GLOB[=NAME]",
      description = {
        "Which files of --output are outputs; repeatable; default: all of them (except the MLflow scratch store .mlruns/).",
        "GLOB is relative to --output (* within a directory, ** across directories); =NAME records its one match as NAME,",
        "e.g. '.mlruns/**/artifacts/model/model.pkl=model.pkl'. A replay collects its outputs by the same rules."
      })
  List<String> outputs = List.of();

  @Option(names = "--tolerance", paramLabel = "METRIC=abs:X,rel:Y", description = "Per-metric tolerance; repeatable. Default: exact.")
  List<String> tolerances = List.of();

  @Option(names = "--threshold", paramLabel = "METRIC>=X",
      description = "A bound a metric must meet, recorded in the model contract and checked by every backtest"
          + " (>=, >, <=, <; e.g. 'accuracy>=0.85'); repeatable.")
  List<String> thresholds = List.of();

  @Option(names = "--probe-set", paramLabel = "FILE",
      description = "A file of the data snapshot (CSV) on which a replay whose model bytes differ compares the recorded"
          + " and the rebuilt model's predictions, in the recorded image (REPRODUCED_FUNCTIONALLY when they agree).")
  String probeSet;

  @Option(names = "--prediction-tolerance", paramLabel = "X", defaultValue = "0",
      description = "With --probe-set: the largest absolute difference of a predicted probability (classifiers, whose"
          + " labels must be identical) or value (regressors) that is still the same prediction. Default: 0, exact.")
  double predictionTolerance;

  @Option(names = "--probe-entry-point", paramLabel = "COMMAND",
      description = "With --probe-set: your own probe instead of the built-in loader (words or a JSON array), run in the"
          + " recorded image from the code directory with the model's artifacts at $TIMEMACHINE_MODEL and the probe set at"
          + " $TIMEMACHINE_PROBE; it writes $TIMEMACHINE_OUTPUT/predictions.json (docs/divergence-causes.md).")
  String probeEntryPoint;

  @Option(names = "--upstream", paramLabel = "[NAME=]MODEL@VERSION:ARTIFACT",
      description = "An artifact of another registered version that this training consumed (a feature encoder's output);"
          + " repeatable. Every replay restores it, verifies its sha256 and mounts it read-only at"
          + " /upstream/NAME/ARTIFACT (NAME defaults to the model's name); `timemachine lineage` shows the links.")
  List<String> upstream = new java.util.ArrayList<>();

  @Option(names = "--evaluate-entry-point", paramLabel = "COMMAND",
      description = "Your evaluate entry point (words or a JSON array), for backtest --evaluate: run in the recorded image"
          + " from the code directory, it scores the version's recorded artifacts (read-only at $TIMEMACHINE_MODEL) on the"
          + " data at $TIMEMACHINE_DATA and writes the metrics file to $TIMEMACHINE_OUTPUT, without training.")
  String evaluateEntryPoint;

  @Override
  public Integer call() {
    List<dev.timemachine.core.model.UpstreamRef.Spec> upstreamSpecs =
        upstream.stream().map(dev.timemachine.core.model.UpstreamRef.Spec::parse).toList();
    if (probeSet == null && predictionTolerance != 0) {
      throw TimemachineException.invalidInput("--prediction-tolerance needs --probe-set FILE: the data to predict on");
    }
    if (probeSet == null && probeEntryPoint != null) {
      throw TimemachineException.invalidInput("--probe-entry-point needs --probe-set FILE: the data it predicts on");
    }
    RecordedOutputs.ProbeSet probe = probeSet == null ? null : new RecordedOutputs.ProbeSet(probeSet, predictionTolerance,
        probeEntryPoint == null ? null : dev.timemachine.registries.manifest.EntryPoints.parse(probeEntryPoint));
    Map<String, Tolerance> parsed = new LinkedHashMap<>();
    for (String t : tolerances) {
      int eq = t.indexOf('=');
      if (eq <= 0) {
        throw TimemachineException.invalidInput("--tolerance '" + t + "': expected METRIC=abs:X and/or rel:Y");
      }
      parsed.put(t.substring(0, eq), Tolerance.parse(t.substring(eq + 1)));
    }
    try (Components components = new Components(Config.fromEnvironment())) {
      var err = spec.commandLine().getErr();
      List<String> argv =
          EntryPoints.resolve(entryPoint, params, workdir, path -> components.sourceCheckout().readFile(repo, commit, path));
      ModelVersion version =
          components.registration(Clock.systemUTC())
              .allowingUnpushed(allowUnpushed)
              .register(
                  new Registration.Request(
                      ModelRef.parse(model), repo, commit, argv, workdir, ImageRef.parse(image),
                      data, output, noMetrics ? null : metricsFile, parsed,
                      outputs.stream().map(OutputRule::parse).toList(),
                      thresholds.stream().map(MetricThreshold::parse).toList()).withProbe(probe)
                      .withUpstream(upstreamSpecs)
                      .withEvaluateEntryPoint(evaluateEntryPoint == null ? List.of()
                          : dev.timemachine.registries.manifest.EntryPoints.parse(evaluateEntryPoint)),
                  message -> {
                    err.println("  " + message);
                    err.flush();
                  });
      var out = spec.commandLine().getOut();
      out.printf("registered %s%n", version.model());
      out.printf("  code:        %s @ %s%n", version.triplet().code().repositoryUrl(), version.triplet().code().commit());
      out.printf("  entry point: %s%n", argvJson(version.triplet().code().entryPoint()));
      if (!version.triplet().code().evaluateEntryPoint().isEmpty()) {
        out.printf("  evaluate:    %s%n", argvJson(version.triplet().code().evaluateEntryPoint()));
      }
      if (version.triplet().code().registeredUnpushed()) {
        out.printf("  warning:     the commit is not pushed (--allow-unpushed): a replay fails until it is%n");
      }
      out.printf("  environment: %s%n", version.triplet().environment().image());
      out.printf("  data:        %s (%s, %d files)%n", version.triplet().data().snapshotUri(),
          version.triplet().data().rootDigest(), version.triplet().data().fileCount());
      for (dev.timemachine.core.model.UpstreamRef u : version.triplet().upstream()) {
        out.printf("  upstream:    %s:%s (sha256 %s) at %s%n", u.model(), u.artifact(), u.sha256(), u.containerPath());
      }
      out.printf("  artifacts:   %d, metrics: %s%n", version.recorded().artifacts().size(), version.recorded().metrics());
      if (version.contract() != null) {
        var groups = version.contract().files().stream().filter(f -> f.isGroup()).toList();
        out.printf("  contract:    %d data file schemas%s%s%n", version.contract().files().size(),
            groups.isEmpty() ? "" : " (" + groups.size() + " of them for "
                + groups.stream().mapToInt(f -> f.files()).sum() + " files that share their columns by directory: "
                + groups.stream().limit(3).map(f -> f.label()).collect(java.util.stream.Collectors.joining(", "))
                + (groups.size() > 3 ? ", ..." : "") + ")",
            version.contract().thresholds().isEmpty() ? "" : ", thresholds " + version.contract().thresholds());
      }
      out.printf("  manifest:    %s%n", components.manifestRegistry().uriOf(version.model()));
      out.flush();
      return 0;
    }
  }

  /** The argv on one line, as JSON: unambiguous where words contain spaces or quotes. */
  private static String argvJson(List<String> argv) {
    try {
      return dev.timemachine.core.json.Json.mapper().writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
          .writeValueAsString(argv);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
