package dev.timemachine.adapters.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.command.WaitContainerResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.PushResponseItem;
import com.github.dockerjava.api.model.Volume;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import dev.timemachine.core.data.Digests;
import dev.timemachine.core.data.ImageContentCheck;
import dev.timemachine.adapters.oci.RegistryManifests;
import dev.timemachine.core.ports.ImageRegistry;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.ports.ContainerEngine.ContainerExit;
import dev.timemachine.core.ports.ContainerEngine.ContainerRequest;
import dev.timemachine.core.ports.ContainerEngine.Mount;
import dev.timemachine.core.ports.ContainerEngine.PulledImage;
import dev.timemachine.core.ports.Progress;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator.ReplaceUnderscores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@link DockerContainerEngine} against the real Docker engine and the real image registry that
 * {@code scripts/services.sh up} starts. It fails, never skips, when either is missing: a green build
 * must mean the adapter was exercised.
 */
@DisplayNameGeneration(ReplaceUnderscores.class)
class DockerContainerEngineIT {
  private static final String REGISTRY = "127.0.0.1:5000";
  private static final String START_SERVICES = "start it with scripts/services.sh up";
  private static final String LABEL = "dev.timemachine.it";
  private static final TrainingLimits LIMITS = new TrainingLimits(1.0, 256L << 20, 60, 64);
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private static String dockerHost;
  private static DockerContainerEngine engine;
  private static DockerClient docker;
  private static ImageRef churnEnv;

  @TempDir Path tmp;
  private String prefix;
  private String label;
  private final List<String> reports = new CopyOnWriteArrayList<>();
  private final Progress progress = reports::add;

  @BeforeAll
  static void require_the_engine_and_the_registry() {
    // A test may read the environment: the engine it checks is the one this machine's tools use.
    String fromEnvironment = System.getenv("DOCKER_HOST");
    dockerHost = fromEnvironment == null || fromEnvironment.isBlank() ? "unix:///var/run/docker.sock" : fromEnvironment;
    engine = new DockerContainerEngine(dockerHost);
    docker = client(dockerHost);
    try {
      docker.pingCmd().exec();
    } catch (RuntimeException e) {
      fail("Docker engine not reachable at " + dockerHost + ": " + START_SERVICES, e);
    }
    churnEnv = new ImageRef(REGISTRY + "/timemachine/churn-env", registryDigest("timemachine/churn-env", "bookworm"));
    engine.pull(churnEnv, Progress.NONE);
  }

  @AfterAll
  static void close() throws IOException {
    engine.close();
    docker.close();
  }

  @BeforeEach
  void name_this_test() {
    label = UUID.randomUUID().toString();
    prefix = "tm-it-" + label.substring(0, 8) + "-";
  }

  @AfterEach
  void nothing_is_left_behind() {
    List<String> left = engine.containersWithLabel(LABEL, label);
    left.forEach(engine::remove);
    assertThat(left).as("containers this test left behind").isEmpty();
  }

  @Test
  void pull_verifies_an_image_the_engine_already_holds_by_its_digest() {
    PulledImage pulled = engine.pull(churnEnv, progress);

    assertThat(pulled.image()).as("pulled image").isEqualTo(churnEnv);
    assertThat(pulled.imageId()).as("image id").startsWith("sha256:");
    assertThat(pulled.sizeBytes()).as("image size").isGreaterThan(100L << 20);
    assertThat(docker.inspectImageCmd(pulled.imageId()).exec().getRepoDigests())
        .as("repo digests of the image").contains(churnEnv.toString());
    assertThat(reports).as("progress reports; none because nothing was pulled").isEmpty();
  }

  @Test
  void pull_fetches_an_image_by_digest_from_the_registry_and_verifies_it() throws Exception {
    Pushed pushed = pushScratchImage("it-pull", "nonce.txt", label);
    ImageRef image = pushed.image();
    try {
      PulledImage pulled = engine.pull(image, progress);

      assertThat(pulled.imageId()).as("id of the pulled image").isEqualTo(pushed.builtId());
      assertThat(docker.inspectImageCmd(pushed.builtId()).exec().getRepoDigests()).as("repo digests").contains(image.toString());
      assertThat(reports).as("progress reports").anyMatch(r -> r.startsWith("pulling " + image));
    } finally {
      forget(pushed);
    }
  }

  @Test
  void a_pulled_image_s_content_is_checked_against_its_manifest_first_on_the_registry_then_offline() throws Exception {
    PulledImage pulled = engine.pull(churnEnv, progress);
    Path cache = tmp.resolve("images");
    String arch = ImageContentCheck.ociArchitecture(System.getProperty("os.arch"));

    assertThat(new ImageContentCheck(new RegistryManifests(), cache, arch).check(churnEnv, pulled.imageId(), progress))
        .as("first check on this host: the real registry's manifest names the engine's image id")
        .isEqualTo("content checked: manifest " + churnEnv.digest() + " fetched from the registry and cached;"
            + " image id equals the configuration digest the manifest names");

    ImageRegistry gone = new ImageRegistry() {
      @Override
      public boolean hasManifest(ImageRef image) {
        throw new AssertionError("asked the registry about " + image);
      }

      @Override
      public java.util.Optional<byte[]> manifest(ImageRef image) {
        throw new AssertionError("asked the registry for " + image);
      }
    };
    assertThat(new ImageContentCheck(gone, cache, arch).check(churnEnv, pulled.imageId(), progress))
        .as("a later check asks no registry").contains("from this host's cache");

    // What the check must catch: the engine answering the recorded reference with another image's id.
    // (A real engine does that only when its reference store is edited; here another real image's id stands in.)
    String other = pulledScratchImageId();
    assertThatThrownBy(() -> new ImageContentCheck(gone, cache, arch).check(churnEnv, other, progress))
        .isInstanceOfSatisfying(InputUnverifiableException.class,
            e -> assertThat(e.input()).isEqualTo(InputKind.ENVIRONMENT))
        .hasMessageContaining("holds it as image " + other)
        .hasMessageContaining("names the image configuration " + pulled.imageId());
  }

  @Test
  void the_layer_check_hashes_every_layer_as_the_engine_exports_it() {
    PulledImage pulled = engine.pull(churnEnv, progress);
    String evidence = new ImageContentCheck(new RegistryManifests(), tmp.resolve("images"),
        ImageContentCheck.ociArchitecture(System.getProperty("os.arch")), engine).check(churnEnv, pulled.imageId(), progress);

    assertThat(evidence).contains("content checked: ").contains("; layers checked: 1 layer, ")
        .contains("bytes hashed, each the sha256 its configuration names");
    long hashed = Long.parseLong(evidence.replaceAll(".*layers checked: 1 layer, (\\d+) bytes hashed.*", "$1"));
    assertThat(hashed).as("bytes hashed: the whole image").isGreaterThan(pulled.sizeBytes() / 2);
  }

  @Test
  void a_layer_altered_on_the_engine_s_disk_is_caught_by_the_layer_check_not_by_the_manifest_check() throws Exception {
    Pushed pushed = pushScratchImage("it-tamper", "weights.txt", "w=0.25 " + label);
    ImageRef image = pushed.image();
    String arch = ImageContentCheck.ociArchitecture(System.getProperty("os.arch"));
    try {
      PulledImage pulled = engine.pull(image, progress);
      // docker-java's GraphData has no UpperDir: the docker CLI (same DOCKER_HOST) reads it.
      Process inspect = new ProcessBuilder("docker", "image", "inspect", "--format",
          "{{.GraphDriver.Name}} {{.GraphDriver.Data.UpperDir}}", pulled.imageId()).redirectErrorStream(true).start();
      String[] driver = new String(inspect.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip().split(" ", 2);
      assertThat(inspect.waitFor()).as("docker image inspect: %s", String.join(" ", driver)).isZero();
      assertThat(driver[0]).as("the engine's storage driver (this test alters a layer in place)").isEqualTo("overlay2");
      Path layerFile = Path.of(driver[1]).resolve("weights.txt");
      assertThat(layerFile).as("the layer's file on the engine's disk (the engine must run on this machine)").isRegularFile();
      // Someone with access to the engine's disk changes the model's weights, same length.
      Files.writeString(layerFile, "w=0.99 " + label);

      assertThat(new ImageContentCheck(new RegistryManifests(), tmp.resolve("images"), arch).check(image, pulled.imageId(), progress))
          .as("the manifest check sees ids, not the files of a layer").startsWith("content checked: ");
      assertThatThrownBy(() -> new ImageContentCheck(new RegistryManifests(), tmp.resolve("images"), arch, engine)
              .check(image, pulled.imageId(), progress))
          .isInstanceOfSatisfying(InputUnverifiableException.class, e -> assertThat(e.input()).isEqualTo(InputKind.ENVIRONMENT))
          .hasMessageContaining(pulled.imageId())
          .hasMessageContaining("altered on its disk")
          .hasMessageContaining("docker rmi -f " + pulled.imageId());
    } finally {
      forget(pushed);
    }
  }

  /** A tiny image pushed to and pulled back from the real registry; its id, after its own content check. */
  private String pulledScratchImageId() throws Exception {
    Pushed pushed = pushScratchImage("it-content", "nonce.txt", label);
    try {
      PulledImage pulled = engine.pull(pushed.image(), progress);
      assertThat(new ImageContentCheck(new RegistryManifests(), tmp.resolve("images-scratch"),
              ImageContentCheck.ociArchitecture(System.getProperty("os.arch"))).check(pushed.image(), pulled.imageId(), progress))
          .as("an image this engine pushed itself").startsWith("content checked: ");
      return pulled.imageId();
    } finally {
      forget(pushed);
    }
  }

  /** An image pushed to the real registry and no longer on the engine, and the id it was built with. */
  private record Pushed(ImageRef image, String builtId, String name) {}

  /**
   * Builds an image of one file {@code FROM scratch} as {@code timemachine/<name>:<this test's tag>},
   * pushes it to the real registry and removes it from the engine, so that a pull must fetch it.
   */
  private Pushed pushScratchImage(String name, String file, String content) throws Exception {
    String repository = REGISTRY + "/timemachine/" + name;
    String tag = prefix + "image";
    Path context = Files.createDirectories(tmp.resolve(name + "-context"));
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY " + file + " /" + file + "\n");
    Files.writeString(context.resolve(file), content);
    String shortId =
        docker.buildImageCmd(context.toFile()).withTags(Set.of(repository + ":" + tag)).withPull(false).withNetworkMode("none")
            .exec(new BuildImageResultCallback()).awaitImageId();
    String builtId = docker.inspectImageCmd(shortId).exec().getId();
    docker.pushImageCmd(repository).withTag(tag).exec(new ResultCallback.Adapter<PushResponseItem>()).awaitCompletion();
    ImageRef image = new ImageRef(repository, registryDigest("timemachine/" + name, tag));
    docker.removeImageCmd(builtId).withForce(true).exec();
    return new Pushed(image, builtId, name);
  }

  /** Removes a pushed image from the engine and its manifest from the registry. */
  private void forget(Pushed pushed) throws Exception {
    try {
      docker.removeImageCmd(pushed.builtId()).withForce(true).exec();
    } catch (NotFoundException e) {
      // Never pulled back.
    }
    HTTP.send(HttpRequest.newBuilder(URI.create("http://" + REGISTRY + "/v2/timemachine/" + pushed.name() + "/manifests/"
            + pushed.image().digest())).DELETE().build(), HttpResponse.BodyHandlers.discarding());
  }

  @Test
  void a_digest_the_registry_does_not_have_is_unverifiable_and_named() throws Exception {
    byte[] hash = MessageDigest.getInstance("SHA-256").digest("nope".getBytes(StandardCharsets.UTF_8));
    String nope = "sha256:" + HexFormat.of().formatHex(hash);
    ImageRef missing = new ImageRef(churnEnv.repository(), nope);

    assertThatThrownBy(() -> engine.pull(missing, progress))
        .as("pulling a digest the registry does not have")
        .isInstanceOfSatisfying(
            InputUnverifiableException.class, e -> assertThat(e.input()).as("input kind").isEqualTo(InputKind.ENVIRONMENT))
        .hasMessage("image " + missing + " not found: registry " + REGISTRY + " has no manifest " + nope);
  }

  @Test
  void a_registry_that_does_not_answer_is_unavailable() {
    ImageRef elsewhere = new ImageRef("127.0.0.1:5999/timemachine/churn-env", churnEnv.digest());

    assertThatThrownBy(() -> engine.pull(elsewhere, progress))
        .as("pulling from a registry nobody listens on")
        .isInstanceOfSatisfying(
            TimemachineException.class, e -> assertThat(e.type()).as("error type").isEqualTo(ErrorType.UNAVAILABLE))
        .hasMessageContaining("registry 127.0.0.1:5999")
        .hasMessageNotContaining("\n");
  }

  @Test
  void runs_with_a_read_only_data_mount_and_a_writable_output_mount() throws IOException {
    Path data = Files.createDirectories(tmp.resolve("data"));
    Path out = Files.createDirectories(tmp.resolve("out"));
    Files.writeString(data.resolve("input.txt"), "hello");

    ContainerExit exit =
        engine.run(
            request(
                "io",
                python("from pathlib import Path; Path('/out/result.txt').write_text(Path('/data/input.txt').read_text().upper());"
                    + " print('done')"),
                List.of(new Mount(data, "/data", true), new Mount(out, "/out", false)),
                LIMITS),
            progress);

    assertThat(exit.exitCode()).as("exit code; log: %s", exit.logTail()).isZero();
    assertThat(exit.timedOut()).as("timed out").isFalse();
    assertThat(exit.oomKilled()).as("OOM killed").isFalse();
    assertThat(exit.logTail()).as("log tail").containsExactly("done");
    assertThat(Files.readString(out.resolve("result.txt"))).as("file written to /out").isEqualTo("HELLO");
    assertThatThrownBy(() -> docker.inspectContainerCmd(prefix + "io").exec())
        .as("inspecting the container after run returned").isInstanceOf(NotFoundException.class);
  }

  @Test
  void writing_into_the_read_only_mount_fails() throws IOException {
    Path data = Files.createDirectories(tmp.resolve("data"));

    ContainerExit exit =
        engine.run(
            request("ro", python("open('/data/x.txt', 'w').write('x')"), List.of(new Mount(data, "/data", true)), LIMITS),
            progress);

    assertThat(exit.exitCode()).as("exit code").isEqualTo(1);
    assertThat(exit.logTail()).as("log tail").anyMatch(line -> line.contains("Read-only file system"));
    assertThat(data.resolve("x.txt")).as("file in the read-only mount").doesNotExist();
  }

  @Test
  void a_failing_command_reports_its_exit_code_and_last_lines() {
    ContainerExit exit =
        engine.run(
            request(
                "exit3",
                python("import sys; print('first line'); print('second line', file=sys.stderr); sys.exit(3)"),
                List.of(),
                LIMITS),
            progress);

    assertThat(exit.exitCode()).as("exit code").isEqualTo(3);
    assertThat(exit.logTail()).as("log tail, stdout and stderr").containsExactlyInAnyOrder("first line", "second line");
  }

  @Test
  void a_training_silent_for_three_seconds_then_failing_keeps_its_traceback() throws IOException {
    Path logFile = tmp.resolve("silent.log");
    ContainerExit exit =
        engine.run(
            withLog(
                request(
                    "silent",
                    python("import time; time.sleep(3); print('loading data'); raise ValueError('column support_calls missing')"),
                    List.of(),
                    LIMITS),
                logFile),
            progress);

    assertThat(exit.exitCode()).as("exit code").isEqualTo(1);
    // stdout and stderr are two pipes: each keeps its order; between them, lines written within the same
    // few milliseconds may come in either order.
    assertThat(exit.logTail()).as("log tail after 3 s of silence")
        .contains("loading data")
        .containsSubsequence("Traceback (most recent call last):", "ValueError: column support_calls missing");
    assertThat(Files.readAllLines(logFile)).as("stored log").containsExactlyInAnyOrderElementsOf(exit.logTail());
    assertThat(exit.logLines()).as("lines counted").isEqualTo(exit.logTail().size());
  }

  @Test
  void a_log_printed_only_at_the_end_after_a_long_silence_arrives_whole_and_in_order() {
    // stdout and stderr are two pipes: lines written microseconds apart have no order between them,
    // but the engine's timestamps order lines that are a few milliseconds apart.
    ContainerExit exit =
        engine.run(
            request("late", List.of("sh", "-c", "sleep 2; echo line1; sleep 0.2; echo line2 >&2; sleep 0.2; echo line3"),
                List.of(), LIMITS),
            progress);

    assertThat(exit.exitCode()).as("exit code").isZero();
    assertThat(exit.logTail()).as("log tail, in the order printed").containsExactly("line1", "line2", "line3");
  }

  @Test
  void ten_thousand_lines_keep_the_last_fifty_in_order_and_all_in_the_stored_log() throws IOException {
    Path logFile = tmp.resolve("many.log");
    ContainerExit exit =
        engine.run(
            withLog(request("many", List.of("sh", "-c", "seq 1 10000 | sed 's/^/line /'"), List.of(), LIMITS), logFile),
            progress);

    assertThat(exit.exitCode()).as("exit code").isZero();
    assertThat(exit.logTail()).as("log tail")
        .hasSize(LogTail.MAX_LINES)
        .containsExactlyElementsOf(
            java.util.stream.IntStream.rangeClosed(10001 - LogTail.MAX_LINES, 10000).mapToObj(i -> "line " + i).toList());
    List<String> stored = Files.readAllLines(logFile);
    assertThat(stored).as("stored log").hasSize(10000);
    assertThat(stored.get(0)).as("first stored line").isEqualTo("line 1");
    assertThat(stored.get(9999)).as("last stored line").isEqualTo("line 10000");
    assertThat(exit.logLines()).as("lines counted").isEqualTo(10000);
    assertThat(exit.logBytes()).as("bytes counted").isEqualTo(Files.size(logFile));
    assertThat(exit.logTruncated()).as("truncated").isFalse();
  }

  @Test
  void progress_shows_the_last_line_of_a_training_that_went_quiet() {
    engine.run(request("quiet", List.of("sh", "-c", "echo epoch 1 done; sleep 3; echo epoch 2 done"), List.of(), LIMITS),
        progress);

    assertThat(reports).as("progress reports while the training was quiet")
        .anyMatch(r -> r.startsWith("running 2s; last log: epoch 1 done") || r.startsWith("running 3s; last log: epoch 1 done"));
  }

  @Test
  void an_image_the_engine_lacks_is_pulled_by_digest_with_progress_even_when_it_takes_seconds() throws Exception {
    // A training host that has never seen the image: a layer of incompressible bytes on top of the
    // sample image makes the pull take seconds, as real images of hundreds of MB do.
    String repository = REGISTRY + "/timemachine/it-cold-pull";
    String tag = prefix + "image";
    Path context = Files.createDirectories(tmp.resolve("cold"));
    Files.writeString(context.resolve("Dockerfile"), "FROM " + churnEnv + "\nCOPY noise.bin /noise.bin\n");
    byte[] noise = new byte[160 << 20];
    new java.util.Random(label.hashCode()).nextBytes(noise);
    Files.write(context.resolve("noise.bin"), noise);
    String shortId =
        docker.buildImageCmd(context.toFile()).withTags(Set.of(repository + ":" + tag)).withPull(false).withNetworkMode("none")
            .exec(new BuildImageResultCallback()).awaitImageId();
    String builtId = docker.inspectImageCmd(shortId).exec().getId();
    docker.pushImageCmd(repository).withTag(tag).exec(new ResultCallback.Adapter<PushResponseItem>()).awaitCompletion();
    ImageRef image = new ImageRef(repository, registryDigest("timemachine/it-cold-pull", tag));
    docker.removeImageCmd(builtId).withForce(true).exec();
    try {
      long started = System.nanoTime();
      PulledImage pulled = engine.pull(image, progress);
      long pullMs = (System.nanoTime() - started) / 1_000_000;

      assertThat(pulled.imageId()).as("id of the pulled image").isEqualTo(builtId);
      assertThat(docker.inspectImageCmd(builtId).exec().getRepoDigests()).as("repo digests").contains(image.toString());
      assertThat(reports).as("progress reports of a pull that took %d ms", pullMs)
          .anyMatch(r -> r.startsWith("pulled " + image + ": ") && r.contains("MiB downloaded"));
      ContainerExit exit =
          engine.run(
              new ContainerRequest(prefix + "cold", image, List.of("sh", "-c", "wc -c < /noise.bin"), "/", List.of(),
                  Map.of(), Map.of(LABEL, label), LIMITS),
              progress);
      assertThat(exit.logTail()).as("the pulled layer, seen from inside").containsExactly(String.valueOf(noise.length));
    } finally {
      docker.removeImageCmd(builtId).withForce(true).exec();
      HTTP.send(HttpRequest.newBuilder(URI.create("http://" + REGISTRY + "/v2/timemachine/it-cold-pull/manifests/" + image.digest()))
          .DELETE().build(), HttpResponse.BodyHandlers.discarding());
    }
  }

  @Test
  void the_container_has_no_network_but_loopback() {
    ContainerExit exit =
        engine.run(request("net", python("import os; print(sorted(os.listdir('/sys/class/net')))"), List.of(), LIMITS), progress);

    assertThat(exit.exitCode()).as("exit code").isZero();
    assertThat(exit.logTail()).as("network interfaces").containsExactly("['lo']");
  }

  @Test
  void a_container_over_its_timeout_is_killed_and_removed() {
    long started = System.nanoTime();

    ContainerExit exit =
        engine.run(request("timeout", List.of("sleep", "60"), List.of(), new TrainingLimits(1.0, 64L << 20, 2, 16)), progress);

    assertThat(exit.timedOut()).as("timed out").isTrue();
    assertThat(exit.exitCode()).as("exit code of a killed container").isEqualTo(137);
    assertThat(Duration.ofNanos(System.nanoTime() - started)).as("time run() took").isLessThan(Duration.ofSeconds(20));
    assertThat(reports).as("progress reports").anyMatch(r -> r.startsWith("running "));
    assertThat(engine.containersWithLabel(LABEL, label)).as("containers of this test after run()").isEmpty();
  }

  @Test
  void a_container_over_its_memory_limit_is_reported_oom_killed() {
    ContainerExit exit =
        engine.run(request("oom", python("x = b'x' * (512 << 20)"), List.of(), new TrainingLimits(1.0, 32L << 20, 60, 16)), progress);

    assertThat(exit.oomKilled()).as("OOM killed; exit %s, log %s", exit.exitCode(), exit.logTail()).isTrue();
    assertThat(exit.exitCode()).as("exit code").isEqualTo(137);
    assertThat(exit.timedOut()).as("timed out").isFalse();
  }

  @Test
  void a_retry_follows_the_running_container_of_an_earlier_attempt_instead_of_training_again() throws IOException {
    Path out = Files.createDirectories(tmp.resolve("out"));
    String name = prefix + "reattach";
    String appendOnce = "echo attempt >> /out/runs.txt; ";
    startDirectly(name, out, appendOnce + "sleep 3; exit 7");

    ContainerExit exit =
        engine.run(
            request("reattach", List.of("sh", "-c", appendOnce + "exit 0"), List.of(new Mount(out, "/out", false)), LIMITS),
            progress);

    assertThat(exit.exitCode()).as("exit code of the earlier attempt's container").isEqualTo(7);
    assertThat(exit.durationMs()).as("duration of that container").isGreaterThanOrEqualTo(2500);
    assertThat(Files.readAllLines(out.resolve("runs.txt"))).as("lines appended by trainings").containsExactly("attempt");
  }

  @Test
  void a_retry_collects_the_exited_container_of_an_earlier_attempt_instead_of_training_again() throws Exception {
    Path out = Files.createDirectories(tmp.resolve("out"));
    String name = prefix + "collect";
    String appendOnce = "echo attempt >> /out/runs.txt; ";
    String id = startDirectly(name, out, appendOnce + "echo earlier attempt; exit 5");
    docker.waitContainerCmd(id).exec(new WaitContainerResultCallback()).awaitStatusCode(30, TimeUnit.SECONDS);

    ContainerExit exit =
        engine.run(
            request("collect", List.of("sh", "-c", appendOnce + "exit 0"), List.of(new Mount(out, "/out", false)), LIMITS),
            progress);

    assertThat(exit.exitCode()).as("exit code of the earlier attempt's container").isEqualTo(5);
    assertThat(exit.logTail()).as("its log").containsExactly("earlier attempt");
    assertThat(Files.readAllLines(out.resolve("runs.txt"))).as("lines appended by trainings").containsExactly("attempt");
    assertThat(engine.containersWithLabel(LABEL, label)).as("containers of this test after run()").isEmpty();
  }

  @Test
  void an_attempt_that_fails_after_the_exit_leaves_the_container_and_the_next_attempt_collects_it() throws IOException {
    Path out = Files.createDirectories(tmp.resolve("out"));
    String appendOnce = "echo attempt >> /out/runs.txt; ";
    ContainerRequest request =
        request("after-exit", List.of("sh", "-c", appendOnce + "echo trained; exit 0"), List.of(new Mount(out, "/out", false)), LIMITS);
    RuntimeException died = new IllegalStateException("the store went away while the exit was recorded");

    assertThatThrownBy(() -> engine.run(request, progress, exit -> {
      throw died;
    })).as("run() when recording the exit fails").isSameAs(died);
    assertThat(engine.containersWithLabel(LABEL, label)).as("containers of this test after the failed attempt").hasSize(1);

    List<ContainerExit> recorded = new java.util.ArrayList<>();
    ContainerExit exit = engine.run(request, progress, recorded::add);

    assertThat(exit.exitCode()).as("exit code collected by the next attempt").isZero();
    assertThat(exit.logTail()).as("its log").containsExactly("trained");
    assertThat(recorded).as("exits handed over before removal").containsExactly(exit);
    assertThat(Files.readAllLines(out.resolve("runs.txt"))).as("lines appended by trainings").containsExactly("attempt");
    assertThat(engine.containersWithLabel(LABEL, label)).as("containers of this test after the second attempt").isEmpty();
  }

  @Test
  void a_progress_that_throws_removes_the_container_and_propagates() {
    RuntimeException cancelled = new IllegalStateException("activity cancelled");
    AtomicInteger calls = new AtomicInteger();
    Progress cancelling = message -> {
      if (calls.incrementAndGet() == 2) {
        throw cancelled;
      }
    };
    long started = System.nanoTime();

    assertThatThrownBy(() -> engine.run(request("cancel", List.of("sleep", "60"), List.of(), LIMITS), cancelling))
        .as("run() when the progress throws")
        .isSameAs(cancelled);
    assertThat(Duration.ofNanos(System.nanoTime() - started)).as("time until run() gave up").isLessThan(Duration.ofSeconds(20));
    assertThat(engine.containersWithLabel(LABEL, label)).as("containers of this test after the cancellation").isEmpty();
  }

  @Test
  void remove_is_idempotent_and_containers_are_listed_by_label() {
    String name = prefix + "listed";
    docker.createContainerCmd(churnEnv.toString()).withName(name).withLabels(Map.of(LABEL, label)).withCmd("true")
        .withHostConfig(HostConfig.newHostConfig().withNetworkMode("none")).exec();

    assertThat(engine.containersWithLabel(LABEL, label)).as("containers with this test's label").containsExactly(name);
    engine.remove(name);
    engine.remove(name);
    engine.remove(prefix + "never-created");
    assertThat(engine.containersWithLabel(LABEL, label)).as("containers with this test's label after remove").isEmpty();
  }

  @Test
  void a_running_training_container_is_non_root_with_a_read_only_root_no_capabilities_and_no_new_privileges()
      throws Exception {
    Path out = Files.createDirectories(tmp.resolve("out"));
    String script =
        "import os, pathlib, time\n"
            + "status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines())\n"
            + "print('uid', os.getuid(), os.getgid())\n"
            + "print('CapEff', status['CapEff'].strip(), 'NoNewPrivs', status['NoNewPrivs'].strip(),"
            + " 'Seccomp', status['Seccomp'].strip())\n"
            + "try:\n  open('/etc/evil', 'w')\nexcept OSError as e:\n  print('root fs', e.strerror)\n"
            + "pathlib.Path('/tmp/x').write_text('tmp ok'); print(pathlib.Path('/tmp/x').read_text())\n"
            + "pathlib.Path('/out/model.pkl').write_text('model')\n"
            + "time.sleep(4)\n";
    var inspected = new java.util.concurrent.CompletableFuture<com.github.dockerjava.api.command.InspectContainerResponse>();
    Thread inspector = new Thread(() -> {
      for (int i = 0; i < 100 && !inspected.isDone(); i++) {
        try {
          var c = docker.inspectContainerCmd(prefix + "sandbox").exec();
          if (Boolean.TRUE.equals(c.getState().getRunning())) {
            inspected.complete(c);
          }
        } catch (NotFoundException e) {
          // Not created yet.
        }
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    inspector.start();

    ContainerExit exit =
        engine.run(request("sandbox", python(script), List.of(new Mount(out, "/out", false)), LIMITS), progress);
    inspector.join();

    var running = inspected.getNow(null);
    assertThat(running).as("docker inspect of the running container").isNotNull();
    assertThat(running.getConfig().getUser()).as("User").isEqualTo("65534:65534");
    assertThat(running.getHostConfig().getReadonlyRootfs()).as("ReadonlyRootfs").isTrue();
    assertThat(running.getHostConfig().getCapDrop()).as("CapDrop").containsExactly(com.github.dockerjava.api.model.Capability.ALL);
    assertThat(running.getHostConfig().getSecurityOpts()).as("SecurityOpt").containsExactly("no-new-privileges");
    assertThat(running.getHostConfig().getNetworkMode()).as("NetworkMode").isEqualTo("none");
    assertThat(running.getHostConfig().getTmpFs()).as("Tmpfs").containsKey("/tmp");
    assertThat(exit.exitCode()).as("exit code; log: %s", exit.logTail()).isZero();
    assertThat(exit.logTail()).as("what the training saw of its sandbox")
        .contains("uid 65534 65534", "CapEff 0000000000000000 NoNewPrivs 1 Seccomp 2", "root fs Read-only file system",
            "tmp ok");
    assertThat(Files.readString(out.resolve("model.pkl"))).as("output written as the sandbox user").isEqualTo("model");
  }

  @Test
  void a_relaxed_sandbox_runs_as_the_image_user_with_a_writable_root_but_still_without_capabilities() {
    TrainingLimits relaxed =
        LIMITS.withSandbox(LIMITS.sandbox().withMode(dev.timemachine.core.model.SandboxSettings.Mode.RELAXED));
    ContainerExit exit =
        engine.run(request("relaxed", List.of("sh", "-c", "id -u; touch /etc/ok && echo rootfs writable;"
            + " grep CapEff /proc/self/status"), List.of(), relaxed), progress);

    assertThat(exit.exitCode()).as("exit code; log: %s", exit.logTail()).isZero();
    assertThat(exit.logTail()).as("log").contains("0", "rootfs writable").anyMatch(l -> l.matches("CapEff:\\s+0+"));
  }

  @Test
  void a_background_process_that_outlives_the_entry_point_is_gone_with_the_container() throws Exception {
    String marker = "tm-orphan-" + label.substring(0, 8);
    List<String> seenWhileRunning = new CopyOnWriteArrayList<>();
    Progress watching = message -> {
      try {
        seenWhileRunning.addAll(hostProcessesNamed(marker));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    };
    ContainerExit exit =
        engine.run(request("orphan", List.of("sh", "-c",
            "python3 -c 'import time; time.sleep(300)' " + marker + " & echo started; sleep 3"), List.of(), LIMITS),
            watching);

    assertThat(exit.exitCode()).as("exit code; log: %s", exit.logTail()).isZero();
    assertThat(exit.logTail()).as("log").containsExactly("started");
    assertThat(seenWhileRunning).as("the orphan on the host while the entry point ran").isNotEmpty();
    assertThat(engine.containersWithLabel(LABEL, label)).as("containers after run()").isEmpty();
    assertThat(hostProcessesNamed(marker)).as("host processes of the orphan after run()").isEmpty();
  }

  @Test
  void outputs_past_the_output_limit_kill_the_container_while_it_runs() {
    Path out;
    try {
      out = Files.createDirectories(tmp.resolve("out"));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    TrainingLimits small = LIMITS.withSandbox(LIMITS.sandbox().withMaxOutputBytes(4L << 20));
    long started = System.nanoTime();
    ContainerExit exit =
        engine.run(request("bigout", List.of("sh", "-c",
            "for i in 1 2 3 4 5 6 7 8; do head -c 1048576 /dev/zero > /out/part$i; done; sleep 60"),
            List.of(new Mount(out, "/out", false)), small), progress);

    assertThat(exit.sandboxKill()).as("why the sandbox killed it; log %s", exit.logTail()).contains("4194304 bytes");
    assertThat(exit.exitCode()).as("exit code").isEqualTo(137);
    assertThat(Duration.ofNanos(System.nanoTime() - started)).as("time run() took").isLessThan(Duration.ofSeconds(30));
  }

  @Test
  void a_hostile_training_that_links_its_outputs_to_host_files_leaks_nothing() throws IOException {
    Path out = Files.createDirectories(tmp.resolve("out"));
    Path secret = Files.writeString(tmp.resolve("worker.key"), "SECRET-" + label);
    ContainerExit exit =
        engine.run(request("hostile", List.of("sh", "-c",
            "ln -s /etc/shadow /out/model.pkl; ln -s ../../ /out/up; ln -s " + secret + " /out/key;"
                + " cp /bin/sh /out/sh && chmod 4755 /out/sh; mkfifo /out/fifo; echo '{\"a\": 1}' > /out/metrics.json"),
            List.of(new Mount(out, "/out", false)), LIMITS), progress);
    assertThat(exit.exitCode()).as("exit code; log: %s", exit.logTail()).isZero();

    var collected = dev.timemachine.core.data.OutputCollection.collect(out, List.of());

    assertThat(collected.files()).as("collected outputs").extracting(f -> f.path()).containsExactly("metrics.json", "sh");
    assertThat(String.join("\n", collected.problems())).as("named problems")
        .contains("'model.pkl' is a symbolic link (to '/etc/shadow')", "'up' is a symbolic link", "'key' is a symbolic link",
            "'fifo' is a FIFO", "'sh' had mode 4755 (setuid)")
        .doesNotContain("SECRET").doesNotContain("root:");
    var store = new dev.timemachine.adapters.store.LocalObjectStore(tmp.resolve("store"));
    store.put("outputs/sh", collected.fileNamed("sh"));
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(store.root().resolve("outputs/sh"))))
        .as("mode of the stored setuid shell").isEqualTo("rw-r--r--");
  }

  /** Host processes whose command line starts with {@code marker}, from /proc (the engine's processes are the host's). */
  private static List<String> hostProcessesNamed(String marker) throws IOException {
    List<String> found = new java.util.ArrayList<>();
    try (var procs = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) procs::iterator) {
        if (p.getFileName().toString().matches("[0-9]+")) {
          try {
            String cmdline = Files.readString(p.resolve("cmdline")).replace('\0', ' ');
            if (cmdline.contains(marker)) {
              found.add(p.getFileName() + ": " + cmdline);
            }
          } catch (IOException e) {
            // Gone while we looked.
          }
        }
      }
    }
    return found;
  }

  /** Starts a container the way an earlier attempt of run() would have, bypassing the engine under test. */
  private String startDirectly(String name, Path out, String script) {
    String id =
        docker.createContainerCmd(churnEnv.toString())
            .withName(name)
            .withLabels(Map.of(LABEL, label))
            .withCmd("sh", "-c", script)
            .withHostConfig(
                HostConfig.newHostConfig().withNetworkMode("none").withBinds(new Bind(out.toString(), new Volume("/out"), AccessMode.rw)))
            .exec()
            .getId();
    docker.startContainerCmd(id).exec();
    return id;
  }

  private ContainerRequest request(String suffix, List<String> command, List<Mount> mounts, TrainingLimits limits) {
    return new ContainerRequest(
        prefix + suffix, churnEnv, command, "/", mounts, Map.of("PYTHONUNBUFFERED", "1"), Map.of(LABEL, label), limits);
  }

  private static ContainerRequest withLog(ContainerRequest r, Path logFile) {
    return new ContainerRequest(
        r.name(), r.image(), r.command(), r.workingDir(), r.mounts(), r.environment(), r.labels(), r.limits(), logFile);
  }

  private static List<String> python(String code) {
    return List.of("python3", "-c", code);
  }

  /** The digest the registry serves for a tag, as the engine records it (schema 2 manifest). */
  private static String registryDigest(String repository, String tag) {
    String url = "http://" + REGISTRY + "/v2/" + repository + "/manifests/" + tag;
    try {
      HttpResponse<Void> response =
          HTTP.send(HttpRequest.newBuilder(URI.create(url)).method("HEAD", HttpRequest.BodyPublishers.noBody())
              .header("Accept", "application/vnd.docker.distribution.manifest.v2+json").build(),
              HttpResponse.BodyHandlers.discarding());
      String digest = response.headers().firstValue("Docker-Content-Digest").orElse(null);
      if (response.statusCode() != 200 || !Digests.isPrefixedSha256(digest)) {
        fail("image registry at " + REGISTRY + " has no " + repository + ":" + tag
            + " (HTTP " + response.statusCode() + "): " + START_SERVICES);
      }
      return digest;
    } catch (IOException e) {
      return fail("image registry not reachable at " + REGISTRY + ": " + START_SERVICES, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return fail("interrupted", e);
    }
  }

  private static DockerClient client(String host) {
    DefaultDockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(host).build();
    return DockerClientImpl.getInstance(
        config,
        new ApacheDockerHttpClient.Builder().dockerHost(config.getDockerHost()).sslConfig(config.getSSLConfig()).build());
  }
}
