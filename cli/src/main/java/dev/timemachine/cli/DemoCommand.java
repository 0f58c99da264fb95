package dev.timemachine.cli;

import dev.timemachine.core.training.TrainingContainer;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.ContainerEngine;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.app.MlflowSupport;
import dev.timemachine.registries.manifest.Registration;
import dev.timemachine.app.ReplayRunner;
import dev.timemachine.app.TemporalRuntime;
import dev.timemachine.workflow.ReplayResult;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code timemachine demo}: the whole story on one machine. Makes the churn sample a git repository,
 * generates its data, trains it once in the sample image as "the original", registers it, and replays
 * it. Uses the local Docker engine, the local registry's sample image, the store at TIMEMACHINE_STORE
 * (a local directory by default), and an in-process Temporal server unless TEMPORAL_ADDRESS is set.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Trains the seeded churn sample, registers it, replays it, and prints the verdict.")
public final class DemoCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--sample", defaultValue = SampleProject.CHURN, description = "churn (seeded, default), churn-unseeded, churn-metadata (only an MLmodel timestamp differs) or churn-numpy (unseeded NumPy weights)")
  String sample;

  @Option(names = "--json", description = "Print only the report JSON on stdout.")
  boolean json;

  @Option(names = "--pause-seconds", defaultValue = "0", paramLabel = "N",
      description = {
        "Record the sample with an entry point that waits N seconds before training (model <sample>-slow),",
        "so that there is time to kill a worker or the Temporal server in the middle of the replay (a crash drill)."
      })
  int pauseSeconds;

  @Option(names = "--no-worker",
      description = "Start no in-process worker: the replay runs on the workers already serving TEMPORAL_ADDRESS.")
  boolean noWorker;

  @Option(names = "--registry", defaultValue = "manifest",
      description = "manifest (default), or mlflow: record the run into the MLflow at MLFLOW_TRACKING_URI with"
          + " timemachine_mlflow, alias it champion, and replay mlflow:<sample>@champion")
  String registry;

  @Override
  public Integer call() throws Exception {
    Config config = Config.fromEnvironment();
    if (noWorker && config.embeddedTemporal()) {
      throw TimemachineException.configuration(
          "--no-worker needs a Temporal server with workers of its own, but TEMPORAL_ADDRESS is not set",
          "export TEMPORAL_ADDRESS=127.0.0.1:7233 and start `timemachine worker` first, or drop --no-worker");
    }
    if (pauseSeconds < 0 || pauseSeconds > 3600) {
      throw TimemachineException.invalidInput("--pause-seconds must be 0 to 3600, got " + pauseSeconds);
    }
    List<String> entryPoint = entryPoint(pauseSeconds);
    // A missing MLflow setup is said before minutes of training, not after.
    if (MlflowSupport.REGISTRY.equals(registry)) {
      config.mlflow().require();
      MlflowSupport.python(config);
    } else if (!"manifest".equals(registry)) {
      throw TimemachineException.invalidInput("unknown registry '" + registry + "' (known: manifest, mlflow)");
    }
    PrintWriter err = spec.commandLine().getErr();
    PrintWriter out = spec.commandLine().getOut();
    Path demo = config.home().resolve("demo").resolve(
        LocalDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss")) + "-" + sample);
    try (Components components = new Components(config);
        TemporalRuntime temporal = TemporalRuntime.connect(config)) {
      step(err, "1/5", "sample environment image");
      ImageRef image = SampleEnvironment.pinned();
      ContainerEngine engine = components.engine();
      engine.pull(image, printer(err));
      err.printf("      %s%n", image);

      step(err, "2/5", "sample code as a git repository");
      SampleProject.Repository repo = SampleProject.createRepository(sample, demo.resolve("code"));
      err.printf("      %s @ %s%n", repo.url(), repo.commit());

      step(err, "3/5", "training data (generated in the sample image, no network)");
      Path data = demo.resolve("data");
      Files.createDirectories(data);
      Path noInput = Files.createDirectories(demo.resolve("generator-input")); // the generator reads nothing
      CodeRef generator = new CodeRef(repo.url(), repo.commit(), SampleProject.MAKE_DATA, ".");
      runOrFail(engine, TrainingContainer.request(
          "timemachine-demo-data-" + demo.getFileName(), image, generator, repo.directory(), noInput,
          data, config.limits(), Map.of("dev.timemachine.role", "demo")), "generating the data", err);

      step(err, "4/5", "the original training run, then registration");
      Path original = demo.resolve("original-output");
      Files.createDirectories(original);
      CodeRef code = new CodeRef(repo.url(), repo.commit(), entryPoint, ".");
      runOrFail(engine, TrainingContainer.request(
          "timemachine-demo-train-" + demo.getFileName(), image, code, repo.directory(), data, original,
          config.limits(), Map.of("dev.timemachine.role", "demo")), "the original training run", err);
      String spec;
      if (MlflowSupport.REGISTRY.equals(registry)) {
        spec = recordIntoMlflow(components, repo, entryPoint, image, data, original, err);
      } else {
        ModelVersion version = registerFirstFreeVersion(components, repo, entryPoint, image, data, original, err);
        err.printf("      registered %s (%d artifacts, metrics %s)%n", version.model(),
            version.recorded().artifacts().size(), version.recorded().metrics());
        spec = version.model().toString();
      }

      step(err, "5/5", "replay of " + spec);
      // The demo is self-contained: it brings its own worker, also when it uses a Temporal server,
      // unless told to leave the replay to the workers that serve that server.
      if (!noWorker) {
        temporal.startAllWorkers(components);
      }
      ReplayResult result =
          new ReplayRunner(temporal, config).run(spec, ReplayRunner.newReplayId(spec), config.limits(), true,
              dev.timemachine.workflow.ReplayRequest.PROBE_ON_DIVERGED, null, err);
      ReplayCommand.printResult(result, components, out, json);
      ReplayCommand.printWriteBackProblem(result, err);
      ReplayCommand.printError(result, err);
      return result.verdict().exitCode();
    }
  }

  /** The sample's name, or {@code <sample>-slow} when it is recorded behind a crash-drill pause. */
  private String modelName() {
    return pauseSeconds > 0 ? sample + "-slow" : sample;
  }

  /** The sample's entry point, behind a pause when a crash drill needs time to kill things. */
  static List<String> entryPoint(int pauseSeconds) {
    if (pauseSeconds == 0) {
      return SampleProject.ENTRY_POINT;
    }
    return List.of("sh", "-c",
        "echo 'pausing " + pauseSeconds + " s before training (crash drill window)'; sleep " + pauseSeconds
            + "; exec " + String.join(" ", SampleProject.ENTRY_POINT));
  }

  /**
   * What a team does after a network-less training run: snapshot the data into the store, then
   * record the run into MLflow from the host with record_run.py (one timemachine_mlflow call),
   * register it as a new version and point the alias {@code champion} at it.
   */
  private String recordIntoMlflow(
      Components components, SampleProject.Repository repo, List<String> entryPoint, ImageRef image, Path data,
      Path output, PrintWriter err) {
    DataRef snapshot = components.snapshots().create(data, components.config().storeUri(), printer(err));
    err.printf("      data snapshot %s (%s)%n", snapshot.snapshotUri(), snapshot.rootDigest());
    MlflowSupport.RecordedVersion version =
        MlflowSupport.record(
            components.config(),
            new MlflowSupport.Recording(
                output, modelName(), List.of("champion"), repo.url(), repo.commit(), entryPoint, ".", image,
                snapshot));
    err.printf("      recorded run %s as MLflow model version %s/%s, alias champion%n",
        version.runId(), version.name(), version.version());
    return MlflowSupport.REGISTRY + ":" + modelName() + "@champion";
  }

  private ModelVersion registerFirstFreeVersion(
      Components components, SampleProject.Repository repo, List<String> entryPoint, ImageRef image, Path data,
      Path output, PrintWriter err) {
    Registration registration = components.registration(Clock.systemUTC());
    String name = modelName();
    for (int n = 1; n < 1000; n++) {
      try {
        return registration.register(
            new Registration.Request(
                new ModelRef(name, String.valueOf(n)), repo.url(), repo.commit(), entryPoint, ".", image,
                data.toString(), output, RecordedOutputs.DEFAULT_METRICS_FILE, Map.of())
                // Its predictions on the training data are what a divergence is judged by, beyond its bytes.
                .withProbe(new RecordedOutputs.ProbeSet("customers.csv", 0)),
            printer(err));
      } catch (TimemachineException e) {
        if (e.type() != ErrorType.CONFLICT) {
          throw e;
        }
      }
    }
    throw TimemachineException.conflict("999 versions of " + name + " exist already", "use a fresh TIMEMACHINE_HOME");
  }

  private static void runOrFail(
      ContainerEngine engine, ContainerEngine.ContainerRequest request, String what, PrintWriter err) {
    ContainerEngine.ContainerExit exit = engine.run(request, printer(err));
    if (exit.exitCode() != 0 || exit.timedOut()) {
      List<String> tail = exit.logTail();
      throw new TimemachineException(ErrorType.CONFIGURATION,
          what + " failed with exit code " + exit.exitCode() + ": " + (tail.isEmpty() ? "(no output)" : tail.get(tail.size() - 1)),
          "check that the sample image works: docker run --rm " + request.image() + " python3 -c 'import sklearn'", null);
    }
  }

  private static void step(PrintWriter err, String n, String what) {
    err.printf("[%s] %s%n", n, what);
    err.flush();
  }

  private static Progress printer(PrintWriter err) {
    long[] last = {0};
    return message -> {
      long now = System.currentTimeMillis();
      if (now - last[0] >= 1000) {
        last[0] = now;
        err.println("      " + message);
        err.flush();
      }
    };
  }

}
