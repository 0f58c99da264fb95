package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.adapters.docker.DockerContainerEngine;
import dev.timemachine.app.SigningKeys;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.ports.ContainerEngine;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.core.training.TrainingContainer;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.samples.SampleRuns;
import dev.timemachine.samples.Services;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * No leftovers after a {@code kill -9}: the packaged CLI (embedded Temporal) and a packaged worker (the
 * real dev server) are killed while their training container runs; the container, its processes and
 * the work directory outlive them, and the next worker start on the host removes them. Each test counts
 * containers, container processes and work directories before, after the kill and after the restart.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ReaperIT {
  private static final Path JAR = Path.of("target/timemachine.jar").toAbsolutePath();
  /** Long enough that only a kill ends it during the test; the sample's own training follows. */
  private static final String SLOW_ENTRY_POINT = "[\"sh\", \"-c\", \"sleep 300 && exec python3 train.py\"]";

  @TempDir static Path tmp;
  private Path home;
  private DockerContainerEngine engine;
  private SampleProject.Repository repo;
  private ImageRef image;
  private Path original;
  private String snapshot;
  private final List<Process> processes = new ArrayList<>();
  private final long t0 = System.nanoTime();

  @BeforeAll
  void prepare() throws Exception {
    Services.requireAll();
    assertThat(JAR).as("the packaged CLI").exists();
    home = Files.createDirectories(tmp.resolve("home"));
    engine = new DockerContainerEngine("unix:///var/run/docker.sock");
    image = SampleEnvironment.pinned();
    repo = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("churn"));
    engine.pull(image, Progress.NONE);
    Path data = SampleRuns.generateData(engine, image, repo, tmp.resolve("data"));
    original = SampleRuns.trainOriginal(engine, image, repo, data, tmp.resolve("original"));
    Result snap = run(Map.of(), "snapshot", "create", data.toString(), home.resolve("store").toUri().toString());
    assertThat(snap.exit()).as(snap.err()).isZero();
    snapshot = snap.out().strip().split("\n")[1];
    for (String[] version : List.of(new String[] {"churn-slow@1", SLOW_ENTRY_POINT}, new String[] {"churn@1", "python3 train.py"})) {
      Result reg = run(Map.of(), "register", "--model", version[0], "--repo", repo.url(), "--commit", repo.commit(),
          "--entry-point", version[1], "--image", image.toString(), "--data", snapshot, "--output", original.toString());
      assertThat(reg.exit()).as(reg.err()).isZero();
    }
  }

  @AfterAll
  void stop() {
    processes.forEach(Process::destroyForcibly);
    if (engine != null) {
      for (ContainerEngine.Labelled c : engine.containersLabelled(TrainingContainer.LABEL_REPLAY)) {
        if (c.labels().getOrDefault(TrainingContainer.LABEL_REPLAY, "").startsWith("reap-")) {
          engine.remove(c.name());
        }
      }
      engine.close();
    }
  }

  record Result(int exit, String out, String err) {}

  private ProcessBuilder builder(Map<String, String> extra, String... args) {
    List<String> command = new ArrayList<>(List.of("java", "-jar", JAR.toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().remove("TEMPORAL_ADDRESS");
    pb.environment().remove("TIMEMACHINE_STORE");
    pb.environment().put("TIMEMACHINE_HOME", home.toString());
    pb.environment().put("TIMEMACHINE_METRICS_PORT", "0");
    pb.environment().putAll(extra);
    return pb;
  }

  private Process start(Path log, Map<String, String> extra, String... args) throws IOException {
    Process p = builder(extra, args).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    processes.add(p);
    return p;
  }

  private Result run(Map<String, String> extra, String... args) throws IOException, InterruptedException {
    Path out = tmp.resolve("out-" + System.nanoTime());
    Path err = tmp.resolve("err-" + System.nanoTime());
    Process p = builder(extra, args).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(p.waitFor(10, TimeUnit.MINUTES)).as("timemachine %s finished", String.join(" ", args)).isTrue();
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  private void say(String format, Object... args) {
    System.out.printf("[reaper-test +%5.1fs] %s%n", (System.nanoTime() - t0) / 1e9, String.format(format, args));
  }

  /** Containers, their live host processes, and work directories of one replay. */
  record Count(int containers, int processes, int workDirs) {}

  private Count count(String replayId) throws Exception {
    int containers = 0;
    int live = 0;
    for (ContainerEngine.Labelled c : engine.containersLabelled(TrainingContainer.LABEL_REPLAY)) {
      if (!replayId.equals(c.labels().get(TrainingContainer.LABEL_REPLAY))) {
        continue;
      }
      containers++;
      Process inspect = new ProcessBuilder("docker", "inspect", "-f", "{{.State.Pid}}", c.name()).start();
      String pid = new String(inspect.getInputStream().readAllBytes()).strip();
      inspect.waitFor();
      if (!pid.isEmpty() && !pid.equals("0") && ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false)) {
        live += 1 + (int) ProcessHandle.of(Long.parseLong(pid)).get().descendants().count();
      }
    }
    Path work = home.resolve("work");
    int dirs = 0;
    if (Files.isDirectory(work)) {
      try (Stream<Path> list = Files.list(work)) {
        dirs = (int) list.filter(d -> d.getFileName().toString().equals(replayId)).count();
      }
    }
    return new Count(containers, live, dirs);
  }

  private void awaitRunning(String replayId, Process owner, Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (count(replayId).processes() == 0) {
      assertThat(owner.isAlive()).as("the process driving %s is alive: %s", replayId, read(log)).isTrue();
      assertThat(System.nanoTime()).as("training of %s started within 3 minutes", replayId).isLessThan(deadline);
      Thread.sleep(250);
    }
  }

  private static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return e.toString();
    }
  }

  @Test
  void kill_9_of_the_embedded_cli_leaves_a_container_that_the_next_cli_start_removes() throws Exception {
    String id = "reap-embedded-" + System.currentTimeMillis();
    Count before = count(id);
    Path log = tmp.resolve(id + ".log");
    Process cli = start(log, Map.of(), "replay", "churn-slow@1", "--replay-id", id);
    awaitRunning(id, cli, log);
    cli.destroyForcibly().waitFor();
    Thread.sleep(2000);
    Count afterKill = count(id);
    say("kill -9 of the embedded CLI (pid %d) during training of %s: before %s, after the kill %s", cli.pid(), id, before,
        afterKill);
    assertThat(before).isEqualTo(new Count(0, 0, 0));
    assertThat(afterKill.containers()).as("the orphaned container outlives the CLI").isEqualTo(1);
    assertThat(afterKill.processes()).as("and its processes run on").isPositive();
    assertThat(afterKill.workDirs()).as("and its work directory stays").isEqualTo(1);

    // A CLI of another installation on the same engine (another TIMEMACHINE_HOME, so another work root, and
    // its own embedded Temporal server that never heard of this replay) reaps at its start too, but not this.
    Path otherHome = Files.createDirectories(tmp.resolve("other-home"));
    Result other = run(Map.of("TIMEMACHINE_HOME", otherHome.toString()), "replay", "churn@1", "--replay-id", id + "-other");
    say("a CLI of another home (exit %d) left %s", other.exit(), count(id));
    assertThat(count(id).containers()).as("another installation's reaper leaves the container alone: %s", other.err())
        .isEqualTo(1);

    // The next CLI start on this host (any replay) starts a training worker, which reaps first.
    Result next = run(Map.of(), "replay", "churn@1", "--replay-id", id + "-next");
    assertThat(next.exit()).as(next.err()).isZero();
    Count afterRestart = count(id);
    say("after the next CLI start: %s; it said: %s", afterRestart,
        next.err().lines().filter(l -> l.contains("removed")).toList());
    assertThat(afterRestart).as("containers, processes, work dirs of %s", id).isEqualTo(new Count(0, 0, 0));
    assertThat(next.err()).contains("removed the training container timemachine-train-" + id)
        .contains("removed the work directory");
    assertThat(count(id + "-next")).as("the second replay cleaned up after itself").isEqualTo(new Count(0, 0, 0));
  }

  @Test
  void a_worker_restart_removes_the_container_of_a_replay_that_was_terminated_while_its_worker_was_dead()
      throws Exception {
    Map<String, String> server = new HashMap<>();
    String suffix = Long.toString(System.currentTimeMillis());
    server.put("TEMPORAL_ADDRESS", "127.0.0.1:7233");
    server.put("TIMEMACHINE_CONTROL_QUEUE", "reap-control-" + suffix);
    server.put("TIMEMACHINE_TRAINING_QUEUE", "reap-training-" + suffix);
    server.put("TIMEMACHINE_WORKER_ID", "reap-host-" + suffix);
    server.put("TIMEMACHINE_SIGNING_KEY", SigningKeys.create(tmp.resolve("keys-" + suffix)).keyFile().toString());
    String id = "reap-server-" + suffix;

    Path log1 = tmp.resolve("worker-1.log");
    Process worker = start(log1, server, "worker", "--queues", "control,training");
    Process client = start(tmp.resolve("client.log"), server, "replay", "churn-slow@1", "--replay-id", id);
    awaitRunning(id, worker, log1);
    worker.destroyForcibly().waitFor();
    WorkflowServiceStubs stubs = WorkflowServiceStubs.newServiceStubs(
        WorkflowServiceStubsOptions.newBuilder().setTarget("127.0.0.1:7233").build());
    try {
      WorkflowClient.newInstance(stubs, WorkflowClientOptions.newBuilder().setNamespace("default").build())
          .newUntypedWorkflowStub(id).terminate("ReaperIT: given up while its worker was dead");
    } finally {
      stubs.shutdown();
    }
    assertThat(client.waitFor(60, TimeUnit.SECONDS)).as("the client ends once the replay is terminated").isTrue();
    Count afterKill = count(id);
    say("kill -9 of the worker (pid %d) during training of %s, then the workflow terminated: %s", worker.pid(), id,
        afterKill);
    assertThat(afterKill.containers()).as("the orphaned container outlives its worker and its workflow").isEqualTo(1);
    assertThat(afterKill.workDirs()).isEqualTo(1);

    Path log2 = tmp.resolve("worker-2.log");
    Process restarted = start(log2, server, "worker", "--queues", "control,training");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!count(id).equals(new Count(0, 0, 0)) && System.nanoTime() < deadline) {
      assertThat(restarted.isAlive()).as("the restarted worker runs: %s", read(log2)).isTrue();
      Thread.sleep(250);
    }
    say("after the worker restart: %s", count(id));
    assertThat(count(id)).as("containers, processes, work dirs of %s after the restart", id)
        .isEqualTo(new Count(0, 0, 0));
    assertThat(read(log2)).contains("removed the training container timemachine-train-" + id)
        .contains("workflow " + id + " has closed");
    restarted.destroy();
  }
}
