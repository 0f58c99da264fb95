package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.core.json.Json;
import dev.timemachine.samples.MlflowServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
 * The MLflow commands as a user runs them: the packaged jar in its own process against the real
 * MLflow server, with exit codes and the one-line errors checked. The first test is the one command
 * of docs/mlflow.md, {@code timemachine demo --registry mlflow}; the others build on the version it
 * records.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class MlflowCliIT {
  private static final Path JAR = Path.of("target/timemachine.jar");
  private static final Pattern RECORDED =
      Pattern.compile("recorded run ([0-9a-f]{32}) as MLflow model version churn/([0-9]+), alias champion");

  @TempDir static Path tmp;
  private MlflowServer mlflow;
  private String version;
  private String runId;

  record Result(int exit, String out, String err) {}

  private Result cli(Map<String, String> overrides, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("java", "-jar", JAR.toAbsolutePath().toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    Map<String, String> env = pb.environment();
    env.remove("TEMPORAL_ADDRESS");
    env.remove("TIMEMACHINE_STORE");
    env.put("TIMEMACHINE_HOME", tmp.resolve("home").toString());
    env.putAll(mlflow.environment());
    overrides.forEach((k, v) -> {
      if (v == null) {
        env.remove(k);
      } else {
        env.put(k, v);
      }
    });
    Path out = tmp.resolve("stdout-" + System.nanoTime());
    Path err = tmp.resolve("stderr-" + System.nanoTime());
    Process process = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(process.waitFor(10, TimeUnit.MINUTES)).as("timemachine %s finished", String.join(" ", args)).isTrue();
    return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
  }

  private Result cli(String... args) throws IOException, InterruptedException {
    return cli(Map.of(), args);
  }

  private static void assertOneLineError(Result r, String firstLine) {
    assertThat(r.exit()).as("exit code; stderr: %s", r.err()).isEqualTo(2);
    List<String> errors = r.err().lines().filter(l -> l.startsWith("error: ")).toList();
    assertThat(errors).as("stderr: %s", r.err()).containsExactly("error: " + firstLine);
    assertThat(r.err()).as("no stack trace").doesNotContain("\tat ").doesNotContain("Exception");
  }

  @BeforeAll
  void prepare() {
    assertThat(JAR).as("the packaged CLI (mvn package runs before the integration tests)").exists();
    mlflow = MlflowServer.require();
  }

  @Test
  @Order(1)
  void demo_with_the_mlflow_registry_records_aliases_and_replays_churn_bitwise() throws Exception {
    Result r = cli("demo", "--registry", "mlflow");

    assertThat(r.exit()).as("exit code; stderr: %s", r.err()).isZero();
    assertThat(r.out()).contains("verdict: REPRODUCED_BITWISE");
    assertThat(r.err()).contains("replay of mlflow:churn@champion");
    Matcher recorded = RECORDED.matcher(r.err());
    assertThat(recorded.find()).as("stderr names the recorded version: %s", r.err()).isTrue();
    runId = recorded.group(1);
    version = recorded.group(2);
    Map<String, String> tags = mlflow.versionTags("churn", version);
    assertThat(tags).containsEntry("timemachine.verdict", "REPRODUCED_BITWISE").containsKeys(
        "timemachine.report", "timemachine.replayed_at", "timemachine.replay_run_id");
    assertThat(r.out()).contains("report:  " + tags.get("timemachine.report"));
  }

  @Test
  @Order(2)
  void models_list_shows_the_version_with_its_alias_and_triplet() throws Exception {
    Result r = cli("models", "list", "--registry", "mlflow");

    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out().lines())
        .anySatisfy(line -> assertThat(line).startsWith("mlflow:churn/" + version + " ").contains("champion")
            .containsPattern("[0-9a-f]{12} sha256:"));

    Result json = cli("models", "list", "--registry", "mlflow", "--json");
    assertThat(json.exit()).as(json.err()).isZero();
    JsonNode ours = null;
    for (JsonNode v : Json.mapper().readTree(json.out())) {
      if (v.path("name").asText().equals("churn") && v.path("version").asText().equals(version)) {
        ours = v;
      }
    }
    assertThat(ours).as("churn/%s in %s", version, json.out()).isNotNull();
    assertThat(ours.path("aliases").toString()).isEqualTo("[\"champion\"]");
    assertThat(ours.path("runId").asText()).isEqualTo(runId);
    assertThat(ours.path("triplet").path("environment").path("image").asText()).startsWith("127.0.0.1:5000/timemachine/churn-env@sha256:");
    assertThat(ours.has("problem")).as("a replayable version has no problem").isFalse();
  }

  @Test
  @Order(3)
  void replay_without_write_back_leaves_the_version_tags_as_they_were() throws Exception {
    Map<String, String> before = mlflow.versionTags("churn", version);

    Result r = cli("replay", "mlflow:churn/" + version, "--json", "--no-write-back");

    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode report = Json.mapper().readTree(r.out());
    assertThat(report.get("verdict").asText()).isEqualTo("REPRODUCED_BITWISE");
    assertThat(report.get("modelSpec").asText()).isEqualTo("mlflow:churn/" + version);
    assertThat(mlflow.versionTags("churn", version)).isEqualTo(before);
  }

  @Test
  @Order(4)
  void a_version_whose_run_lacks_the_image_exits_3_naming_the_tag() throws Exception {
    // A run with the recorded run's tags but the image, as if logged before the team recorded images.
    JsonNode recorded = mlflow.get("runs/get", "run_id", runId).path("run");
    List<Map<String, String>> tags = new ArrayList<>();
    recorded.path("data").path("tags").forEach(t -> {
      String key = t.path("key").asText();
      boolean ours = key.startsWith("timemachine.") || key.startsWith("mlflow.source.git.");
      if (ours && !key.equals("timemachine.image")) {
        tags.add(Map.of("key", key, "value", t.path("value").asText()));
      }
    });
    JsonNode run =
        mlflow.post("runs/create", Map.of("experiment_id", recorded.path("info").path("experiment_id").asText(), "tags", tags))
            .path("run");
    String imageless = run.path("info").path("run_id").asText();
    String number =
        mlflow.post(
                "model-versions/create",
                Map.of("name", "churn", "source", run.path("info").path("artifact_uri").asText(), "run_id", imageless))
            .path("model_version").path("version").asText();

    Result r = cli("replay", "mlflow:churn/" + number);

    assertThat(r.exit()).as(r.err()).isEqualTo(3);
    assertThat(r.out())
        .contains("verdict: INPUTS_UNVERIFIABLE")
        .contains("run " + imageless + " has no tag timemachine.image; record it with timemachine_mlflow.record_triplet(..., image=...)");
    assertThat(mlflow.versionTags("churn", number)).containsEntry("timemachine.verdict", "INPUTS_UNVERIFIABLE");
  }

  @Test
  @Order(5)
  void an_unknown_alias_exits_2_listing_the_aliases_there_are() throws Exception {
    Result r = cli("replay", "mlflow:churn@no-such-alias");

    assertThat(r.err()).contains("error: registered model 'churn' in MLflow at " + mlflow.uri() + " has no alias 'no-such-alias' (its aliases: ");
    assertThat(r.err()).contains("champion -> ");
    assertThat(r.err()).contains("hint: set it with MlflowClient().set_registered_model_alias('churn', 'no-such-alias', VERSION)");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).doesNotContain("\tat ");
  }

  @Test
  @Order(6)
  void an_unknown_model_exits_2() throws Exception {
    assertOneLineError(
        cli("replay", "mlflow:no-such-model@champion"),
        "there is no registered model 'no-such-model' in MLflow at " + mlflow.uri());
  }

  @Test
  @Order(7)
  void mlflow_down_exits_2_saying_where_it_was_looked_for() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    String down = "http://127.0.0.1:" + port;
    Map<String, String> env = new HashMap<>();
    env.put("MLFLOW_TRACKING_URI", down);

    assertOneLineError(
        cli(env, "replay", "mlflow:churn@champion"), "MLflow not reachable at " + down + ": start it or set MLFLOW_TRACKING_URI");
    assertOneLineError(
        cli(env, "models", "list", "--registry", "mlflow"),
        "MLflow not reachable at " + down + ": start it or set MLFLOW_TRACKING_URI");
  }

  @Test
  @Order(8)
  void without_mlflow_tracking_uri_an_mlflow_spec_exits_2_and_other_registries_do_not_care() throws Exception {
    Map<String, String> env = new HashMap<>();
    env.put("MLFLOW_TRACKING_URI", null);

    assertOneLineError(cli(env, "replay", "mlflow:churn@champion"), "MLFLOW_TRACKING_URI is not set: point it at your MLflow server");
    Result demo = cli(env, "demo", "--registry", "mlflow");
    assertOneLineError(demo, "MLFLOW_TRACKING_URI is not set: point it at your MLflow server");
    assertThat(demo.err()).as("said before any training").doesNotContain("[1/5]");
    Result list = cli(env, "models", "list");
    assertThat(list.exit()).as(list.err()).isZero();
  }
}
