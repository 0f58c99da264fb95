package dev.timemachine.cli;

import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.app.Metrics;
import dev.timemachine.app.TemporalRuntime;
import dev.timemachine.app.TemporalRuntime.Queue;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code timemachine worker --queues control,training}: a long-running Temporal worker. */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a Temporal worker until stopped (SIGTERM/SIGINT).",
      "control: the replay workflow, resolve, compare, report. training: checkout, pull, restore, train (needs Docker).",
      "Connects to TEMPORAL_ADDRESS; without it, runs an in-process server (useful only for trying things out)."
    })
public final class WorkerCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--queues", split = ",", defaultValue = "control,training", description = "Queues to serve: control, training (default both).")
  List<String> queues;

  @Option(names = "--metrics-port",
      description = "Port of the Prometheus endpoint /metrics (default TIMEMACHINE_METRICS_PORT or 9464; 0 picks a free one).")
  Integer metricsPort;

  @Option(names = "--metrics-host",
      description = "Address the metrics endpoint binds to (default TIMEMACHINE_METRICS_HOST or 127.0.0.1; 0.0.0.0 in a container).")
  String metricsHost;

  @Option(names = "--unsigned",
      description = "Run without a signing key (TIMEMACHINE_SIGNING_KEY): attestations are written unsigned and say so.")
  boolean unsigned;

  @Override
  public Integer call() throws InterruptedException {
    Set<Queue> selected = EnumSet.noneOf(Queue.class);
    for (String q : queues) {
      try {
        selected.add(Queue.valueOf(q.trim().toUpperCase(Locale.ROOT)));
      } catch (IllegalArgumentException e) {
        throw TimemachineException.invalidInput("unknown queue '" + q + "' (use control, training)");
      }
    }
    Config config = Config.fromEnvironment();
    String metricsHost = this.metricsHost != null ? this.metricsHost : config.worker().metricsHost();
    int requestedPort = this.metricsPort != null ? this.metricsPort : config.worker().metricsPort();
    CountDownLatch stopped = new CountDownLatch(1);
    Components components = new Components(config);
    // A long-running worker's attestations are what auditors check: no key, no worker, unless told.
    components.signing(unsigned ? dev.timemachine.app.SigningKeys.Mode.UNSIGNED : dev.timemachine.app.SigningKeys.Mode.REQUIRE);
    var signer = selected.contains(Queue.CONTROL) ? components.signer() : null;
    Metrics metrics = new Metrics();
    int metricsPort = metrics.serve(metricsHost, requestedPort);
    TemporalRuntime temporal = TemporalRuntime.connect(config, metrics);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  temporal.close();
                  components.close();
                  metrics.close();
                  stopped.countDown();
                }));
    temporal.startWorkers(components, selected);
    var err = spec.commandLine().getErr();
    err.printf("worker %s serving %s on %s (queues %s%s)%n", config.workerId(), selected, config.temporal().describe(),
        selected.contains(Queue.CONTROL) ? config.controlQueue() + " " : "",
        selected.contains(Queue.TRAINING) ? config.trainingQueue() + " " + config.hostQueue() : "");
    if (selected.contains(Queue.CONTROL)) {
      err.println(signer == null ? "attestations: UNSIGNED (--unsigned)" : "attestations signed with keyid " + signer.keyid());
    }
    err.printf("metrics at http://%s:%d/metrics%n", metricsHost, metricsPort);
    err.flush();
    stopped.await();
    return 0;
  }
}
