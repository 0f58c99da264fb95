package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.core.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lineage on the real services: samples/two-stage/run.sh (a feature encoder, and a churn model that
 * consumes it) with the packaged CLI, its original trainings in the real Docker engine; then what the
 * upstream check catches. The story runs once, in {@link #story()}; the cases read its output and
 * store, or break a copy of its store.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TwoStageIT {
  private static final Path JAR = Path.of("target/timemachine.jar").toAbsolutePath();
  private static final Path SCRIPT = Path.of("../samples/two-stage/run.sh").toAbsolutePath().normalize();

  @TempDir static Path tmp;
  private Path home;
  private String storyOut;
  private String storyErr;

  record Result(int exit, String out, String err) {}

  private Result run(List<String> command) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command);
    Map<String, String> env = pb.environment();
    env.remove("TEMPORAL_ADDRESS");
    env.remove("TIMEMACHINE_STORE");
    env.put("TIMEMACHINE_HOME", home.toString());
    env.put("TIMEMACHINE", "java -jar " + JAR);
    env.put("TWO_STAGE_DIR", tmp.resolve("work").toString());
    Path out = tmp.resolve("out-" + System.nanoTime());
    Path err = tmp.resolve("err-" + System.nanoTime());
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(p.waitFor(10, TimeUnit.MINUTES)).as("%s finished", command).isTrue();
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  private Result cli(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("java", "-jar", JAR.toString()));
    command.addAll(List.of(args));
    return run(command);
  }

  @BeforeAll
  void story() throws Exception {
    assertThat(JAR).as("the packaged CLI").exists();
    home = Files.createDirectories(tmp.resolve("home"));
    Result r = run(List.of("bash", SCRIPT.toString()));
    storyOut = r.out();
    storyErr = r.err();
    assertThat(r.exit()).as("samples/two-stage/run.sh: %s%n%s", r.out(), r.err()).isZero();
  }

  @Test
  @Order(1)
  void the_consumer_is_registered_with_the_encoders_artifact_and_replays_bitwise_with_it_restored() throws Exception {
    assertThat(storyOut).contains("registered churn-encoded@1")
        .containsPattern("upstream: +encoder@1:encoder.pkl \\(sha256 [0-9a-f]{64}\\) at /upstream/encoder/encoder.pkl")
        .contains("verdict: REPRODUCED_BITWISE");
    JsonNode manifest = Json.mapper().readTree(home.resolve("store/models/churn-encoded/1.json").toFile());
    JsonNode upstream = manifest.path("triplet").path("upstream").get(0);
    assertThat(upstream.path("model").path("name").asText()).isEqualTo("encoder");
    assertThat(upstream.path("artifact").asText()).isEqualTo("encoder.pkl");
    JsonNode encoder = Json.mapper().readTree(home.resolve("store/models/encoder/1.json").toFile());
    String recorded = null;
    for (JsonNode a : encoder.path("recorded").path("artifacts")) {
      if (a.path("path").asText().equals("encoder.pkl")) {
        recorded = a.path("sha256").asText();
      }
    }
    assertThat(upstream.path("sha256").asText()).as("the consumer records the encoder's own sha256").isEqualTo(recorded);
    // The replay's report carries the upstream check in the data evidence.
    try (var reports = Files.list(home.resolve("store/reports"))) {
      Path report = reports.filter(p -> p.getFileName().toString().matches("replay-churn-encoded-1-.*\\.json")
          && !p.toString().endsWith(".intoto.json")).findFirst().orElseThrow();
      assertThat(Json.mapper().readTree(report.toFile()).path("evidence").path("data").asText())
          .contains("upstream verified: encoder=encoder@1:encoder.pkl sha256:" + recorded);
    }
  }

  @Test
  @Order(2)
  void lineage_names_the_downstream_model_and_the_downstream_backtest_tabulates_its_metric_changes() throws Exception {
    assertThat(storyOut).contains("downstream (what consumes encoder):")
        .containsPattern("churn-encoded@1 +<- encoder@1:encoder.pkl +\\(latest");
    assertThat(storyOut).contains("downstream of encoder@2: 1 model(s) {BACKTEST_COMPLETED=1}")
        .contains("churn-encoded@1  (encoder=encoder@1:encoder.pkl -> encoder@2)")
        .containsPattern("accuracy +0\\.\\d+ +0\\.\\d+ +[+-]\\d");
    Path summary = Files.list(home.resolve("store/backtests"))
        .filter(p -> p.getFileName().toString().matches("backtest-encoder-2-\\d{8}T\\d{6}-[0-9a-f]{8}\\.json"))
        .findFirst().orElseThrow();
    JsonNode doc = Json.mapper().readTree(summary.toFile());
    assertThat(doc.path("schema").asText()).isEqualTo("timemachine.downstream-backtest/v1");
    JsonNode entry = doc.path("entries").get(0);
    assertThat(entry.path("outcome").asText()).isEqualTo("BACKTEST_COMPLETED");
    // The child's report says it trained with encoder@2's artifact, verified by its sha256.
    JsonNode child = Json.mapper().readTree(Path.of(java.net.URI.create(entry.path("reportUri").asText())).toFile());
    assertThat(child.path("upstream").get(0).path("model").path("version").asText()).isEqualTo("2");
    assertThat(child.path("runs").get(0).path("evidence").path("data").asText()).contains("encoder=encoder@2:encoder.pkl");
    JsonNode accuracy = null;
    for (JsonNode c : entry.path("changes")) {
      if (c.path("metric").asText().equals("accuracy")) {
        accuracy = c;
      }
    }
    assertThat(accuracy).isNotNull();
    assertThat(accuracy.path("recorded").asDouble()).as("the recorded accuracy with encoder@1").isEqualTo(0.775);
    assertThat(accuracy.path("delta").asDouble())
        .isEqualTo(accuracy.path("retrained").asDouble() - accuracy.path("recorded").asDouble());
  }

  @Test
  @Order(3)
  void a_plain_backtest_prints_the_original_it_links_to_its_upstream_and_the_metrics_side_by_side() throws Exception {
    Path q4 = tmp.resolve("work/q4");
    Result consumer = cli("backtest", "churn-encoded@1", "--data", q4.toString());
    assertThat(consumer.exit()).as(consumer.out() + consumer.err()).isZero();
    assertThat(consumer.out()).contains("outcome:   BACKTEST_COMPLETED")
        .containsPattern("original: +churn-encoded@1, registered .*: code .* @ [0-9a-f]{40}, trained on sha256:[0-9a-f]{64}")
        .containsPattern("upstream: +encoder@1:encoder.pkl at /upstream/encoder/encoder.pkl \\(sha256 [0-9a-f]{64}\\)")
        .containsPattern("metric +churn-encoded@1 \\(recorded\\) +churn-encoded@1")
        .containsPattern("threshold: accuracy>=0.6 (met|MISSED)");
    // A model that consumes nothing: no upstream line, and its report reads back without one.
    Result encoder = cli("backtest", "encoder@1", "--data", q4.toString());
    assertThat(encoder.exit()).as(encoder.out() + encoder.err()).isZero();
    assertThat(encoder.out()).contains("original:  encoder@1").doesNotContain("upstream:")
        .containsPattern("explained_variance +0\\.\\d+ +0\\.\\d+");
  }

  @Test
  @Order(4)
  void an_altered_upstream_artifact_makes_the_consumers_replay_unverifiable_naming_it() throws Exception {
    JsonNode manifest = Json.mapper().readTree(home.resolve("store/models/churn-encoded/1.json").toFile());
    String sha = manifest.path("triplet").path("upstream").get(0).path("sha256").asText();
    Path object = home.resolve("store/objects/sha256").resolve(sha.substring(0, 2)).resolve(sha);
    assertThat(object).exists();
    byte[] original = Files.readAllBytes(object);
    object.toFile().setWritable(true);
    Files.write(object, "not the encoder".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    try {
      Result r = cli("replay", "churn-encoded@1");
      assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(3);
      assertThat(r.out()).contains("verdict: INPUTS_UNVERIFIABLE")
          .contains("upstream artifact encoder@1:encoder.pkl was altered in its store");
    } finally {
      Files.write(object, original);
    }
  }

  @Test
  @Order(5)
  void registering_an_upstream_artifact_the_version_did_not_record_is_refused_naming_what_it_did() throws Exception {
    Path work = tmp.resolve("work");
    String commit = new String(new ProcessBuilder("git", "-C", work.resolve("code").toString(), "rev-parse", "HEAD")
        .start().getInputStream().readAllBytes()).strip();
    String image = storyOut.lines().filter(l -> l.strip().startsWith("environment:")).findFirst().orElseThrow()
        .strip().substring("environment:".length()).strip();
    Result r = cli("register", "--model", "churn-encoded@9", "--repo", work.resolve("code").toString(), "--commit", commit,
        "--entry-point", "python3 train.py", "--image", image, "--data", work.resolve("q3").toString(),
        "--output", work.resolve("churn-encoded-1").toString(), "--upstream", "encoder@1:model.pkl");
    assertThat(r.exit()).as(r.err()).isEqualTo(2);
    assertThat(r.err()).contains("encoder@1 recorded no artifact 'model.pkl'").contains("encoder.pkl");
    assertThat(home.resolve("store/models/churn-encoded/9.json")).doesNotExist();
  }
}
