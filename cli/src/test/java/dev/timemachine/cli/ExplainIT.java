package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.core.json.Json;
import dev.timemachine.samples.Services;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 on the real Docker engine, through the packaged CLI: the unseeded churn sample (its split and
 * forest draw their seeds from the OS) is recorded, replayed with {@code --explain}, and must come back
 * {@code DIVERGED} with {@code NONDETERMINISTIC_TRAINING}, the agreement of both models' predictions on the
 * probe set (computed in the recorded image), and per-attribute differences of the fitted forest; then
 * {@code explain} prints the account and {@code calibrate} proposes tolerances.
 */
class ExplainIT {
  private static final Path JAR = Path.of("target/timemachine.jar").toAbsolutePath();
  @TempDir Path home;

  private record Run(int exit, String out, String err) {}

  private Run cli(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("java", "-jar", JAR.toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().remove("TEMPORAL_ADDRESS");
    pb.environment().put("TIMEMACHINE_HOME", home.toString());
    pb.environment().put("TIMEMACHINE_METRICS_PORT", "0");
    Path out = home.resolve("out-" + System.nanoTime());
    Path err = home.resolve("err-" + System.nanoTime());
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("%s finished", String.join(" ", args)).isTrue();
    return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
  }

  private JsonNode demo(String sample, int exit) throws Exception {
    Services.requireAll();
    Run demo = cli("demo", "--sample", sample);
    assertThat(demo.exit()).as("demo %s exit: %s", sample, demo.err()).isEqualTo(exit);
    Matcher id = Pattern.compile("timemachine verify (\\S+)").matcher(demo.out());
    assertThat(id.find()).as("replay id in %s", demo.out()).isTrue();
    return Json.mapper().readTree(home.resolve("store/reports/" + id.group(1) + ".json").toFile());
  }

  private static List<String> causes(JsonNode report) {
    List<String> causes = new ArrayList<>();
    report.path("explanation").path("causes").forEach(c -> causes.add(c.path("code").asText()));
    return causes;
  }

  @Test
  void a_sample_whose_only_difference_is_a_timestamp_in_its_mlmodel_is_metadata_only_and_reproduced_functionally()
      throws Exception {
    JsonNode report = demo("churn-metadata", 0);
    assertThat(report.path("verdict").asText()).isEqualTo("REPRODUCED_FUNCTIONALLY");
    assertThat(causes(report)).containsExactly("METADATA_ONLY");
    JsonNode mlmodel = report.path("explanation").path("artifacts").get(0);
    assertThat(mlmodel.path("path").asText()).isEqualTo("MLmodel");
    assertThat(mlmodel.path("metadataOnly").asBoolean()).isTrue();
    List<String> keys = new ArrayList<>();
    mlmodel.path("changedKeys").forEach(k -> keys.add(k.asText()));
    assertThat(keys).containsExactly("model_uuid", "utc_time_created");
  }

  @Test
  void numpy_weights_are_diffed_tensor_by_tensor_with_the_first_diverging_layer() throws Exception {
    JsonNode report = demo("churn-numpy", 1);
    assertThat(report.path("verdict").asText()).isEqualTo("DIVERGED");
    assertThat(causes(report)).contains("WEIGHTS_DRIFT_NUMERIC", "NONDETERMINISTIC_TRAINING");
    JsonNode weights = null;
    for (JsonNode a : report.path("explanation").path("artifacts")) {
      if (a.path("path").asText().equals("weights.npz")) {
        weights = a;
      }
    }
    assertThat(weights).as("a diff of weights.npz").isNotNull();
    assertThat(weights.path("kind").asText()).isEqualTo("tensors");
    assertThat(weights.path("firstDiverging").asText()).isEqualTo("layer1.weight");
    assertThat(weights.path("attributes").get(0).path("relL2").asDouble()).isPositive();
    assertThat(report.path("explanation").path("functional").path("problem").asText()).contains("weights only");
  }

  @Test
  void the_unseeded_sample_is_diverged_explained_as_nondeterministic_with_its_predictions_compared() throws Exception {
    Services.requireAll();
    Run demo = cli("demo", "--sample", "churn-unseeded");
    assertThat(demo.exit()).as("demo exit (DIVERGED): %s", demo.err()).isEqualTo(1);
    Matcher id = Pattern.compile("timemachine verify (\\S+)").matcher(demo.out());
    assertThat(id.find()).as("replay id in %s", demo.out()).isTrue();
    Path report = home.resolve("store/reports/" + id.group(1) + ".json");
    JsonNode json = Json.mapper().readTree(report.toFile());
    assertThat(json.path("schema").asText()).isEqualTo("timemachine.replay-report/v3");
    assertThat(json.path("verdict").asText()).isEqualTo("DIVERGED");
    List<String> causes = new ArrayList<>();
    json.path("explanation").path("causes").forEach(c -> causes.add(c.path("code").asText()));
    assertThat(causes).contains("NONDETERMINISTIC_TRAINING", "PREDICTIONS_CHANGED");
    // An unseeded forest's trees come back with other thresholds (numeric drift where a tree kept its node
    // count) or other shapes (structure): which of the two a run shows is up to the draw, not to the code.
    assertThat(causes).containsAnyOf("WEIGHTS_DRIFT_NUMERIC", "STRUCTURE_CHANGED");
    JsonNode functional = json.path("explanation").path("functional");
    assertThat(functional.path("task").asText()).isEqualTo("classifier");
    assertThat(functional.path("by").asText()).isEqualTo("built-in loader");
    assertThat(functional.path("rows").asInt()).as("probe rows").isGreaterThan(100);
    assertThat(functional.path("labelAgreement").asDouble()).as("label agreement").isBetween(0.5, 0.9999);
    JsonNode model = null;
    for (JsonNode a : json.path("explanation").path("artifacts")) {
      if (a.path("path").asText().equals("model.pkl")) {
        model = a;
      }
    }
    assertThat(model).as("a diff of model.pkl").isNotNull();
    assertThat(model.path("kind").asText()).isEqualTo("sklearn");
    assertThat(model.path("attributes").size()).as("fitted attributes that differ").isGreaterThan(0);
    assertThat(model.path("firstDiverging").asText()).startsWith("estimators_[");
    assertThat(json.path("explanation").path("probes").size()).as("probes: none and three variations").isEqualTo(4);

    Run explain = cli("explain", id.group(1));
    assertThat(explain.exit()).as("explain: %s", explain.err()).isZero();
    assertThat(explain.out()).contains("NONDETERMINISTIC_TRAINING").contains("behaviour on the probe set customers.csv")
        .contains("model.pkl [sklearn]").contains("--- recorded/metrics.json");

    // The same run with the user's own probe entry point instead of the built-in loader.
    JsonNode manifest = Json.mapper().readTree(home.resolve("store/models/churn-unseeded/1.json").toFile());
    JsonNode triplet = manifest.path("triplet");
    Path original;
    try (var dirs = Files.list(home.resolve("demo"))) {
      original = dirs.findFirst().orElseThrow().resolve("original-output");
    }
    Run register = cli("register", "--model", "churn-unseeded@2", "--repo", triplet.path("code").path("repositoryUrl").asText(),
        "--commit", triplet.path("code").path("commit").asText(), "--entry-point", "python3 train.py",
        "--image", triplet.path("environment").path("image").asText(), "--data", triplet.path("data").path("snapshotUri").asText(),
        "--output", original.toString(), "--probe-set", "customers.csv", "--probe-entry-point", "python3 probe.py");
    assertThat(register.exit()).as("register with a probe entry point: %s", register.err()).isZero();
    Run replay = cli("replay", "churn-unseeded@2", "--no-write-back", "--json");
    assertThat(replay.exit()).as("replay: %s", replay.err()).isEqualTo(1);
    JsonNode byUser = Json.mapper().readTree(replay.out()).path("explanation").path("functional");
    assertThat(byUser.path("problem").isMissingNode()).as("no problem: %s", byUser).isTrue();
    assertThat(byUser.path("by").asText()).isEqualTo("probe entry point python3 probe.py");
    assertThat(byUser.path("task").asText()).isEqualTo("classifier");
    assertThat(byUser.path("rows").asInt()).isEqualTo(functional.path("rows").asInt());
    assertThat(byUser.path("labelAgreement").asDouble()).isBetween(0.5, 0.9999);

    Run calibrate = cli("calibrate", "churn-unseeded@1", "--runs", "3");
    assertThat(calibrate.exit()).as("calibrate: %s", calibrate.err()).isZero();
    assertThat(calibrate.out()).contains("3 of 3 trainings gave metrics").containsPattern("--tolerance accuracy=abs:[0-9.]+");
  }
}
