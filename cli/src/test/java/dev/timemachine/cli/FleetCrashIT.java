package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.registries.manifest.Registration;
import dev.timemachine.samples.LocalRegistry;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.samples.SampleRuns;
import dev.timemachine.samples.Services;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The nightly replay as issue 12 checks it, on a real Temporal dev server of its own with a packaged
 * worker: a fleet of the demo's models (one seeded, one unseeded, one whose image was deleted from the
 * registry after registration) is run by the packaged CLI; the worker is killed -9 in the middle of it
 * and another started. The summary gives each its verdict, the pre-flight names the missing image
 * without a replay, the webhook names the failure, no model is lost or trained twice, and a second run
 * of the same night trains nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FleetCrashIT {
  private static final Path JAR = Path.of("target/timemachine.jar").toAbsolutePath();
  private static final int TEMPORAL_PORT = TestServers.freePort();
  private static final List<String> SLOW = List.of("sh", "-c", "sleep 8 && exec python3 train.py");

  @TempDir static Path tmp;
  private final Map<String, String> env = new HashMap<>();
  private final List<Process> workers = new ArrayList<>();
  private final List<String> webhookBodies = new CopyOnWriteArrayList<>();
  private HttpServer webhook;
  private ImageRef gone;
  private final long t0 = System.nanoTime();

  @BeforeAll
  void start() throws Exception {
    Services.requireAll();
    assertThat(JAR).as("the packaged worker").exists();
    webhook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    webhook.createContext("/alert", exchange -> {
      webhookBodies.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      exchange.sendResponseHeaders(204, -1);
      exchange.close();
    });
    webhook.start();
    env.put("TIMEMACHINE_SERVICES_DIR", tmp.resolve("services").toString());
    env.put("TEMPORAL_PORT", String.valueOf(TEMPORAL_PORT));
    TestServers.temporal(env, tmp, "up");
    env.put("TEMPORAL_ADDRESS", "127.0.0.1:" + TEMPORAL_PORT);
    env.put("TIMEMACHINE_HOME", tmp.resolve("home").toString());
    env.put("TIMEMACHINE_WORKER_ID", "fleet-crash-host");
    env.put("TIMEMACHINE_CONTROL_QUEUE", "fleet-crash-control");
    env.put("TIMEMACHINE_TRAINING_QUEUE", "fleet-crash-training");
    env.put("TIMEMACHINE_METRICS_PORT", "0");
    env.put("TIMEMACHINE_LOG_LEVEL", "INFO");
    env.put("TIMEMACHINE_ALERT_WEBHOOK", "http://127.0.0.1:" + webhook.getAddress().getPort() + "/alert");
    env.put("TIMEMACHINE_SIGNING_KEY", dev.timemachine.app.SigningKeys.create(tmp.resolve("keys")).keyFile().toString());

    try (Components components = new Components(Config.fromEnvironment(env))) {
      Registration registration = components.registration(Clock.systemUTC());
      ImageRef image = SampleEnvironment.pinned();
      SampleProject.Repository seeded = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("seeded"));
      SampleProject.Repository unseeded = SampleProject.createRepository(SampleProject.CHURN_UNSEEDED, tmp.resolve("unseeded"));
      Path data = SampleRuns.generateData(components.engine(), image, seeded, tmp.resolve("data"));
      Path seededOut = SampleRuns.trainOriginal(components.engine(), image, seeded, data, tmp.resolve("seeded-out"));
      Path unseededOut = SampleRuns.trainOriginal(components.engine(), image, unseeded, data, tmp.resolve("unseeded-out"));
      register(registration, "fc-seeded@1", seeded, image, data, seededOut);
      register(registration, "fc-unseeded@1", unseeded, image, data, unseededOut);
      // Registered while its registry had it; a retention policy deleted it before the night.
      gone = LocalRegistry.pushThrowaway("timemachine-it/fleet-gone-" + System.nanoTime());
      register(registration, "fc-gone@1", seeded, gone, data, seededOut);
      LocalRegistry.delete(gone);
    }
  }

  private static void register(
      Registration registration, String model, SampleProject.Repository repo, ImageRef image, Path data, Path out) {
    registration.register(new Registration.Request(ModelRef.parse(model), repo.url(), repo.commit(), SLOW, ".", image,
        data.toString(), out, RecordedOutputs.DEFAULT_METRICS_FILE, Map.of()), Progress.NONE);
  }

  @AfterAll
  void stop() throws Exception {
    workers.forEach(Process::destroyForcibly);
    // The workers' logs outlive the temporary directory, for whoever reads a failure.
    Path logs = Files.createDirectories(Path.of("target/fleet-crash-it-logs"));
    try (var files = Files.list(tmp)) {
      for (Path f : files.filter(f -> f.toString().endsWith(".log") || f.toString().endsWith(".err")).toList()) {
        Files.copy(f, logs.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
    if (webhook != null) {
      webhook.stop(0);
    }
    TestServers.temporal(env, tmp, "down");
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

  private Process fleetRun(Path out, Path err) throws IOException {
    ProcessBuilder pb = new ProcessBuilder("java", "-jar", JAR.toString(), "fleet", "run",
        "fc-seeded@1,fc-unseeded@1,fc-gone@1", "--name", "crash", "--concurrency", "2", "--json")
        .redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().putAll(env);
    return pb.start();
  }

  private void say(String format, Object... args) {
    System.out.printf("[fleet-crash +%5.1fs] %s%n", (System.nanoTime() - t0) / 1e9, String.format(format, args));
  }

  /** Every training container seen, by the replay it belongs to. */
  private final class Watch implements AutoCloseable {
    final Map<String, Set<String>> seen = new ConcurrentHashMap<>();
    /** The last status the engine gave each container ("Up 3 seconds", "Exited (0) 2 seconds ago"). */
    final Map<String, String> status = new ConcurrentHashMap<>();
    final AtomicBoolean stop = new AtomicBoolean();
    final Thread thread = new Thread(this::poll);

    Watch() {
      thread.start();
    }

    private void poll() {
      while (!stop.get()) {
        try {
          Process ps = new ProcessBuilder("docker", "ps", "-a", "--filter", "label=dev.timemachine.replay",
              "--filter", "label=dev.timemachine.role=training",
              "--format", "{{.ID}} {{.Label \"dev.timemachine.replay\"}} {{.Names}} {{.Status}}").start();
          for (String line : new String(ps.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
            String[] parts = line.strip().split(" ", 3);
            if (parts.length >= 2 && parts[1].startsWith("replay-fc-")) {
              seen.computeIfAbsent(parts[1], k -> ConcurrentHashMap.newKeySet()).add(parts[0]);
              status.put(parts[0], parts.length > 2 ? parts[2] : "");
            }
          }
          ps.waitFor();
          Thread.sleep(200);
        } catch (IOException e) {
          return;
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    int total() {
      return seen.values().stream().mapToInt(Set::size).sum();
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      thread.join();
    }
  }

  @Test
  void kill_9_of_the_worker_during_a_fleet_run_loses_no_model_trains_none_twice_and_a_rerun_trains_nothing()
      throws Exception {
    Process first = startWorker("worker-1");
    Path out = tmp.resolve("fleet-1.json");
    Path err = tmp.resolve("fleet-1.err");
    JsonNode summary;
    try (Watch watch = new Watch()) {
      Process fleet = fleetRun(out, err);
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (watch.total() == 0) {
        assertThat(fleet.isAlive()).as("the fleet runs: %s", Files.readString(err)).isTrue();
        assertThat(System.nanoTime()).as("a training started within 3 minutes").isLessThan(deadline);
        Thread.sleep(200);
      }
      Thread.sleep(2000);
      first.destroyForcibly().waitFor();
      say("KILLED worker-1 (kill -9) during the fleet's training; containers so far %s", watch.seen);
      startWorker("worker-2");
      assertThat(fleet.waitFor(6, TimeUnit.MINUTES)).as("the fleet finished: %s", Files.readString(err)).isTrue();
      say("fleet run exit %d; stderr tail: %s", fleet.exitValue(), Files.readString(err).lines()
          .reduce((a, b) -> b).orElse(""));
      assertThat(fleet.exitValue()).as("exit 1: a version failed on its first night (%s)", Files.readString(err))
          .isEqualTo(1);
      summary = Json.mapper().readTree(out.toFile());
      Thread.sleep(1000);
      say("containers: %s, last statuses %s", watch.seen, watch.status);
      for (Map.Entry<String, Set<String>> e : watch.seen.entrySet()) {
        assertThat(e.getValue()).as("training containers of %s (trained once)", e.getKey()).hasSize(1);
      }
      assertThat(watch.seen.keySet()).as("the two replayable versions trained, the gone one not")
          .hasSize(2).allMatch(id -> id.startsWith("replay-fc-seeded-1-") || id.startsWith("replay-fc-unseeded-1-"));
    }
    Map<String, JsonNode> bySpec = new HashMap<>();
    summary.path("entries").forEach(e -> bySpec.put(e.path("spec").asText(), e));
    say("summary: %s", bySpec.values().stream().map(e -> e.path("spec").asText() + "=" + e.path("verdict").asText()).toList());
    assertThat(bySpec).as("no model lost").containsOnlyKeys("fc-seeded@1", "fc-unseeded@1", "fc-gone@1");
    assertThat(bySpec.get("fc-seeded@1").path("verdict").asText()).isEqualTo("REPRODUCED_BITWISE");
    assertThat(bySpec.get("fc-unseeded@1").path("verdict").asText()).isEqualTo("DIVERGED");
    assertThat(bySpec.get("fc-gone@1").path("verdict").asText()).isEqualTo("INPUTS_UNVERIFIABLE");
    assertThat(bySpec.get("fc-gone@1").path("reason").asText()).contains("pre-flight").contains(gone.digest());

    assertThat(webhookBodies).as("one alert").hasSize(1);
    JsonNode alert = Json.mapper().readTree(webhookBodies.get(0));
    List<String> alerted = new ArrayList<>();
    alert.path("firstRunFailures").forEach(f -> alerted.add(f.path("spec").asText()));
    assertThat(alerted).as("the alert names the versions that did not reproduce")
        .contains("fc-unseeded@1", "fc-gone@1").doesNotContain("fc-seeded@1");

    // The same night again: every replay is reused, nothing is trained.
    try (Watch watch = new Watch()) {
      Process again = fleetRun(tmp.resolve("fleet-2.json"), tmp.resolve("fleet-2.err"));
      assertThat(again.waitFor(3, TimeUnit.MINUTES)).isTrue();
      Thread.sleep(1000);
      assertThat(watch.total()).as("containers started by the rerun of the same night").isZero();
    }
    JsonNode rerun = Json.mapper().readTree(tmp.resolve("fleet-2.json").toFile());
    List<Boolean> reused = new ArrayList<>();
    rerun.path("entries").forEach(e -> {
      if (!e.path("spec").asText().equals("fc-gone@1")) {
        reused.add(e.path("reused").asBoolean());
      }
    });
    assertThat(reused).as("finished replays reused").containsExactly(true, true);
  }
}
