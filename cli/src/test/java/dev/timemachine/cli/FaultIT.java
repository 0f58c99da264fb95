package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import dev.timemachine.activities.ControlActivitiesImpl;
import dev.timemachine.activities.TrainingActivitiesImpl;
import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.app.TemporalRuntime;
import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.DataRef;
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
import io.temporal.api.enums.v1.TaskQueueType;
import io.temporal.api.taskqueue.v1.TaskQueue;
import io.temporal.api.workflow.v1.PendingActivityInfo;
import io.temporal.api.workflowservice.v1.DescribeTaskQueueRequest;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Faults of the services a replay stands on, with real processes and real kills, all on this test's own
 * instances so that nobody else's tests are disturbed: its own Temporal dev server (scripts/temporal.sh on a
 * free port), its own s3proxy (the jar scripts/services.sh cached, a free port, its own basedir), its own
 * Docker engine ({@code dockerd} on its own socket, data root and exec root, pulling the sample image from
 * the shared registry) and tmpfs mounts for full disks. Workers and the CLI are the packaged jar. The S3
 * server is killed with {@code kill -9} during a replay and during a snapshot upload, the Docker engine
 * during training, the work directory and the store run out of disk: each ends with a retried success or
 * an outage ({@code ERROR}, exit 4) naming what failed, never a verdict blamed on the model and never a
 * half-written report or snapshot.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class FaultIT {
  private static final Path JAR = Path.of("target/timemachine.jar").toAbsolutePath();
  private static final Path S3PROXY_JAR = Path.of(System.getProperty("user.home"),
      ".cache/timemachine/s3proxy-4.1.0-jar-with-dependencies.jar");
  private static final String BUCKET = "fault-it";
  /** Long enough to kill a service in the middle of it; then it trains the seeded sample. */
  private static final List<String> SLOW = List.of("sh", "-c", "sleep 6 && exec python3 train.py");
  /** Still sleeping when the Docker engine is back from its restart, so that the restart kills it. */
  private static final List<String> SLOWER = List.of("sh", "-c", "sleep 20 && exec python3 train.py");
  /** Fills /out (the work directory's disk) before it trains, as a model writing a huge checkpoint would. */
  private static final List<String> FILLS_OUT =
      List.of("sh", "-c", "head -c 200000000 /dev/zero > /out/checkpoint.bin; exec python3 train.py");

  private static Path tmp;
  private final long t0 = System.nanoTime();
  private final List<Runnable> cleanups = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();
  private final Map<String, String> env = new HashMap<>();
  private S3Server s3;
  private DockerEngine dockerd;
  private Components components;
  private DockerClient docker;
  private TemporalRuntime temporal;
  private int temporalPort;
  private int testNumber;

  // ---------------------------------------------------------------------------------------------- setup

  @BeforeAll
  void start() throws Exception {
    Services.requireAll();
    assertThat(JAR).as("the packaged CLI and worker").exists();
    assertThat(S3PROXY_JAR).as("the s3proxy jar scripts/services.sh caches").exists();
    tmp = Files.createTempDirectory(Path.of("/tmp"), "tmfault-");
    cleanups.add(() -> run("rm", "-rf", tmp.toString()));
    // The logs of every worker, server and engine outlive the run, for whoever reads a failure.
    Path logs = Files.createDirectories(Path.of("target/fault-it-logs").toAbsolutePath());
    cleanups.add(() -> run(true, "sh", "-c", "cd " + tmp + " && find . -name '*.log' -exec cp --parents {} " + logs + " \\;"));

    temporalPort = TestServers.freePort();
    env.put("TIMEMACHINE_SERVICES_DIR", tmp.resolve("services").toString());
    env.put("TEMPORAL_PORT", String.valueOf(temporalPort));
    temporal("up");
    cleanups.add(() -> {
      try {
        temporal("down");
      } catch (Exception e) {
        say("could not stop the Temporal dev server: %s", e);
      }
    });
    env.put("TEMPORAL_ADDRESS", "127.0.0.1:" + temporalPort);
    env.put("TIMEMACHINE_HOME", tmp.resolve("home").toString());
    env.put("TIMEMACHINE_METRICS_PORT", "0");
    env.put("TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS", "10");
    env.put("AWS_ACCESS_KEY_ID", Services.S3_ACCESS_KEY);
    env.put("AWS_SECRET_ACCESS_KEY", Services.S3_SECRET_KEY);
    env.put("AWS_REGION", "us-east-1");
    env.put("AWS_EC2_METADATA_DISABLED", "true");
    env.put("TIMEMACHINE_SIGNING_KEY",
        dev.timemachine.app.SigningKeys.create(tmp.resolve("keys")).keyFile().toString());

    s3 = new S3Server("s3", tmp.resolve("s3"));
    s3.start();
    useStore(s3);
    dockerd = new DockerEngine(tmp.resolve("docker"));
    dockerd.start();
    env.put("DOCKER_HOST", dockerd.host());
    docker = dockerd.client();

    // Set up on the shared engine (it has the image); the workers use this test's own engine.
    Map<String, String> setup = new HashMap<>(env);
    setup.remove("DOCKER_HOST");
    components = new Components(Config.fromEnvironment(setup));
    temporal = TemporalRuntime.connect(components.config());
    register(components, "fault-slow@1", SLOW, 0);
    register(components, "fault-slower@1", SLOWER, 0);
    register(components, "fault@1", SampleProject.ENTRY_POINT, 0);
    register(components, "fault-big@1", SampleProject.ENTRY_POINT, 96L << 20);
    register(components, "fault-fill@1", FILLS_OUT, 0);
    say("set up: Temporal on :%d, s3proxy on :%d, dockerd on %s", temporalPort, s3.port, dockerd.socket);
  }

  private SampleProject.Repository churn;
  private Path data;
  private Path original;

  private void register(Components on, String model, List<String> entryPoint, long padding) throws Exception {
    ImageRef image = SampleEnvironment.pinned();
    if (churn == null) {
      churn = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("churn"));
      data = SampleRuns.generateData(on.engine(), image, churn, tmp.resolve("data"));
      original = SampleRuns.trainOriginal(on.engine(), image, churn, data, tmp.resolve("original"));
    }
    Path dataDir = data;
    if (padding > 0) {
      dataDir = tmp.resolve("data-padded");
      if (!Files.exists(dataDir)) {
        run("cp", "-r", data.toString(), dataDir.toString());
        try (RandomAccessFile file = new RandomAccessFile(dataDir.resolve("padding.bin").toFile(), "rw")) {
          file.setLength(padding);
        }
      }
    }
    on.registration(Clock.systemUTC()).register(
        new Registration.Request(ModelRef.parse(model), churn.url(), churn.commit(), entryPoint, ".", image,
            dataDir.toString(), original, RecordedOutputs.DEFAULT_METRICS_FILE, Map.of()),
        Progress.NONE);
  }

  private void useStore(S3Server server) {
    env.put("TIMEMACHINE_STORE", "s3://" + BUCKET + "/tm");
    env.put("TIMEMACHINE_S3_ENDPOINT", server.endpoint());
  }

  private Worker shared;

  /** One worker for the tests that share the store, the engine and the work directory: each start costs seconds. */
  private Worker sharedWorker() throws Exception {
    if (shared == null || !shared.process().isAlive()) {
      shared = startWorker(tmp.resolve("work-shared"));
    }
    return shared;
  }

  @AfterEach
  void stopProcesses() {
    for (Process p : processes) {
      if (shared == null || p != shared.process()) {
        p.destroyForcibly();
      }
    }
    processes.removeIf(p -> !p.isAlive());
  }

  @AfterAll
  void stop() {
    shared = null;
    stopProcesses();
    if (temporal != null) {
      temporal.close();
    }
    if (components != null) {
      components.close();
    }
    for (int i = cleanups.size() - 1; i >= 0; i--) {
      try {
        cleanups.get(i).run();
      } catch (RuntimeException e) {
        say("cleanup failed: %s", e);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- the faults

  @Test
  @Order(1)
  void the_s3_server_killed_during_training_and_back_while_the_step_retries_gives_the_true_verdict_trained_once()
      throws Exception {
    Worker worker = sharedWorker();
    String id = "fault-s3-back-" + System.currentTimeMillis();
    try (Watch watch = new Watch(id)) {
      CompletableFuture<Cli> replay = replayAsync("fault-slow@1", id, "2m");
      watch.awaitTraining();
      s3.kill9();
      say("KILLED s3proxy (kill -9) during the training of %s", id);
      long down = System.nanoTime();
      awaitTrainAttempt(id, 2, 120);
      say("the train step failed and is being retried (attempt 2) after %.1f s with the store down",
          (System.nanoTime() - down) / 1e9);
      s3.start();
      say("restarted s3proxy on the same basedir after %.1f s", (System.nanoTime() - down) / 1e9);
      Cli result = replay.get(4, TimeUnit.MINUTES);
      say("replay %s: exit %d in %.1f s%n%s", id, result.exit, result.seconds, result.out);

      assertThat(result.exit).as("exit code; stderr: %s", result.err).isZero();
      assertThat(result.out).contains("verdict: REPRODUCED_BITWISE");
      assertThat(watch.seen).as("training containers: the kept outputs were uploaded on the retry, not retrained")
          .hasSize(1);
    }
    ReplayReport report = report(id);
    assertThat(report.verdict()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(report.log()).as("the stored training log").isNotNull();
    assertThat(components.store().list("reports/").stream().filter(k -> k.equals("reports/" + id + ".json")))
        .as("reports of %s", id).hasSize(1);
    assertThat(worker.dir.resolve(id)).as("work directory after the replay").doesNotExist();
  }

  @Test
  @Order(2)
  void the_s3_server_down_past_the_retry_budget_ends_error_exit_4_with_no_report_and_no_write_back() throws Exception {
    sharedWorker();
    String id = "fault-s3-gone-" + System.currentTimeMillis();
    Cli result;
    try (Watch watch = new Watch(id)) {
      CompletableFuture<Cli> replay = replayAsync("fault-slow@1", id, "10s");
      watch.awaitTraining();
      s3.kill9();
      say("KILLED s3proxy (kill -9) during the training of %s; it stays down", id);
      result = replay.get(4, TimeUnit.MINUTES);
      say("replay %s: exit %d in %.1f s%n%s%s", id, result.exit, result.seconds, result.out, result.err);
      assertThat(watch.seen).as("training containers").hasSize(1);
    } finally {
      s3.start();
    }
    assertThat(result.exit).as("exit code; stderr: %s", result.err).isEqualTo(4);
    assertThat(result.out).contains("verdict: ERROR").contains("report:  none");
    assertThat(result.err).contains("error: no verdict").contains("127.0.0.1:" + s3.port);
    assertThat(components.store().exists(ControlActivitiesImpl.reportKey(id))).as("a report of %s", id).isFalse();
    assertThat(writtenBack(id)).as("verdicts written back").isEmpty();
  }

  @Test
  @Order(3)
  void a_snapshot_upload_cut_by_an_s3_kill_leaves_no_snapshot_and_completes_when_run_again() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("big-data"));
    SplittableRandom random = new SplittableRandom(15);
    byte[] block = new byte[1 << 20];
    for (int f = 0; f < 32; f++) {
      try (OutputStream out = Files.newOutputStream(dir.resolve("part-" + f + ".bin"))) {
        for (int mb = 0; mb < 16; mb++) {
          random.nextBytes(block);
          out.write(block);
        }
      }
    }
    Path objects = s3.basedir.resolve(BUCKET).resolve("tm").resolve("objects");
    Path snapshots = s3.basedir.resolve(BUCKET).resolve("tm").resolve("snapshots");
    long before = countFiles(objects);
    long manifestsBefore = countFiles(snapshots);
    Process create = cli(List.of("snapshot", "create", dir.toString(), "s3://" + BUCKET + "/tm"), env);
    long started = System.nanoTime();
    waitFor(() -> countFiles(objects) > before || !create.isAlive(), 60, "the first uploaded object");
    assertThat(create.isAlive()).as("the upload was still running when the first objects arrived").isTrue();
    s3.kill9();
    long stored = countFiles(objects) - before;
    say("KILLED s3proxy (kill -9) %.1f s into the upload of 512 MB, %d of 32 objects stored",
        (System.nanoTime() - started) / 1e9, stored);
    Cli cut = Cli.of(create, started);
    say("snapshot create with the store killed: exit %d in %.1f s: %s", cut.exit, cut.seconds, cut.err.strip());
    s3.start();

    assertThat(cut.exit).as("exit code; stderr: %s", cut.err).isEqualTo(4);
    assertThat(cut.err).contains("error: ").contains("127.0.0.1:" + s3.port).doesNotContain("bug in timemachine");
    assertThat(countFiles(snapshots)).as("snapshot manifests: a cut upload adds none").isEqualTo(manifestsBefore);

    Cli again = Cli.of(cli(List.of("snapshot", "create", "--json", dir.toString(), "s3://" + BUCKET + "/tm"), env),
        System.nanoTime());
    say("snapshot create again: exit %d in %.1f s: %s", again.exit, again.seconds, again.err.strip());
    assertThat(again.exit).as("stderr: %s", again.err).isZero();
    DataRef created = Json.parse(again.out.getBytes(StandardCharsets.UTF_8), DataRef.class, "snapshot create --json");
    String restored = components.snapshots().restore(
        DataRef.of(created.snapshotUri(), components.snapshots().readManifest(created.snapshotUri()).files()),
        tmp.resolve("restored"), Progress.NONE);
    say("restored the completed snapshot: %s", restored);
    assertThat(restored).contains("32 files", "every sha256 verified");
  }

  @Test
  @Order(4)
  void the_docker_engine_restarted_during_training_trains_again_and_gives_the_true_verdict() throws Exception {
    Worker worker = sharedWorker();
    String id = "fault-dockerd-" + System.currentTimeMillis();
    try (Watch watch = new Watch(id)) {
      CompletableFuture<Cli> replay = replayAsync("fault-slower@1", id, "2m");
      watch.awaitTraining();
      Thread.sleep(1000);
      dockerd.kill9();
      say("KILLED dockerd (kill -9) during the training of %s (container %s)", id, watch.seen);
      dockerd.start();
      say("restarted dockerd on the same data root (live-restore off: the training container died with it)");
      Cli result = replay.get(4, TimeUnit.MINUTES);
      say("replay %s: exit %d in %.1f s%n%s", id, result.exit, result.seconds, result.out);

      assertThat(result.exit).as("exit code; stdout: %s stderr: %s", result.out, result.err).isZero();
      assertThat(result.out).contains("verdict: REPRODUCED_BITWISE");
      assertThat(watch.seen).as("training containers: the killed one, then a fresh one").hasSize(2);
    }
    assertThat(report(id).verdict()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(docker.listContainersCmd().withShowAll(true)
        .withLabelFilter(Map.of(TrainingActivitiesImpl.LABEL_REPLAY, id)).exec()).as("containers left").isEmpty();
    assertThat(worker.dir.resolve(id)).as("work directory after the replay").doesNotExist();
  }

  @Test
  @Order(5)
  void a_dead_docker_engine_is_an_outage_exit_4_not_unverifiable_inputs_and_leaves_no_work_directory()
      throws Exception {
    Map<String, String> dead = new HashMap<>(env);
    dead.put("DOCKER_HOST", "unix://" + tmp.resolve("no-dockerd.sock"));
    Worker worker = startWorker(tmp.resolve("work-5"), dead);
    String id = "fault-no-engine-" + System.currentTimeMillis();
    Cli result = replayAsync("fault@1", id, "10s").get(4, TimeUnit.MINUTES);
    say("replay %s with no Docker engine: exit %d in %.1f s%n%s%s", id, result.exit, result.seconds, result.out,
        result.err);

    assertThat(result.exit).as("exit code; stdout: %s", result.out).isEqualTo(4);
    assertThat(result.out).contains("verdict: ERROR").contains("Docker engine");
    assertThat(report(id).error().step()).isEqualTo("environment");
    assertThat(report(id).inputs().environment().state().name()).isEqualTo("NOT_CHECKED");
    waitFor(() -> !Files.exists(worker.dir.resolve(id)), 30, "the work directory removed");
    assertThat(worker.dir.resolve(id)).as("work directory with code and data").doesNotExist();
  }

  @Test
  @Order(6)
  void a_full_work_directory_disk_during_restore_is_an_outage_naming_the_disk_and_the_path() throws Exception {
    Path work = tmpfs("work-6", "48m");
    Worker worker = startWorker(work);
    String id = "fault-disk-restore-" + System.currentTimeMillis();
    Cli result = replayAsync("fault-big@1", id, "2m").get(4, TimeUnit.MINUTES);
    say("replay %s of a 96 MB snapshot into a 48 MB work dir: exit %d in %.1f s%n%s%s", id, result.exit,
        result.seconds, result.out, result.err);

    assertThat(result.exit).as("exit code; stdout: %s", result.out).isEqualTo(4);
    assertThat(result.out).contains("verdict: ERROR").contains("No space left on device").contains(work.toString());
    ReplayReport report = report(id);
    assertThat(report.error().step()).as("the step that hit the full disk first").isIn("code", "data");
    assertThat(report.error().service()).contains("disk").contains(work.toString());
    assertThat(result.seconds).as("no retrying into a full disk until the deadline").isLessThan(100);
    waitFor(() -> !Files.exists(worker.dir.resolve(id)), 30, "the work directory removed");
  }

  @Test
  @Order(7)
  void a_full_work_directory_disk_during_training_is_an_outage_not_a_failed_training() throws Exception {
    Path work = tmpfs("work-7", "64m");
    Worker worker = startWorker(work);
    String id = "fault-disk-train-" + System.currentTimeMillis();
    Cli result;
    try (Watch watch = new Watch(id)) {
      result = replayAsync("fault-fill@1", id, "2m").get(4, TimeUnit.MINUTES);
      say("replay %s whose training fills a 64 MB work dir: exit %d in %.1f s%n%s%s", id, result.exit,
          result.seconds, result.out, result.err);
      assertThat(watch.seen).as("training containers: no retraining into a full disk").hasSize(1);
    }
    assertThat(result.exit).as("exit code; stdout: %s", result.out).isEqualTo(4);
    assertThat(result.out).contains("verdict: ERROR").contains("No space left on device").contains(work.toString());
    assertThat(report(id).error().step()).isEqualTo("train");
    assertThat(writtenBack(id)).as("verdicts written back").isEmpty();
    waitFor(() -> !Files.exists(worker.dir.resolve(id)), 30, "the work directory removed");
  }

  @Test
  @Order(8)
  void a_full_store_disk_is_an_outage_not_a_failed_training_and_trains_once() throws Exception {
    Path disk = tmpfs("s3-small", "24m");
    S3Server small = new S3Server("s3-small", disk);
    small.start();
    Map<String, String> saved = new HashMap<>(env);
    try {
      useStore(small);
      Map<String, String> setup = new HashMap<>(env);
      setup.remove("DOCKER_HOST");
      try (Components onSmall = new Components(Config.fromEnvironment(setup))) {
        register(onSmall, "fault@1", SampleProject.ENTRY_POINT, 0);
      }
      // Leave a few kilobytes: the report fits, the training's log and outputs do not.
      Path filler = disk.resolve("filler");
      run("sh", "-c", "head -c 100000000 /dev/zero > " + filler + " 2>/dev/null; "
          + "truncate -s -24k " + filler + "; true");
      say("the store's disk: %s", run("df", "-h", disk.toString()).lines().reduce((a, b) -> b).orElse(""));
      startWorker(tmp.resolve("work-8"));
      String id = "fault-store-full-" + System.currentTimeMillis();
      Cli result;
      try (Watch watch = new Watch(id)) {
        result = replayAsync("fault@1", id, "10s").get(4, TimeUnit.MINUTES);
        say("replay %s with a full store disk: exit %d in %.1f s%n%s%s", id, result.exit, result.seconds, result.out,
            result.err);
        assertThat(watch.seen).as("training containers: no retraining").hasSize(1);
      }
      assertThat(result.exit).as("exit code; stdout: %s", result.out).isEqualTo(4);
      assertThat(result.out).contains("verdict: ERROR").doesNotContain("TRAINING_FAILED");
      assertThat(result.err).contains("127.0.0.1:" + small.port);
    } finally {
      env.clear();
      env.putAll(saved);
      small.kill9();
    }
  }

  // ---------------------------------------------------------------------------------------------- helpers

  private List<String> writtenBack(String id) {
    return components.store().list("verdicts/").stream().filter(k -> k.endsWith("/" + id + ".json")).toList();
  }

  private ReplayReport report(String id) {
    String key = ControlActivitiesImpl.reportKey(id);
    return Json.parse(components.store().getBytes(key), ReplayReport.class, key);
  }

  private Path tmpfs(String name, String size) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(name));
    run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir.toString());
    cleanups.add(() -> run("umount", "-l", dir.toString()));
    return dir;
  }

  private record Worker(Process process, Path dir) {}

  private Worker startWorker(Path workDir) throws Exception {
    return startWorker(workDir, env);
  }

  private Worker startWorker(Path workDir, Map<String, String> base) throws Exception {
    testNumber++;
    env.put("TIMEMACHINE_CONTROL_QUEUE", "fault-control-" + testNumber);
    env.put("TIMEMACHINE_TRAINING_QUEUE", "fault-training-" + testNumber);
    Map<String, String> workerEnv = new HashMap<>(base);
    workerEnv.putAll(Map.of("TIMEMACHINE_CONTROL_QUEUE", env.get("TIMEMACHINE_CONTROL_QUEUE"),
        "TIMEMACHINE_TRAINING_QUEUE", env.get("TIMEMACHINE_TRAINING_QUEUE"),
        "TIMEMACHINE_WORKER_ID", "fault-host-" + testNumber,
        "TIMEMACHINE_WORK_DIR", workDir.toString()));
    ProcessBuilder pb = new ProcessBuilder("java", "-jar", JAR.toString(), "worker", "--queues", "control,training")
        .redirectErrorStream(true).redirectOutput(tmp.resolve("worker-" + testNumber + ".log").toFile());
    pb.environment().putAll(workerEnv);
    Process p = pb.start();
    processes.add(p);
    say("started worker %d (pid %d, work dir %s)", testNumber, p.pid(), workDir);
    awaitPollers(env.get("TIMEMACHINE_CONTROL_QUEUE"), p);
    awaitPollers(env.get("TIMEMACHINE_TRAINING_QUEUE"), p);
    return new Worker(p, workDir);
  }

  private void awaitPollers(String queue, Process worker) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (temporal.service().blockingStub().withDeadlineAfter(5, TimeUnit.SECONDS)
        .describeTaskQueue(DescribeTaskQueueRequest.newBuilder()
            .setNamespace(components.config().namespace())
            .setTaskQueue(TaskQueue.newBuilder().setName(queue).build())
            .setTaskQueueType(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY).build())
        .getPollersCount() == 0) {
      assertThat(worker.isAlive()).as("worker alive (log %s)", tmp.resolve("worker-" + testNumber + ".log")).isTrue();
      assertThat(System.nanoTime()).as("a poller on %s within a minute", queue).isLessThan(deadline);
      Thread.sleep(200);
    }
  }

  /** Waits until the replay's train step is at {@code attempt} (or later): an earlier attempt failed. */
  private void awaitTrainAttempt(String id, int attempt, int seconds) throws Exception {
    waitFor(() -> {
      List<PendingActivityInfo> pending = temporal.service().blockingStub()
          .describeWorkflowExecution(DescribeWorkflowExecutionRequest.newBuilder()
              .setNamespace(components.config().namespace())
              .setExecution(io.temporal.api.common.v1.WorkflowExecution.newBuilder().setWorkflowId(id).build())
              .build())
          .getPendingActivitiesList();
      return pending.stream().anyMatch(a -> a.getActivityType().getName().equalsIgnoreCase("train")
          && a.getAttempt() >= attempt);
    }, seconds, "train attempt " + attempt);
  }

  private record Cli(int exit, String out, String err, double seconds) {
    static Cli of(Process p, long started) throws Exception {
      CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
      CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
      assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("the CLI finished within 5 minutes").isTrue();
      return new Cli(p.exitValue(), out.get(), err.get(), (System.nanoTime() - started) / 1e9);
    }

    private static String read(java.io.InputStream in) {
      try {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "(unreadable: " + e + ")";
      }
    }
  }

  private Process cli(List<String> args, Map<String, String> with) throws IOException {
    List<String> command = new ArrayList<>(List.of("java", "-jar", JAR.toString()));
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().putAll(with);
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  private CompletableFuture<Cli> replayAsync(String model, String id, String deadline) throws IOException {
    Map<String, String> with = new HashMap<>(env);
    with.put("TIMEMACHINE_TRANSIENT_DEADLINE", deadline);
    long started = System.nanoTime();
    Process p = cli(List.of("replay", model, "--replay-id", id), with);
    say("started replay %s of %s (transient deadline %s)", id, model, deadline);
    return CompletableFuture.supplyAsync(() -> {
      try {
        return Cli.of(p, started);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  /** Watches the replay's training containers on this test's engine; survives the engine's restart. */
  private final class Watch implements AutoCloseable {
    final Set<String> seen = java.util.Collections.synchronizedSet(new LinkedHashSet<>());
    final AtomicBoolean stop = new AtomicBoolean();
    final Thread thread;

    Watch(String replayId) {
      thread = new Thread(() -> {
        while (!stop.get()) {
          try {
            for (Container c : docker.listContainersCmd()
                .withLabelFilter(Map.of(TrainingActivitiesImpl.LABEL_REPLAY, replayId)).exec()) {
              seen.add(c.getId());
            }
          } catch (RuntimeException engineDown) {
            // The engine is being restarted by the test.
          }
          try {
            Thread.sleep(200);
          } catch (InterruptedException e) {
            return;
          }
        }
      });
      thread.setDaemon(true);
      thread.start();
    }

    void awaitTraining() throws Exception {
      waitFor(() -> !seen.isEmpty(), 180, "a training container");
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      thread.join();
    }
  }

  /** This test's own s3proxy: a free port, its own basedir, the shared credentials. */
  private final class S3Server {
    final String name;
    final Path basedir;
    final int port = TestServers.freePort();
    Process process;

    S3Server(String name, Path basedir) throws IOException {
      this.name = name;
      this.basedir = Files.createDirectories(basedir);
      Files.createDirectories(basedir.resolve(BUCKET));
      cleanups.add(this::kill9);
    }

    String endpoint() {
      return "http://127.0.0.1:" + port;
    }

    void start() throws Exception {
      Path conf = tmp.resolve(name + ".conf");
      Files.writeString(conf, String.join("\n",
          "s3proxy.endpoint=" + endpoint(),
          "s3proxy.authorization=aws-v2-or-v4",
          "s3proxy.identity=" + Services.S3_ACCESS_KEY,
          "s3proxy.credential=" + Services.S3_SECRET_KEY,
          "s3proxy.ignore-unknown-headers=true",
          "jclouds.provider=filesystem-nio2",
          "jclouds.filesystem.basedir=" + basedir,
          ""));
      process = new ProcessBuilder("java", "-jar", S3PROXY_JAR.toString(), "--properties", conf.toString())
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(tmp.resolve(name + ".log").toFile()))
          .start();
      waitFor(() -> Services.listening(port) || !process.isAlive(), 60, "s3proxy " + name + " on :" + port);
      assertThat(process.isAlive()).as("s3proxy %s (log %s)", name, tmp.resolve(name + ".log")).isTrue();
    }

    void kill9() {
      if (process != null && process.isAlive()) {
        process.destroyForcibly();
        try {
          process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /**
   * This test's own Docker engine: its own socket, data root and exec root (so its own containerd), no
   * bridge, no iptables. {@code kill -9} of dockerd takes its containerd with it; its training containers
   * are then killed when it starts again, as live-restore is off.
   */
  private final class DockerEngine {
    final Path root;
    final Path socket;
    Process process;

    DockerEngine(Path root) throws IOException {
      this.root = Files.createDirectories(root);
      this.socket = root.resolve("d.sock");
      cleanups.add(this::stop);
    }

    String host() {
      return "unix://" + socket;
    }

    void start() throws Exception {
      for (int attempt = 1; attempt <= 3; attempt++) {
        startOnce();
        if (process.isAlive()) {
          return;
        }
        Thread.sleep(1000); // the killed engine's containerd may still be letting go of its socket
      }
      List<String> log = Files.readAllLines(root.resolve("dockerd.log"));
      throw new AssertionError("dockerd did not start: " + String.join("\n", log.subList(Math.max(0, log.size() - 15), log.size())));
    }

    void startOnce() throws Exception {
      process = new ProcessBuilder("dockerd", "--host", host(), "--data-root", root.resolve("data").toString(),
          "--exec-root", root.resolve("exec").toString(), "--pidfile", root.resolve("d.pid").toString(),
          "--bridge=none", "--iptables=false")
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(root.resolve("dockerd.log").toFile()))
          .start();
      waitFor(() -> !process.isAlive() || run(true, "docker", "-H", host(), "version") != null, 60, "dockerd on " + socket);
    }

    DockerClient client() {
      return DockerClientImpl.getInstance(
          DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(host()).build(),
          new ApacheDockerHttpClient.Builder().dockerHost(URI.create(host())).build());
    }

    /**
     * {@code kill -9} of dockerd; its containerd gets a signal of its own as its parent dies, and is waited
     * for (found by its config path under this engine's exec root) before the engine may start again.
     */
    void kill9() throws Exception {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
      String config = root.resolve("exec").resolve("containerd").resolve("containerd.toml").toString();
      waitFor(() -> {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
          return procs.filter(p -> p.getFileName().toString().matches("\\d+")).noneMatch(p -> {
            try {
              return new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8).contains(config);
            } catch (IOException | RuntimeException gone) {
              return false;
            }
          });
        } catch (IOException e) {
          return false;
        }
      }, 30, "the killed engine's containerd gone");
      // Its pid file stays behind; the pid may live on as an unreaped zombie, which a new dockerd would take
      // for a running containerd and wait for until it gives up (15 s).
      Files.deleteIfExists(root.resolve("exec").resolve("containerd").resolve("containerd.pid"));
    }

    /** Removes its containers, stops it (SIGTERM), and unmounts what it left mounted under its root. */
    void stop() {
      if (process == null) {
        return;
      }
      if (process.isAlive()) {
        run(true, "sh", "-c", "docker -H " + host() + " ps -aq | xargs -r docker -H " + host() + " rm -f");
        process.destroy();
        try {
          if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      // A shim outlives a dockerd that was killed and not started again: stop this engine's own, by pid.
      String address = root.resolve("exec").resolve("containerd").toString();
      try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
        procs.filter(p -> p.getFileName().toString().matches("\\d+")).forEach(p -> {
          try {
            String cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
            if (cmdline.contains(address)) {
              ProcessHandle.of(Long.parseLong(p.getFileName().toString())).ifPresent(ProcessHandle::destroyForcibly);
            }
          } catch (IOException | RuntimeException gone) {
            // Exited meanwhile.
          }
        });
      } catch (IOException e) {
        say("could not list /proc for this engine's shims: %s", e);
      }
      run(true, "sh", "-c", "grep -o ' " + root + "[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l");
    }
  }

  // ---------------------------------------------------------------------------------------------- plumbing

  private void temporal(String command) throws IOException, InterruptedException {
    TestServers.temporal(env, tmp, command);
  }

  private static String run(String... command) {
    String out = run(false, command);
    return out;
  }

  /** Runs a command; its output, or null when it failed and {@code quiet}, else an assertion error. */
  private static String run(boolean quiet, String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      boolean done = p.waitFor(2, TimeUnit.MINUTES);
      if (done && p.exitValue() == 0) {
        return out;
      }
      if (quiet) {
        return null;
      }
      throw new AssertionError(String.join(" ", command) + " failed: " + out);
    } catch (IOException e) {
      if (quiet) {
        return null;
      }
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static long countFiles(Path dir) {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).count();
    } catch (IOException | java.io.UncheckedIOException e) {
      return 0; // files renamed while walked
    }
  }

  private static void waitFor(BooleanSupplier condition, int seconds, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("%s within %d s", what, seconds).isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  private void say(String format, Object... args) {
    System.out.printf("[fault-test +%5.1fs] %s%n", (System.nanoTime() - t0) / 1e9, String.format(format, args));
    System.out.flush();
  }
}
