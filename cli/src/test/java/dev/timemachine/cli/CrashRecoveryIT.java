package dev.timemachine.cli;

import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.app.TemporalRuntime;
import dev.timemachine.app.ReplayRunner;

import dev.timemachine.registries.manifest.Registration;
import dev.timemachine.samples.SampleRuns;
import dev.timemachine.samples.Services;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import dev.timemachine.activities.TrainingActivitiesImpl;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.workflow.ReplayRequest;
import dev.timemachine.workflow.ReplayResult;
import dev.timemachine.workflow.ReplayWorkflow;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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
 * Crash tests with real processes and real kills: a real Temporal dev server (SQLite, durable) on its
 * own port and database, timemachine workers as separate JVMs, {@code kill -9} of a worker and of the
 * server in the middle of training. Each test prints what it killed, when, and the final verdict.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class CrashRecoveryIT {
  private static final Path JAR = Path.of("target/timemachine.jar").toAbsolutePath();
  /**
   * A port of its own, free when the test starts: a second build on the same machine must not share
   * (and kill) this test's server, which would make replays vanish for reasons that are not ours.
   */
  private static final int TEMPORAL_PORT = TestServers.freePort();
  /** Long enough to kill things in the middle of it; the model it then trains is the seeded sample. */
  private static final List<String> SLOW_ENTRY_POINT = List.of("sh", "-c", "sleep 20 && exec python3 train.py");

  @TempDir static Path tmp;
  private Map<String, String> env;
  private Config config;
  private Components components;
  private TemporalRuntime client;
  private DockerClient docker;
  private final List<Process> workers = new ArrayList<>();
  private final long t0 = System.nanoTime();

  @BeforeAll
  void start() throws Exception {
    Services.requireAll();
    assertThat(JAR).as("the packaged worker").exists();
    env = new HashMap<>();
    env.put("TIMEMACHINE_SERVICES_DIR", tmp.resolve("services").toString());
    env.put("TEMPORAL_PORT", String.valueOf(TEMPORAL_PORT));
    temporal("up");
    env.put("TEMPORAL_ADDRESS", "127.0.0.1:" + TEMPORAL_PORT);
    env.put("TIMEMACHINE_HOME", tmp.resolve("home").toString());
    env.put("TIMEMACHINE_WORKER_ID", "crash-host");
    env.put("TIMEMACHINE_CONTROL_QUEUE", "crash-control");
    env.put("TIMEMACHINE_TRAINING_QUEUE", "crash-training");
    env.put("TIMEMACHINE_METRICS_PORT", "0");
    // Workers refuse to start without a key: give them one, as a team's deployment would.
    env.put("TIMEMACHINE_SIGNING_KEY",
        dev.timemachine.app.SigningKeys.create(tmp.resolve("keys")).keyFile().toString());
    config = Config.fromEnvironment(env);
    components = new Components(config);
    client = TemporalRuntime.connect(config);
    docker = DockerClientImpl.getInstance(
        DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost("unix:///var/run/docker.sock").build(),
        new ApacheDockerHttpClient.Builder().dockerHost(URI.create("unix:///var/run/docker.sock")).build());

    ImageRef image = SampleEnvironment.pinned();
    SampleProject.Repository repo = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("churn"));
    Path data = SampleRuns.generateData(components.engine(), image, repo, tmp.resolve("data"));
    Path original = SampleRuns.trainOriginal(components.engine(), image, repo, data, tmp.resolve("original"));
    components.registration(Clock.systemUTC()).register(
        new Registration.Request(new ModelRef("churn-slow", "1"), repo.url(), repo.commit(), SLOW_ENTRY_POINT, ".", image,
            data.toString(), original, RecordedOutputs.DEFAULT_METRICS_FILE, Map.of()),
        Progress.NONE);
  }

  @AfterAll
  void stop() throws Exception {
    for (Process p : workers) {
      p.destroyForcibly();
    }
    if (client != null) {
      client.close();
    }
    if (components != null) {
      components.close();
    }
    temporal("down");
  }

  private void temporal(String command) throws IOException, InterruptedException {
    TestServers.temporal(env, tmp, command);
  }

  private Process startWorker(String name) throws IOException {
    ProcessBuilder pb = new ProcessBuilder("java", "-jar", JAR.toString(), "worker", "--queues", "control,training")
        .redirectErrorStream(true).redirectOutput(tmp.resolve(name + ".log").toFile());
    pb.environment().putAll(env);
    Process p = pb.start();
    workers.add(p);
    say("started worker %s (pid %d)", name, p.pid());
    return p;
  }

  private void say(String format, Object... args) {
    System.out.printf("[crash-test +%5.1fs] %s%n", (System.nanoTime() - t0) / 1e9, String.format(format, args));
    System.out.flush();
  }

  private List<Container> trainingContainers(String replayId, boolean all) {
    return docker.listContainersCmd().withShowAll(all)
        .withLabelFilter(Map.of(TrainingActivitiesImpl.LABEL_REPLAY, replayId)).exec();
  }

  /** Watches the replay's training containers: which ones ever ran, and how many at once. */
  private final class Watch implements AutoCloseable {
    final Set<String> seen = new LinkedHashSet<>();
    final AtomicInteger maxRunning = new AtomicInteger();
    final AtomicBoolean stop = new AtomicBoolean();
    final Thread thread;

    Watch(String replayId) {
      thread = new Thread(() -> {
        while (!stop.get()) {
          List<Container> running = trainingContainers(replayId, false);
          running.forEach(c -> seen.add(c.getId()));
          maxRunning.accumulateAndGet(running.size(), Math::max);
          try {
            Thread.sleep(200);
          } catch (InterruptedException e) {
            return;
          }
        }
      });
      thread.start();
    }

    void awaitTraining() throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (seen.isEmpty()) {
        assertThat(System.nanoTime()).as("training container started within 3 minutes").isLessThan(deadline);
        Thread.sleep(200);
      }
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      thread.join();
    }
  }

  private WorkflowExecution startReplay(String replayId, int heartbeatSeconds) {
    ReplayWorkflow workflow = client.client().newWorkflowStub(ReplayWorkflow.class,
        WorkflowOptions.newBuilder().setWorkflowId(replayId).setTaskQueue(config.controlQueue()).build());
    return WorkflowClient.start(workflow::replay,
        new ReplayRequest(replayId, "churn-slow@1", SampleRuns.LIMITS, config.trainingQueue(), heartbeatSeconds));
  }

  private ReplayResult await(WorkflowExecution execution) {
    return new ReplayRunner(client, config).await(execution, new PrintWriter(System.out, true));
  }

  private long reportsFor(String replayId) {
    return components.store().list("reports/").stream().filter(k -> k.equals("reports/" + replayId + ".json")).count();
  }

  private Verdict undisturbed;

  @Test
  @Order(0)
  void a_replay_started_while_no_worker_polls_says_which_worker_to_start() throws Exception {
    List<String> warnings = new ReplayRunner(client, config).idleQueues();
    say("with no worker running, the CLI warns: %s", warnings);
    assertThat(warnings).as("warnings without workers").hasSize(2);
    assertThat(warnings.get(0)).contains("control task queue 'crash-control'").contains("timemachine worker --queues control");
    assertThat(warnings.get(1)).contains("training task queue 'crash-training'").contains("timemachine worker --queues training");
  }

  @Test
  @Order(1)
  void an_undisturbed_replay_sets_the_baseline() throws Exception {
    startWorker("worker-0");
    List<String> idle = new ReplayRunner(client, config).idleQueues();
    for (int i = 0; i < 60 && !idle.isEmpty(); i++) {
      Thread.sleep(500);
      idle = new ReplayRunner(client, config).idleQueues();
    }
    assertThat(idle).as("no warning once a worker polls both queues").isEmpty();
    String id = "crash-baseline-" + System.currentTimeMillis();
    ReplayResult result = await(startReplay(id, 10));
    undisturbed = result.verdict();
    say("undisturbed replay %s: %s (%s)", id, result.verdict(), result.reason());
    assertThat(result.verdict()).isEqualTo(Verdict.REPRODUCED_BITWISE);

    // The worker's Prometheus endpoint counts the replay by verdict and carries the SDK's own metrics.
    String log = Files.readString(tmp.resolve("worker-0.log"));
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("metrics at (http://\\S+/metrics)").matcher(log);
    assertThat(m.find()).as("worker announces its metrics endpoint: %s", log).isTrue();
    String scrape = "";
    for (int i = 0; i < 20 && !scrape.contains("timemachine_replays_total"); i++) {
      Thread.sleep(500);
      scrape = java.net.http.HttpClient.newHttpClient().send(
          java.net.http.HttpRequest.newBuilder(URI.create(m.group(1))).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }
    assertThat(scrape).containsPattern("timemachine_replays_total\\{[^}]*verdict=\"REPRODUCED_BITWISE\"[^}]*\\} 1\\.0");
    assertThat(scrape).containsPattern("timemachine_step_duration_seconds_count\\{[^}]*step=\"train\"");
    assertThat(scrape).as("the SDK's own metrics").contains("temporal_");
    say("worker metrics: %d lines of Prometheus text, replays by verdict and step durations present",
        scrape.lines().count());
    workers.remove(0).destroy();
  }

  @Test
  @Order(2)
  void kill_9_of_the_worker_during_training_loses_nothing_and_trains_once() throws Exception {
    Process first = startWorker("worker-1");
    String id = "crash-worker-" + System.currentTimeMillis();
    WorkflowExecution execution = startReplay(id, 10);
    try (Watch watch = new Watch(id)) {
      watch.awaitTraining();
      Thread.sleep(3000);
      first.destroyForcibly().waitFor();
      say("KILLED worker-1 (kill -9, pid %d) during training of %s; its container %s keeps running",
          first.pid(), id, watch.seen);
      assertThat(trainingContainers(id, false)).as("the orphaned training container is still running").hasSize(1);
      startWorker("worker-2");
      ReplayResult result = await(execution);
      say("replay %s after the worker kill: %s (%s)", id, result.verdict(), result.reason());

      assertThat(result.verdict()).as("same verdict as undisturbed").isEqualTo(undisturbed);
      assertThat(watch.seen).as("one training container, reattached, never a second one").hasSize(1);
      assertThat(watch.maxRunning).as("trainings of this replay at the same time").hasValue(1);
    }
    assertThat(trainingContainers(id, true)).as("orphan containers").isEmpty();
    assertThat(reportsFor(id)).as("reports of %s", id).isEqualTo(1);
    say("worker crash test: 1 training container, 0 orphans, 1 report, verdict %s", undisturbed);
  }

  @Test
  @Order(3)
  void kill_9_of_the_temporal_server_during_training_loses_nothing() throws Exception {
    String id = "crash-server-" + System.currentTimeMillis();
    WorkflowExecution execution = startReplay(id, 60);
    try (Watch watch = new Watch(id)) {
      watch.awaitTraining();
      Thread.sleep(3000);
      temporal("kill9");
      say("KILLED the Temporal dev server (kill -9) during training of %s", id);
      Thread.sleep(3000);
      temporal("restart");
      say("restarted the Temporal dev server on the same SQLite database");
      ReplayResult result;
      try {
        result = await(execution);
      } catch (RuntimeException e) {
        // Keep the evidence of a lost replay: what the restarted server logged and what its state dir holds.
        Path state = tmp.resolve("services").resolve("temporal-" + TEMPORAL_PORT);
        try (var files = Files.list(state)) {
          say("replay %s failed after the restart: %s; state dir %s: %s", id, e.getMessage(), state,
              files.map(f -> f.getFileName() + " (" + f.toFile().length() + " bytes)").toList());
        }
        List<String> log = Files.readAllLines(state.resolve("server.log"));
        say("server.log, last 40 lines:%n%s", String.join("\n", log.subList(Math.max(0, log.size() - 40), log.size())));
        throw e;
      }
      say("replay %s after the server kill: %s (%s)", id, result.verdict(), result.reason());

      assertThat(result.verdict()).as("same verdict as undisturbed").isEqualTo(undisturbed);
      assertThat(watch.maxRunning).as("trainings of this replay at the same time").hasValue(1);
    }
    assertThat(trainingContainers(id, true)).as("orphan containers").isEmpty();
    assertThat(reportsFor(id)).as("reports of %s", id).isEqualTo(1);
    say("server crash test: 0 orphans, 1 report, verdict %s", undisturbed);
  }

}
