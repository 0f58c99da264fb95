package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.adapters.store.S3ObjectStore;
import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.InputResult;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.ports.ContainerEngine;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.registries.manifest.Registration;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.samples.SampleRuns;
import dev.timemachine.samples.Services;
import dev.timemachine.workflow.ReplayResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * An image registry outage during a real replay. The registry is this test's own ({@code docker-registry
 * serve} on 127.0.0.1:5055 with its own storage), never the shared one on :5000: the sample image is
 * pushed there, its local tag removed so that the replay must pull it, and the registry is stopped.
 * A replay that outlives the transient deadline ends ERROR naming the registry and writes nothing back;
 * one whose registry comes back in time gets its true verdict.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class RegistryOutageIT {
  private static final String REGISTRY = "127.0.0.1:5055";
  private static final String REPOSITORY = "timemachine-outage-it/churn-env";

  @TempDir static Path tmp;

  private Map<String, String> env;
  private Components components;
  private TemporalRuntime temporal;
  private ContainerEngine engine;
  private ImageRef image;
  private Registration registration;
  private Process registry;
  private SampleProject.Repository churn;
  private Path data;
  private Path original;
  private final StringWriter progress = new StringWriter();

  @BeforeAll
  void startEverything() throws Exception {
    Services.requireAll();
    assertThat(Path.of("/usr/bin/docker-registry"))
        .as("Debian's docker-registry (apt-get install -y docker-registry, or scripts/services.sh up)").exists();
    assertThat(Services.listening(5055)).as("port 5055 is free for this test's own registry").isFalse();
    startRegistry();
    ImageRef shared = SampleEnvironment.pinned();
    String tagged = REGISTRY + "/" + REPOSITORY + ":it";
    docker("tag", shared.toString(), tagged);
    docker("push", tagged);
    image = SampleEnvironment.pin(REGISTRY, REPOSITORY, "it");
    docker("rmi", tagged); // the image stays under its :5000 name; a pull from :5055 must ask the registry

    String bucket = "timemachine-outage-it-" + System.currentTimeMillis();
    env = new HashMap<>(Map.of(
        "TIMEMACHINE_HOME", tmp.resolve("home").toString(),
        "TIMEMACHINE_STORE", "s3://" + bucket + "/tm",
        "TIMEMACHINE_S3_ENDPOINT", Services.S3_ENDPOINT,
        "AWS_ACCESS_KEY_ID", Services.S3_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY", Services.S3_SECRET_KEY,
        "AWS_REGION", "us-east-1",
        "TIMEMACHINE_WORKER_ID", "outage-it-host",
        "TIMEMACHINE_TRAIN_TIMEOUT_SECONDS", "600"));
    components = new Components(Config.fromEnvironment(env));
    ((S3ObjectStore) components.store()).createBucketIfMissing();
    engine = components.engine();
    churn = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("churn"));
    data = SampleRuns.generateData(engine, shared, churn, tmp.resolve("data"));
    original = SampleRuns.trainOriginal(engine, shared, churn, data, tmp.resolve("original"));
    registration = components.registration(Clock.systemUTC());
    temporal = TemporalRuntime.connect(components.config());
    temporal.startAllWorkers(components);
  }

  @AfterAll
  void stopEverything() {
    if (temporal != null) {
      temporal.close();
    }
    if (components != null) {
      components.close();
    }
    stopRegistry();
  }

  private void startRegistry() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("registry-storage"));
    Path config = tmp.resolve("registry.yml");
    Files.writeString(config, String.join("\n",
        "version: 0.1",
        "log:",
        "  level: warn",
        "storage:",
        "  filesystem:",
        "    rootdirectory: " + root,
        "http:",
        "  addr: " + REGISTRY,
        ""));
    registry = new ProcessBuilder("/usr/bin/docker-registry", "serve", config.toString())
        .redirectErrorStream(true).redirectOutput(tmp.resolve("registry.log").toFile()).start();
    for (int i = 0; i < 100 && !Services.listening(5055); i++) {
      Thread.sleep(100);
    }
    assertThat(Services.listening(5055)).as("own registry on %s (log %s)", REGISTRY, tmp.resolve("registry.log")).isTrue();
  }

  private void stopRegistry() {
    if (registry != null) {
      registry.destroy();
      try {
        registry.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      registry = null;
    }
  }

  private static void docker(String... args) throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>(List.of("docker"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).as("docker %s: %s", String.join(" ", args), out).isZero();
  }

  private void register(String model) {
    registration.register(
        new Registration.Request(ModelRef.parse(model), churn.url(), churn.commit(), SampleProject.ENTRY_POINT, ".", image,
            data.toString(), original, RecordedOutputs.DEFAULT_METRICS_FILE, Map.of()),
        Progress.NONE);
  }

  private ReplayResult replay(String model, String deadline) {
    Map<String, String> withDeadline = new HashMap<>(env);
    withDeadline.put("TIMEMACHINE_TRANSIENT_DEADLINE", deadline);
    return new ReplayRunner(temporal, Config.fromEnvironment(withDeadline))
        .run(model, ReplayRunner.newReplayId(model), SampleRuns.LIMITS, new PrintWriter(progress, true));
  }

  private List<String> verdictsRecorded(String model) {
    return components.store().list("verdicts/" + model.replace('@', '/') + "/");
  }

  @Test
  @Order(1)
  void with_the_image_registry_down_past_the_deadline_the_replay_ends_error_naming_it_and_writes_nothing_back() {
    register("outage@1");
    stopRegistry();

    long started = System.nanoTime();
    ReplayResult result = replay("outage@1", "20s");
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);

    assertThat(result.verdict()).as("verdict (%s)", result.reason()).isEqualTo(Verdict.ERROR);
    assertThat(result.failedService()).isEqualTo("image registry " + REGISTRY);
    assertThat(result.reason()).contains(REGISTRY, "20 s");
    assertThat(seconds).as("retried until the deadline, then stopped").isBetween(15L, 120L);
    ReplayReport report =
        Json.parse(components.readReport(result.reportUri()), ReplayReport.class, result.reportUri());
    assertThat(report.verdict()).isEqualTo(Verdict.ERROR);
    assertThat(report.error().service()).isEqualTo("image registry " + REGISTRY);
    assertThat(report.error().step()).isEqualTo("environment");
    assertThat(report.inputs().environment().state()).isEqualTo(InputResult.State.NOT_CHECKED);
    assertThat(verdictsRecorded("outage@1")).as("verdicts written back to the manifest registry").isEmpty();
  }

  @Test
  @Order(2)
  void with_the_image_registry_back_within_the_deadline_the_replay_gets_its_true_verdict() throws Exception {
    if (registry == null) {
      startRegistry(); // registration happens while the registry is up, as it would in real life
    }
    register("outage@2");
    stopRegistry();

    CompletableFuture<ReplayResult> replay = CompletableFuture.supplyAsync(() -> replay("outage@2", "5m"));
    Thread.sleep(8_000);
    assertThat(replay).as("still retrying while the registry is down").isNotDone();
    startRegistry();
    ReplayResult result = replay.get(5, TimeUnit.MINUTES);

    assertThat(result.verdict()).as("verdict (%s)", result.reason()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(result.failedService()).isNull();
    assertThat(verdictsRecorded("outage@2")).as("the true verdict is written back").hasSize(1);
  }
}
