package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import dev.timemachine.activities.ControlActivitiesImpl;
import dev.timemachine.activities.TrainingActivitiesImpl;
import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.app.ReplayRunner;
import dev.timemachine.app.TemporalRuntime;
import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.registries.manifest.Registration;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.samples.SampleRuns;
import dev.timemachine.samples.Services;
import dev.timemachine.workflow.ReplayProgress;
import dev.timemachine.workflow.ReplayRequest;
import dev.timemachine.workflow.ReplayResult;
import dev.timemachine.workflow.ReplayWorkflow;
import io.temporal.api.enums.v1.TaskQueueType;
import io.temporal.api.taskqueue.v1.TaskQueue;
import io.temporal.api.workflowservice.v1.DescribeTaskQueueRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.api.common.v1.WorkflowExecution;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Host failover with real processes: a real Temporal dev server on its own port, one control worker and
 * two training workers (two "hosts", each with its own work directory) as separate JVMs of the packaged
 * jar. The host that answers the replay is killed with {@code kill -9} while it materializes, before it
 * can pick up the training step; the replay must notice within the pickup timeout and run again, whole,
 * on the other host, with the true verdict.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class HostFailoverIT {
  private static final Path JAR = Path.of("target/timemachine.jar").toAbsolutePath();
  private static final int TEMPORAL_PORT = TestServers.freePort();
  /** Short, so that the test takes seconds: a dead host is given up after this long. */
  private static final String PICKUP_TIMEOUT = "5s";
  /**
   * A data file this big keeps the chosen host restoring (copying and re-hashing) for a moment, so that it
   * is reliably killed before it reaches the training step.
   */
  private static final long PADDING_BYTES = 192L << 20;

  @TempDir static Path tmp;
  private Map<String, String> env;
  private Config config;
  private Components components;
  private TemporalRuntime client;
  private DockerClient docker;
  private final Map<String, Process> hosts = new LinkedHashMap<>();
  private Process control;
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
    env.put("TIMEMACHINE_STORE", tmp.resolve("home").resolve("store").toUri().toString());
    env.put("TIMEMACHINE_CONTROL_QUEUE", "failover-control");
    env.put("TIMEMACHINE_TRAINING_QUEUE", "failover-training");
    env.put("TIMEMACHINE_METRICS_PORT", "0");
    env.put("TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS", "5");
    env.put("TIMEMACHINE_HOST_PICKUP_TIMEOUT", PICKUP_TIMEOUT);
    // The control worker refuses to start without a signing key.
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
    try (RandomAccessFile padding = new RandomAccessFile(data.resolve("padding.bin").toFile(), "rw")) {
      padding.setLength(PADDING_BYTES);
    }
    components.registration(Clock.systemUTC()).register(
        new Registration.Request(new ModelRef("churn-failover", "1"), repo.url(), repo.commit(), dev.timemachine.samples.SampleProject.ENTRY_POINT,
            ".", image, data.toString(), original, RecordedOutputs.DEFAULT_METRICS_FILE, Map.of()),
        Progress.NONE);
  }

  @AfterAll
  void stop() throws Exception {
    hosts.values().forEach(Process::destroyForcibly);
    if (control != null) {
      control.destroyForcibly();
    }
    if (client != null) {
      client.close();
    }
    if (components != null) {
      components.close();
    }
    temporal("down");
  }

  @Test
  void a_host_killed_before_it_picks_up_the_training_step_is_abandoned_and_the_other_host_completes_the_replay()
      throws Exception {
    control = startWorker("control", "failover-control", "control");
    hosts.put(config.trainingQueue() + "@host-a", startWorker("host-a", "host-a", "training"));
    hosts.put(config.trainingQueue() + "@host-b", startWorker("host-b", "host-b", "training"));
    awaitPollers(config.trainingQueue(), 2);
    for (String hostQueue : hosts.keySet()) {
      awaitPollers(hostQueue, 1);
    }

    String id = "failover-" + System.currentTimeMillis();
    ReplayWorkflow workflow = client.client().newWorkflowStub(ReplayWorkflow.class,
        WorkflowOptions.newBuilder().setWorkflowId(id).setTaskQueue(config.controlQueue()).build());
    ReplayRequest request =
        new ReplayRequest(id, "churn-failover@1", SampleRuns.LIMITS, config.trainingQueue(), config.heartbeatTimeoutSeconds())
            .withHostPickupTimeout(config.hostPickupTimeout());
    WorkflowExecution execution = WorkflowClient.start(workflow::replay, request);
    say("started replay %s (pickup timeout %s, heartbeat timeout %d s)", id, PICKUP_TIMEOUT,
        config.heartbeatTimeoutSeconds());

    try (Watch watch = new Watch(id)) {
      ReplayWorkflow running = client.client().newWorkflowStub(ReplayWorkflow.class, id);
      ReplayProgress progress = running.progress();
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (progress.host() == null) {
        assertThat(System.nanoTime()).as("a host answered within 2 minutes").isLessThan(deadline);
        Thread.sleep(50);
        progress = running.progress();
      }
      String chosen = progress.host();
      Process victim = hosts.get(chosen);
      assertThat(victim).as("the chosen host %s is one of ours", chosen).isNotNull();
      victim.destroyForcibly().waitFor();
      say("KILLED %s (kill -9, pid %d) at step %s, finished %s", chosen, victim.pid(), progress.step(),
          progress.finishedSteps());
      assertThat(progress.finishedSteps()).as("killed before it materialized").doesNotContain("materialize", "train");
      String survivor = hosts.keySet().stream().filter(h -> !h.equals(chosen)).findFirst().orElseThrow();

      ReplayResult result = new ReplayRunner(client, config).await(execution, new PrintWriter(System.out, true));
      say("replay %s: %s (%s)", id, result.verdict(), result.reason());

      assertThat(result.verdict()).as("the true verdict, from the other host").isEqualTo(Verdict.REPRODUCED_BITWISE);
      ReplayReport report = Json.parse(
          components.store().getBytes(ControlActivitiesImpl.reportKey(id)), ReplayReport.class, result.reportUri());
      say("report: hosts %s, evidence failover: %s", report.hosts(), report.evidence().get("failover"));
      assertThat(report.hosts()).as("hosts tried, in order").containsExactly(chosen, survivor);
      assertThat(report.evidence().get("failover")).startsWith(chosen + " did not pick up ")
          .endsWith(" within 5 s");
      assertThat(watch.seen).as("one training container").hasSize(1);
      assertThat(watch.mountSources).as("the training ran in %s's work directory", survivor)
          .isNotEmpty()
          .allMatch(source -> source.startsWith(workDir(survivor).toString()), "under " + workDir(survivor));
    }
    assertThat(docker.listContainersCmd().withShowAll(true)
        .withLabelFilter(Map.of(TrainingActivitiesImpl.LABEL_REPLAY, id)).exec()).as("containers left").isEmpty();
  }

  private Path workDir(String hostQueue) {
    return tmp.resolve("work-" + hostQueue.substring(hostQueue.indexOf('@') + 1));
  }

  private Process startWorker(String name, String workerId, String queues) throws IOException {
    ProcessBuilder pb = new ProcessBuilder("java", "-jar", JAR.toString(), "worker", "--queues", queues)
        .redirectErrorStream(true).redirectOutput(tmp.resolve(name + ".log").toFile());
    pb.environment().putAll(env);
    pb.environment().put("TIMEMACHINE_WORKER_ID", workerId);
    pb.environment().put("TIMEMACHINE_WORK_DIR", tmp.resolve("work-" + workerId).toString());
    Process p = pb.start();
    say("started worker %s (pid %d, queues %s)", name, p.pid(), queues);
    return p;
  }

  private void awaitPollers(String queue, int count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (true) {
      int pollers = client.service().blockingStub().withDeadlineAfter(5, TimeUnit.SECONDS)
          .describeTaskQueue(DescribeTaskQueueRequest.newBuilder()
              .setNamespace(config.namespace())
              .setTaskQueue(TaskQueue.newBuilder().setName(queue).build())
              .setTaskQueueType(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
              .build())
          .getPollersCount();
      if (pollers >= count) {
        return;
      }
      assertThat(System.nanoTime()).as("%d pollers on %s within 2 minutes", count, queue).isLessThan(deadline);
      Thread.sleep(200);
    }
  }

  private void temporal(String command) throws IOException, InterruptedException {
    TestServers.temporal(env, tmp, command);
  }

  private void say(String format, Object... args) {
    System.out.printf("[failover-test +%5.1fs] %s%n", (System.nanoTime() - t0) / 1e9, String.format(format, args));
    System.out.flush();
  }

  /** Watches the replay's training containers: which ran, and which host directories they mounted. */
  private final class Watch implements AutoCloseable {
    final Set<String> seen = ConcurrentHashMap.newKeySet();
    final Set<String> mountSources = ConcurrentHashMap.newKeySet();
    final AtomicBoolean stop = new AtomicBoolean();
    final Thread thread;

    Watch(String replayId) {
      thread = new Thread(() -> {
        while (!stop.get()) {
          List<Container> running = docker.listContainersCmd()
              .withLabelFilter(Map.of(TrainingActivitiesImpl.LABEL_REPLAY, replayId)).exec();
          for (Container c : running) {
            if (seen.add(c.getId())) {
              try {
                InspectContainerResponse inspected = docker.inspectContainerCmd(c.getId()).exec();
                inspected.getMounts().forEach(m -> mountSources.add(m.getSource()));
              } catch (RuntimeException e) {
                // Gone between list and inspect: a training shorter than the poll; seen is what counts.
              }
            }
          }
          try {
            Thread.sleep(200);
          } catch (InterruptedException e) {
            return;
          }
        }
      });
      thread.start();
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      thread.join();
    }
  }
}
