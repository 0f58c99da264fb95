package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.adapters.docker.DockerContainerEngine;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.samples.SampleRuns;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI as a user runs it: the packaged jar in its own process, with exit codes, stdout and stderr
 * checked. Uses the embedded defaults (in-process Temporal, local-directory store, local Docker).
 * The sample's data and original outputs are made once; every test has a home (and store) of its own,
 * so that the tests run in any order and alone.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class CliIT {
  private static final Path JAR = Path.of("target/timemachine.jar");

  @TempDir static Path tmp;
  private Path home;
  private SampleProject.Repository repo;
  private ImageRef image;
  private Path data;
  private Path original;

  record Result(int exit, String out, String err) {}

  private Result cli(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("java", "-jar", JAR.toAbsolutePath().toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    Map<String, String> env = pb.environment();
    env.remove("TEMPORAL_ADDRESS");
    env.put("TIMEMACHINE_HOME", home.toString());
    env.remove("TIMEMACHINE_STORE");
    Path out = tmp.resolve("stdout-" + System.nanoTime());
    Path err = tmp.resolve("stderr-" + System.nanoTime());
    Process process = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(process.waitFor(10, TimeUnit.MINUTES)).as("timemachine %s finished", String.join(" ", args)).isTrue();
    return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
  }

  @BeforeEach
  void ownHome() throws IOException {
    home = Files.createTempDirectory(tmp, "home-");
  }

  /** A snapshot of the sample's data in this test's store. */
  private String snapshot() throws Exception {
    Result r = cli("snapshot", "create", data.toString(), home.resolve("store").toUri().toString());
    assertThat(r.exit()).as(r.err()).isZero();
    return r.out().strip().split("\n")[1];
  }

  /** churn@1 registered in this test's store, its data in {@code snapshotUri}. */
  private void registerChurn1(String snapshotUri) throws Exception {
    Result reg = cli("register", "--model", "churn@1", "--repo", repo.url(), "--commit", repo.commit(),
        "--entry-point", "python3 train.py", "--image", image.toString(), "--data", snapshotUri,
        "--output", original.toString());
    assertThat(reg.exit()).as(reg.err()).isZero();
    assertThat(reg.out()).contains("registered churn@1");
  }

  @BeforeAll
  void prepare() throws Exception {
    assertThat(JAR).as("the packaged CLI (mvn package runs before the integration tests)").exists();
    image = SampleEnvironment.pinned();
    repo = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("churn"));
    try (DockerContainerEngine engine = new DockerContainerEngine("unix:///var/run/docker.sock")) {
      engine.pull(image, Progress.NONE);
      data = SampleRuns.generateData(engine, image, repo, tmp.resolve("data"));
      original = SampleRuns.trainOriginal(engine, image, repo, data, tmp.resolve("original"));
    }
  }

  @Test
  void no_command_is_a_usage_error() throws Exception {
    Result r = cli();
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("a command is required");
  }

  @Test
  void a_malformed_model_is_a_usage_error_in_one_line() throws Exception {
    Result r = cli("replay", "churn");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).startsWith("error: expected <name>@<version>, got 'churn'");
    assertThat(r.err()).doesNotContain("at dev.timemachine");
  }

  @Test
  void a_bad_replay_id_is_refused_at_once_and_no_workflow_is_started() throws Exception {
    long started = System.nanoTime();
    Result r = cli("replay", "churn@1", "--replay-id", "bad/id");
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

    assertThat(r.exit()).as("stderr: %s", r.err()).isEqualTo(2);
    assertThat(r.err()).startsWith("error: replay id 'bad/id' must be 1-128 of letters, digits");
    assertThat(r.err()).as("no workflow started").doesNotContain("started (workflow");
    assertThat(home.resolve("store")).as("no store opened").doesNotExist();
    assertThat(millis).as("refused in %d ms, JVM start included", millis).isLessThan(2000);
  }

  @Test
  void snapshot_create_prints_the_root_digest_and_uri() throws Exception {
    Result r = cli("snapshot", "create", data.toString(), home.resolve("store").toUri().toString());
    assertThat(r.exit()).as(r.err()).isZero();
    String[] lines = r.out().strip().split("\n");
    assertThat(lines[0]).matches("sha256:[0-9a-f]{64}");
    assertThat(lines[1]).startsWith("file:").endsWith("/snapshots/" + lines[0].substring(7));
    String snapshotUri = lines[1];

    Result json = cli("snapshot", "create", data.toString(), home.resolve("store").toUri().toString(), "--json");
    assertThat(json.exit()).as(json.err()).isZero();
    JsonNode parsed = Json.mapper().readTree(json.out());
    assertThat(parsed.get("snapshotUri").asText()).as("same content, same snapshot").isEqualTo(snapshotUri);
    assertThat(parsed.get("rootDigest").asText()).isEqualTo(lines[0]);
    assertThat(parsed.get("fileCount").asInt()).isEqualTo(2);
    assertThat(parsed.get("totalBytes").asLong()).isPositive();
    assertThat(parsed.has("files")).as("the file list stays in the stored manifest").isFalse();
  }

  @Test
  void an_image_named_by_tag_is_refused_at_registration() throws Exception {
    Result r = cli("register", "--model", "churn@1", "--repo", repo.url(), "--commit", repo.commit(),
        "--entry-point", "python3 train.py", "--image", SampleEnvironment.REPOSITORY + ":bookworm",
        "--data", data.toString(), "--output", original.toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("not pinned by digest");
  }

  @Test
  void register_then_replay_json_is_reproduced_bitwise_with_only_json_on_stdout() throws Exception {
    registerChurn1(snapshot());

    Result list = cli("models", "list");
    assertThat(list.out()).contains("churn@1").contains(repo.commit().substring(0, 12));

    Result r = cli("replay", "churn@1", "--json");
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode report = Json.mapper().readTree(r.out());
    assertThat(report.get("verdict").asText()).isEqualTo("REPRODUCED_BITWISE");
    assertThat(report.get("inputs").get("data").get("state").asText()).isEqualTo("VERIFIED");
    assertThat(r.err()).as("progress on stderr").contains("train");
  }

  @Test
  void an_unpushed_commit_is_refused_with_the_fix_and_with_allow_unpushed_every_replay_warns() throws Exception {
    // A laptop clone with a commit its origin (the sample repository) never received.
    String snapshotUri = snapshot();
    Path laptop = tmp.resolve("laptop");
    org.eclipse.jgit.api.Git.cloneRepository().setURI(repo.url()).setDirectory(laptop.toFile()).call().close();
    String unpushed = SampleProject.commitChange(
        new SampleProject.Repository(laptop, repo.commit()), "NOTES.md", "not pushed yet\n", "local only");
    List<String> register = List.of("--repo", repo.url(), "--commit", unpushed,
        "--entry-point", "python3 train.py", "--image", image.toString(), "--data", snapshotUri, "--output", original.toString());

    Result refused = cli(concat(List.of("register", "--model", "churn@2"), register));

    assertThat(refused.exit()).as(refused.err()).isEqualTo(2);
    assertThat(refused.err().lines().filter(l -> l.startsWith("error: ")))
        .as("the error, with the fix, in one line")
        .containsExactly("error: commit " + unpushed + " is not reachable from " + repo.url()
            + " (no branch or tag of it contains it): push it (git push origin HEAD) or pass --allow-unpushed");
    assertThat(cli("models", "list").out()).as("nothing registered").doesNotContain("churn@2");

    Result allowed = cli(concat(List.of("register", "--model", "churn@2", "--allow-unpushed"), register));

    assertThat(allowed.exit()).as(allowed.err()).isZero();
    assertThat(allowed.out()).contains("registered churn@2").contains("warning:     the commit is not pushed");
    Result replay = cli("replay", "churn@2");
    assertThat(replay.exit()).as("the commit is not in the repository: %s", replay.err()).isEqualTo(3);
    assertThat(replay.out()).contains("INPUTS_UNVERIFIABLE")
        .contains("warning: commit " + unpushed + " was not reachable from " + repo.url() + " when this version was registered (--allow-unpushed)");
    Result json = cli("replay", "churn@2", "--json");
    assertThat(Json.mapper().readTree(json.out()).at("/triplet/code/unpushed").asBoolean()).as("the report records it").isTrue();
  }

  private static String[] concat(List<String> first, List<String> second) {
    List<String> all = new ArrayList<>(first);
    all.addAll(second);
    return all.toArray(String[]::new);
  }

  @Test
  void altering_a_stored_snapshot_file_makes_the_next_replay_exit_3_naming_the_file() throws Exception {
    String snapshotUri = snapshot();
    registerChurn1(snapshotUri);
    // Snapshot files are stored once by content: objects/sha256/<aa>/<hex> beside snapshots/.
    Path snapshotDir = Path.of(java.net.URI.create(snapshotUri));
    var manifest = dev.timemachine.core.json.Json.parse(Files.readAllBytes(snapshotDir.resolve("manifest.json")),
        dev.timemachine.core.data.SnapshotManifest.class, snapshotUri);
    String sha256 = manifest.files().stream().filter(f -> f.path().equals("customers.csv")).findFirst().orElseThrow().sha256();
    Path stored = snapshotDir.getParent().getParent().resolve(dev.timemachine.core.data.SnapshotManifest.objectKey(sha256));
    Files.writeString(stored, Files.readString(stored).replace("C00001,", "C00001X,"), StandardCharsets.UTF_8);

    Result r = cli("replay", "churn@1");

    assertThat(r.exit()).as(r.err()).isEqualTo(3);
    assertThat(r.out()).contains("INPUTS_UNVERIFIABLE").contains("customers.csv");
  }

  @Test
  void the_demo_trains_registers_and_replays_the_seeded_sample_bitwise() throws Exception {
    Result r = cli("demo");

    assertThat(r.exit()).as("demo exit; stderr: %s", r.err()).isZero();
    assertThat(r.out()).contains("verdict: REPRODUCED_BITWISE").contains("inputs:  code VERIFIED, environment VERIFIED, data VERIFIED");
    assertThat(r.err()).as("the five steps, with progress").contains("[1/5]", "[4/5]", "[5/5] replay of churn@");
    java.util.regex.Matcher report = java.util.regex.Pattern.compile("report:  (file:\\S+)").matcher(r.out());
    assertThat(report.find()).as("report location in %s", r.out()).isTrue();
    JsonNode json = Json.mapper().readTree(Path.of(java.net.URI.create(report.group(1))).toFile());
    assertThat(json.get("verdict").asText()).isEqualTo("REPRODUCED_BITWISE");
    assertThat(json.get("artifacts")).as("artifacts compared").hasSize(2);
  }

  @Test
  void the_demo_without_a_worker_needs_a_temporal_server_and_says_so_in_one_line() throws Exception {
    Result r = cli("demo", "--no-worker");

    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).startsWith("error: --no-worker needs a Temporal server").contains("hint: export TEMPORAL_ADDRESS");
    assertThat(r.err().lines()).as("one error line and one hint").hasSize(2);
  }
}
