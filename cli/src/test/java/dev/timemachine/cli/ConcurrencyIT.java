package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.adapters.docker.DockerContainerEngine;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.samples.SampleRuns;
import dev.timemachine.samples.Services;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two packaged CLIs at once on one host, each with its embedded Temporal server, so that nothing but
 * the host's own files can keep them apart: one replay id for two models, two replays of one version,
 * two snapshots of one directory.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConcurrencyIT {
  private static final Path JAR = Path.of("target/timemachine.jar").toAbsolutePath();

  @TempDir static Path tmp;
  private Path home;
  private Path data;
  private Path original;
  private SampleProject.Repository repo;
  private ImageRef image;

  record Result(int exit, String out, String err) {}

  private Process start(Path out, Path err, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of("java", "-jar", JAR.toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().remove("TEMPORAL_ADDRESS");
    pb.environment().remove("TIMEMACHINE_STORE");
    pb.environment().put("TIMEMACHINE_HOME", home.toString());
    pb.environment().put("TIMEMACHINE_ERROR_FORMAT", "json");
    return pb.start();
  }

  /** Runs each argument list as its own CLI process, all at once, and waits for them all. */
  private List<Result> atOnce(List<List<String>> runs) throws Exception {
    List<Process> processes = new ArrayList<>();
    List<Path[]> files = new ArrayList<>();
    for (List<String> args : runs) {
      Path out = tmp.resolve("out-" + System.nanoTime());
      Path err = tmp.resolve("err-" + System.nanoTime());
      files.add(new Path[] {out, err});
      processes.add(start(out, err, args.toArray(String[]::new)));
    }
    List<Result> results = new ArrayList<>();
    for (int i = 0; i < processes.size(); i++) {
      assertThat(processes.get(i).waitFor(5, TimeUnit.MINUTES)).as("run %s finished", runs.get(i)).isTrue();
      results.add(new Result(processes.get(i).exitValue(), Files.readString(files.get(i)[0]), Files.readString(files.get(i)[1])));
    }
    return results;
  }

  private Result run(String... args) throws Exception {
    return atOnce(List.<List<String>>of(List.of(args))).get(0);
  }

  @BeforeAll
  void prepare() throws Exception {
    Services.requireAll();
    home = Files.createDirectories(tmp.resolve("home"));
    image = SampleEnvironment.pinned();
    repo = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("churn"));
    try (DockerContainerEngine engine = new DockerContainerEngine("unix:///var/run/docker.sock")) {
      engine.pull(image, Progress.NONE);
      data = SampleRuns.generateData(engine, image, repo, tmp.resolve("data"));
      original = SampleRuns.trainOriginal(engine, image, repo, data, tmp.resolve("original"));
    }
    Result snap = run("snapshot", "create", data.toString(), home.resolve("store").toUri().toString());
    assertThat(snap.exit()).as(snap.err()).isZero();
    String snapshot = snap.out().strip().split("\n")[1];
    // Two models: the sample, and one whose training sleeps first, so that the two overlap.
    for (String[] v : List.of(new String[] {"churn@1", "python3 train.py"},
        new String[] {"churn-slow@1", "[\"sh\", \"-c\", \"sleep 8 && exec python3 train.py\"]"})) {
      Result reg = run("register", "--model", v[0], "--repo", repo.url(), "--commit", repo.commit(), "--entry-point", v[1],
          "--image", image.toString(), "--data", snapshot, "--output", original.toString());
      assertThat(reg.exit()).as(reg.err()).isZero();
    }
  }

  @Test
  void two_models_started_at_once_under_one_replay_id_never_share_a_container_or_outputs() throws Exception {
    String id = "conc-same-id-" + System.currentTimeMillis();
    List<Result> results = atOnce(List.of(
        List.of("replay", "churn-slow@1", "--replay-id", id, "--json"),
        List.of("replay", "churn@1", "--replay-id", id, "--json")));
    long ok = results.stream().filter(r -> r.exit() == 0).count();
    System.out.printf("[concurrency] one id, two models: exits %s%n", results.stream().map(Result::exit).toList());
    assertThat(ok).as("exactly one of the two replays under one id completes: %s", results).isEqualTo(1);
    Result loser = results.stream().filter(r -> r.exit() != 0).findFirst().orElseThrow();
    assertThat(loser.exit()).as("the other is refused: %s", loser.err()).isEqualTo(2);
    assertThat(loser.err()).as("as a CONFLICT naming the id").contains("\"kind\":\"CONFLICT\"").contains(id);
    Result winner = results.stream().filter(r -> r.exit() == 0).findFirst().orElseThrow();
    JsonNode report = Json.mapper().readTree(winner.out());
    JsonNode stored = Json.mapper().readTree(home.resolve("store/reports/" + id + ".json").toFile());
    assertThat(stored.path("modelSpec").asText()).as("the stored report is the winner's").isEqualTo(report.path("modelSpec").asText());
    assertThat(stored.path("verdict").asText()).isEqualTo("REPRODUCED_BITWISE");
    // Its outputs are the winner's own: kept under its id, and the loser's model never trained there.
    assertThat(stored.path("replayId").asText()).isEqualTo(id);
    assertThat(results.stream().filter(r -> r.exit() == 0).count()).isEqualTo(1);
  }

  @Test
  void two_replays_of_one_version_at_once_both_complete_with_their_own_reports() throws Exception {
    String a = "conc-a-" + System.currentTimeMillis();
    String b = "conc-b-" + System.currentTimeMillis();
    List<Result> results = atOnce(List.of(
        List.of("replay", "churn@1", "--replay-id", a, "--json"), List.of("replay", "churn@1", "--replay-id", b, "--json")));
    for (Result r : results) {
      assertThat(r.exit()).as(r.err()).isZero();
    }
    for (String id : List.of(a, b)) {
      JsonNode report = Json.mapper().readTree(home.resolve("store/reports/" + id + ".json").toFile());
      assertThat(report.path("replayId").asText()).isEqualTo(id);
      assertThat(report.path("verdict").asText()).isEqualTo("REPRODUCED_BITWISE");
      assertThat(Files.exists(home.resolve("work").resolve(id))).as("work dir of %s removed", id).isFalse();
    }
  }

  @Test
  void two_snapshots_of_one_directory_at_once_make_one_snapshot_and_both_succeed() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("snap-data"));
    Files.write(dir.resolve("big.bin"), new byte[8 << 20]);
    Files.writeString(dir.resolve("note.txt"), "concurrent " + System.nanoTime());
    String root = home.resolve("store").toUri().toString();
    List<Result> results = atOnce(List.of(List.of("snapshot", "create", dir.toString(), root),
        List.of("snapshot", "create", dir.toString(), root)));
    for (Result r : results) {
      assertThat(r.exit()).as(r.err()).isZero();
    }
    String first = results.get(0).out().strip().split("\n")[1];
    assertThat(results.get(1).out().strip().split("\n")[1]).as("one snapshot URI").isEqualTo(first);
    Path manifestDir = Path.of(java.net.URI.create(first));
    try (Stream<Path> files = Files.list(manifestDir)) {
      assertThat(files.map(p -> p.getFileName().toString()).toList()).as("one manifest, nothing half-written")
          .containsExactly("manifest.json");
    }
    JsonNode manifest = Json.mapper().readTree(manifestDir.resolve("manifest.json").toFile());
    assertThat(manifest.path("files")).as("both files listed").hasSize(2);
    for (JsonNode f : manifest.path("files")) {
      String sha = f.path("sha256").asText();
      Path object = home.resolve("store/objects/sha256").resolve(sha.substring(0, 2)).resolve(sha);
      assertThat(java.util.HexFormat.of().formatHex(
          java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(object))))
          .as("the stored object of %s is whole", f.path("path").asText()).isEqualTo(sha);
      assertThat(Files.readAllBytes(object)).isEqualTo(Files.readAllBytes(dir.resolve(f.path("path").asText())));
    }
  }
}
