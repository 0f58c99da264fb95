package dev.timemachine.registries.mlflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.timemachine.core.contract.ContractCheck;
import dev.timemachine.core.contract.FileSchema;
import dev.timemachine.core.contract.MlflowSignature;
import dev.timemachine.core.data.SchemaInference;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.data.Digests;
import dev.timemachine.core.model.EnvironmentRef;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.grading.MetricComparison;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.Tolerance;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.core.grading.Verdict;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MLflow adapter against a real MLflow server (scripts/mlflow.sh up): runs are logged, registered
 * and aliased by registries/src/main/python/record_run.py with the venv's MLflow, exactly as a team would, and
 * read back and written to through the REST API. Fails, never skips, when the server is absent.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class MlflowRegistryIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  /** A real repository on this machine: the recording helper checks that the commit is reachable. */
  private String repo;
  private String commit;
  private static final String IMAGE = "127.0.0.1:5000/timemachine/churn-env@sha256:" + "4e".repeat(32);
  private static final String SNAPSHOT = "s3://timemachine/snapshots/churn-it";
  private static final String ROOT = "sha256:" + "7d".repeat(32);

  private final String uri = System.getenv().getOrDefault("TIMEMACHINE_IT_MLFLOW_URI", "http://127.0.0.1:5050");
  private final String model = "tm-it-" + UUID.randomUUID().toString().substring(0, 8);
  private final HttpClient client = HttpClient.newHttpClient();
  private MlflowRegistry registry;
  private Path outputs;
  private List<FileEntry> expectedArtifacts;
  private String completeRunId;
  private String incompleteRunId;
  private Path temp;

  @BeforeAll
  void record_two_versions_with_the_python_helper(@TempDir Path dir) throws Exception {
    requireServer();
    registry = new MlflowRegistry(MlflowSettings.of(uri));
    temp = dir;
    Path source = Files.createDirectories(dir.resolve("churn-repo"));
    git(source, "init", "-q");
    git(source, "-c", "user.email=it@timemachine.invalid", "-c", "user.name=it", "commit", "-q", "--allow-empty", "-m", "init");
    commit = git(source, "rev-parse", "HEAD").strip();
    repo = source.toUri().toString();

    outputs = Files.createDirectories(dir.resolve("out"));
    byte[] model = new byte[4096];
    new Random(42).nextBytes(model);
    Files.write(outputs.resolve("model.pkl"), model);
    Files.writeString(outputs.resolve("metrics.json"), "{\"accuracy\": 0.912, \"f1\": 0.75, \"roc_auc\": 0.5}\n");
    Files.createDirectories(outputs.resolve("reports"));
    Files.writeString(outputs.resolve("reports/confusion.txt"), "tp=10 fp=2\n");
    expectedArtifacts = new ArrayList<>();
    for (String path : List.of("metrics.json", "model.pkl", "reports/confusion.txt")) {
      byte[] bytes = Files.readAllBytes(outputs.resolve(path));
      expectedArtifacts.add(new FileEntry(path, bytes.length, Digests.sha256Hex(bytes)));
    }

    JsonNode first = recordRun("--alias", "champion", "--tolerance", "f1=abs:0.01,rel:0.001");
    assertThat(first.path("version").asText()).as("first version of a fresh model").isEqualTo("1");
    completeRunId = first.path("run_id").asText();

    JsonNode second = recordRun();
    assertThat(second.path("version").asText()).isEqualTo("2");
    incompleteRunId = second.path("run_id").asText();
    // A run recorded without the image: as if logged before the team adopted the conventions.
    post("runs/delete-tag", Map.of("run_id", incompleteRunId, "key", "timemachine.image"));
  }

  @Test
  void an_alias_resolves_to_the_exact_triplet_hashes_and_metrics() {
    ModelVersion version = registry.resolve(model + "@champion");

    assertThat(version.model()).isEqualTo(new ModelRef(model, "1"));
    assertThat(version.triplet())
        .isEqualTo(
            new Triplet(
                new CodeRef(repo, commit, List.of("python3", "train.py"), "samples/churn"),
                new EnvironmentRef(ImageRef.parse(IMAGE)),
                new DataRef(SNAPSHOT, ROOT, 3, 48213, List.of())));
    assertThat(version.recorded().artifacts()).as("outputs hashed from the artifact store").isEqualTo(expectedArtifacts);
    assertThat(version.recorded().metricsFile()).isEqualTo("metrics.json");
    assertThat(version.recorded().metrics()).isEqualTo(Map.of("accuracy", 0.912, "f1", 0.75, "roc_auc", 0.5));
    assertThat(version.recorded().tolerances()).isEqualTo(Map.of("f1", new Tolerance(0.01, 0.001)));
    assertThat(version.registeredAt()).isCloseTo(Instant.now(), within(10, ChronoUnit.MINUTES));
  }

  @Test
  void a_version_number_resolves_to_the_same_model_version() {
    assertThat(registry.resolve(model + "/1")).isEqualTo(registry.resolve(model + "@champion"));
  }

  @Test
  void a_version_whose_run_lacks_the_image_tag_is_unverifiable_naming_the_tag() {
    TimemachineException e = catchThrowableOfType(TimemachineException.class, () -> registry.resolve(model + "/2"));
    assertThat(e).isInstanceOf(InputUnverifiableException.class);
    assertThat(((InputUnverifiableException) e).input()).isEqualTo(InputKind.ENVIRONMENT);
    assertThat(e.getMessage())
        .isEqualTo(
            "model version " + model + "/2: run " + incompleteRunId + " has no tag timemachine.image; record it with"
                + " timemachine_mlflow.record_triplet(..., image=...)");
  }

  @Test
  void unknown_aliases_models_and_versions_are_not_found() {
    TimemachineException alias = catchThrowableOfType(TimemachineException.class, () -> registry.resolve(model + "@nope"));
    assertThat(alias.type()).isEqualTo(ErrorType.NOT_FOUND);
    assertThat(alias.getMessage()).contains("has no alias 'nope' (its aliases: champion -> 1)");

    TimemachineException version = catchThrowableOfType(TimemachineException.class, () -> registry.resolve(model + "/9"));
    assertThat(version.type()).isEqualTo(ErrorType.NOT_FOUND);
    assertThat(version.getMessage()).contains("has no version 9");

    TimemachineException missing = catchThrowableOfType(TimemachineException.class, () -> registry.resolve(model + "-missing@champion"));
    assertThat(missing.type()).isEqualTo(ErrorType.NOT_FOUND);
    assertThat(missing.getMessage()).isEqualTo("there is no registered model '" + model + "-missing' in MLflow at " + uri);
  }

  @Test
  void a_verdict_is_written_back_as_version_tags_and_a_replay_run_with_the_report() throws Exception {
    String replayId = "it-" + UUID.randomUUID();
    Instant finished = Instant.parse("2026-11-24T10:15:30.250Z");
    ReplayReport report =
        new ReplayReport(
            ReplayReport.SCHEMA, replayId, "mlflow:" + model + "@champion", new ModelRef(model, "1"),
            Verdict.REPRODUCED_BITWISE, "all 3 artifacts are byte-for-byte identical", null,
            new ReplayReport.Inputs(ReplayReport.VERIFIED, ReplayReport.VERIFIED, ReplayReport.VERIFIED), Map.of(), List.of(),
            List.of(
                new MetricComparison("accuracy", 0.912, 0.912, 0.0, 0.0, "exact", true),
                new MetricComparison("f1", 0.75, 0.7501, 0.0001, 0.00013, "abs:0.01,rel:0.001", true)),
            0L, List.of(), null, null, null, finished.minusSeconds(60), finished, Map.of("total", 60000L));
    String reportUri = "s3://timemachine/reports/" + replayId + ".json";

    registry.recordVerdict(model + "@champion", report, reportUri);
    registry.recordVerdict(model + "@champion", report, reportUri); // a retried activity

    Map<String, String> versionTags =
        tags(get("model-versions/get", "name", model, "version", "1").path("model_version").path("tags"));
    assertThat(versionTags)
        .containsEntry("timemachine.verdict", "REPRODUCED_BITWISE")
        .containsEntry("timemachine.report", reportUri)
        .containsEntry("timemachine.replayed_at", "2026-11-24T10:15:30.250Z")
        .containsEntry("timemachine.replay_id", replayId);

    String experimentId =
        get("experiments/get-by-name", "experiment_name", "timemachine-replays").path("experiment").path("experiment_id").asText();
    JsonNode runs =
        post(
                "runs/search",
                Map.of("experiment_ids", List.of(experimentId), "filter", "tags.`timemachine.replay_id` = '" + replayId + "'"))
            .path("runs");
    assertThat(runs).as("one replay run, even when the write-back is retried").hasSize(1);
    JsonNode run = runs.get(0);
    assertThat(versionTags).containsEntry("timemachine.replay_run_id", run.path("info").path("run_id").asText());
    assertThat(run.path("info").path("status").asText()).isEqualTo("FINISHED");
    assertThat(run.path("info").path("run_name").asText()).isEqualTo(replayId);
    assertThat(run.path("info").path("end_time").asLong()).isEqualTo(finished.toEpochMilli());
    assertThat(tags(run.path("data").path("tags")))
        .containsEntry("timemachine.model", model)
        .containsEntry("timemachine.version", "1")
        .containsEntry("timemachine.verdict", "REPRODUCED_BITWISE")
        .containsEntry("timemachine.source_run_id", completeRunId);
    Map<String, Double> metrics = new HashMap<>();
    run.path("data").path("metrics").forEach(m -> metrics.put(m.path("key").asText(), m.path("value").asDouble()));
    assertThat(metrics).isEqualTo(Map.of("accuracy", 0.912, "f1", 0.7501));

    String root = MlflowResolver.proxiedRoot(run.path("info").path("artifact_uri").asText());
    HttpResponse<byte[]> artifact =
        client.send(
            HttpRequest.newBuilder(URI.create(uri + "/api/2.0/mlflow-artifacts/artifacts/" + root + "/report.json")).build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertThat(artifact.statusCode()).isEqualTo(200);
    assertThat(artifact.body()).as("report.json artifact").isEqualTo(Json.toBytes(report));
  }

  @Test
  void an_unverifiable_version_still_gets_its_verdict_although_the_report_names_no_model() throws Exception {
    String reason = catchThrowableOfType(TimemachineException.class, () -> registry.resolve(model + "/2")).getMessage();
    ReplayReport report =
        new ReplayReport(
            ReplayReport.SCHEMA, "it-" + UUID.randomUUID(), "mlflow:" + model + "/2", null, Verdict.INPUTS_UNVERIFIABLE,
            reason, null, null, Map.of(), List.of(), List.of(), null, List.of(), null, null, null,
            Instant.parse("2026-11-24T11:00:00Z"), Instant.parse("2026-11-24T11:00:01Z"), Map.of());

    registry.recordVerdict(model + "/2", report, "s3://timemachine/reports/unverifiable.json");

    Map<String, String> versionTags =
        tags(get("model-versions/get", "name", model, "version", "2").path("model_version").path("tags"));
    assertThat(versionTags)
        .containsEntry("timemachine.verdict", "INPUTS_UNVERIFIABLE")
        .containsEntry("timemachine.verdict_reason", reason)
        .containsEntry("timemachine.replayed_at", "2026-11-24T11:00:01Z");
  }

  @Test
  void list_returns_the_versions_that_resolve_and_skips_the_incomplete_one() {
    List<ModelRef> ours =
        registry.list().stream().map(ModelVersion::model).filter(m -> m.name().equals(model)).toList();
    assertThat(ours).containsExactly(new ModelRef(model, "1"));
  }

  @Test
  void versions_shows_the_alias_of_the_complete_version_and_what_the_incomplete_one_lacks() {
    List<MlflowRegistry.VersionSummary> ours =
        registry.versions().stream().filter(v -> v.name().equals(model)).toList();
    assertThat(ours).extracting(MlflowRegistry.VersionSummary::version).containsExactly("1", "2");
    assertThat(ours.get(0).aliases()).containsExactly("champion");
    assertThat(ours.get(0).replayable()).isTrue();
    assertThat(ours.get(0).triplet().code().commit()).isEqualTo(commit);
    assertThat(ours.get(1).replayable()).isFalse();
    assertThat(ours.get(1).problem()).contains("has no tag timemachine.image");
  }

  private void requireServer() {
    try {
      HttpResponse<String> health =
          client.send(
              HttpRequest.newBuilder(URI.create(uri + "/health")).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.ofString());
      if (health.statusCode() == 200) {
        return;
      }
    } catch (IOException e) {
      // reported below
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    throw new AssertionError("MLflow not reachable at " + uri + ": start it with scripts/mlflow.sh up");
  }

  /**
   * A version whose training saved an MLflow model with a signature (real MLflow: infer_signature and
   * mlflow.sklearn.save_model in the venv) and whose run logged its data file as a dataset input
   * (record_run.py --dataset, mlflow.data.from_pandas): both become its contract, and data that lacks a
   * column the signature needs breaks it, naming the column.
   */
  @Test
  void a_versions_signature_and_dataset_input_become_its_contract_and_a_missing_signature_column_breaks_it() throws Exception {
    Path data = Files.createDirectories(temp.resolve("signed-data"));
    StringBuilder csv = new StringBuilder("tenure_months,monthly_charges,support_calls,churned\n");
    for (int i = 0; i < 40; i++) {
      csv.append(i).append(',').append(20 + i * 0.5).append(',').append(i % 4).append(',').append(i % 4 == 3 ? 1 : 0).append('\n');
    }
    Files.writeString(data.resolve("customers.csv"), csv);
    Path signedOutputs = Files.createDirectories(temp.resolve("signed-out"));
    Files.writeString(signedOutputs.resolve("metrics.json"), "{\"accuracy\": 0.9}\n");
    python("import sys, mlflow, pandas as pd\n"
        + "from sklearn.linear_model import LogisticRegression\n"
        + "frame = pd.read_csv(sys.argv[1])\n"
        + "x = frame[['tenure_months', 'monthly_charges', 'support_calls']]\n"
        + "model = LogisticRegression().fit(x, frame['churned'])\n"
        + "signature = mlflow.models.infer_signature(x, model.predict(x))\n"
        + "mlflow.sklearn.save_model(model, sys.argv[2], signature=signature, serialization_format='pickle')\n",
        data.resolve("customers.csv").toString(), signedOutputs.resolve("model").toString());

    JsonNode recorded = recordRun(signedOutputs, "--dataset", "customers.csv=" + data.resolve("customers.csv"));
    ModelVersion version = registry.resolve(model + "/" + recorded.path("version").asText());

    assertThat(version.contract()).as("contract of %s", version.model()).isNotNull();
    assertThat(version.contract().files()).containsExactly(new FileSchema("customers.csv", "csv", List.of(
        new FileSchema.Column("tenure_months", "int"), new FileSchema.Column("monthly_charges", "float"),
        new FileSchema.Column("support_calls", "int"), new FileSchema.Column("churned", "int"))));
    assertThat(MlflowSignature.inputs(version.contract().mlflowSignature())).extracting(MlflowSignature.Input::name)
        .containsExactly("tenure_months", "monthly_charges", "support_calls");
    assertThat(ContractCheck.of(version.contract(), SchemaInference.inferPaths(data, List.of("customers.csv"))).satisfied())
        .as("the data it was trained on").isTrue();

    Path next = Files.createDirectories(temp.resolve("next-quarter"));
    Files.writeString(next.resolve("customers.csv"), csv.toString().replace(",support_calls,", ",calls,"));
    ContractCheck check = ContractCheck.of(version.contract(), SchemaInference.inferPaths(next, List.of("customers.csv")));

    assertThat(check.satisfied()).isFalse();
    assertThat(check.summary())
        .isEqualTo("customers.csv: column 'support_calls' missing; MLflow signature: column 'support_calls' missing");
  }

  /** Runs a Python program with the MLflow venv's python. */
  private void python(String program, String... args) throws Exception {
    Path script = temp.resolve("script-" + UUID.randomUUID() + ".py");
    Files.writeString(script, program);
    List<String> command = new ArrayList<>(List.of(venvPython().toString(), script.toString()));
    command.addAll(List.of(args));
    Path log = temp.resolve("script-" + UUID.randomUUID() + ".log");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("MLFLOW_DISABLE_TELEMETRY", "true");
    Process process = builder.start();
    if (!process.waitFor(180, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("python did not finish in 180 s: " + Files.readString(log));
    }
    assertThat(process.exitValue()).as("python exit code; output:\n%s", Files.readString(log)).isZero();
  }

  /** Runs registries/src/main/python/record_run.py with the venv python that scripts/mlflow.sh installed. */
  private JsonNode recordRun(String... extra) throws Exception {
    return recordRun(outputs, extra);
  }

  private JsonNode recordRun(Path outputs, String... extra) throws Exception {
    Path root = repositoryRoot();
    List<String> command =
        new ArrayList<>(
            List.of(
                venvPython().toString(), root.resolve("registries/src/main/python/record_run.py").toString(),
                "--output-dir", outputs.toString(),
                "--model", model,
                "--experiment", "timemachine-it",
                "--image", IMAGE,
                "--snapshot-uri", SNAPSHOT,
                "--root-digest", ROOT,
                "--file-count", "3",
                "--total-bytes", "48213",
                "--entry-point", "[\"python3\", \"train.py\"]",
                "--working-dir", "samples/churn",
                "--repo-url", repo,
                "--commit", commit));
    command.addAll(List.of(extra));
    Path stderr = temp.resolve("record_run-" + UUID.randomUUID() + ".log");
    ProcessBuilder builder = new ProcessBuilder(command).directory(temp.toFile()).redirectError(stderr.toFile());
    builder.environment().put("MLFLOW_TRACKING_URI", uri);
    builder.environment().put("MLFLOW_DISABLE_TELEMETRY", "true");
    Process process = builder.start();
    byte[] stdout = process.getInputStream().readAllBytes();
    if (!process.waitFor(180, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("record_run.py did not finish in 180 s: " + Files.readString(stderr));
    }
    String out = new String(stdout, StandardCharsets.UTF_8).strip();
    assertThat(process.exitValue()).as("record_run.py exit code; stderr:\n%s", Files.readString(stderr)).isZero();
    return MAPPER.readTree(out.lines().reduce((a, b) -> b).orElse(""));
  }

  static Path venvPython() {
    String explicit = System.getenv("TIMEMACHINE_MLFLOW_PYTHON");
    Path python;
    if (explicit != null && !explicit.isBlank()) {
      python = Path.of(explicit);
    } else {
      String cache = System.getenv("TIMEMACHINE_CACHE_DIR");
      Path cacheDir = cache != null && !cache.isBlank() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache", "timemachine");
      python = cacheDir.resolve("mlflow-venv/bin/python");
    }
    if (!Files.isExecutable(python)) {
      throw new AssertionError("no MLflow venv python at " + python + ": run scripts/mlflow.sh up (or set TIMEMACHINE_MLFLOW_PYTHON)");
    }
    return python;
  }

  static Path repositoryRoot() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.exists(dir.resolve("registries/src/main/python/record_run.py"))) {
        return dir;
      }
    }
    throw new AssertionError("registries/src/main/python/record_run.py not found above " + Path.of("").toAbsolutePath());
  }

  private JsonNode get(String endpoint, String... query) throws Exception {
    StringBuilder url = new StringBuilder(uri + "/api/2.0/mlflow/" + endpoint + "?");
    for (int i = 0; i < query.length; i += 2) {
      url.append(i == 0 ? "" : "&").append(query[i]).append('=').append(URLEncoder.encode(query[i + 1], StandardCharsets.UTF_8));
    }
    HttpResponse<byte[]> response =
        client.send(HttpRequest.newBuilder(URI.create(url.toString())).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(response.statusCode()).as("GET %s: %s", endpoint, new String(response.body(), StandardCharsets.UTF_8)).isEqualTo(200);
    return MAPPER.readTree(response.body());
  }

  private JsonNode post(String endpoint, Object body) throws Exception {
    HttpResponse<byte[]> response =
        client.send(
            HttpRequest.newBuilder(URI.create(uri + "/api/2.0/mlflow/" + endpoint))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(MAPPER.writeValueAsBytes(body)))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertThat(response.statusCode()).as("POST %s: %s", endpoint, new String(response.body(), StandardCharsets.UTF_8)).isEqualTo(200);
    return MAPPER.readTree(response.body());
  }

  private static Map<String, String> tags(JsonNode list) {
    Map<String, String> tags = new HashMap<>();
    list.forEach(t -> tags.put(t.path("key").asText(), t.path("value").asText()));
    return tags;
  }

  private static org.assertj.core.data.TemporalUnitOffset within(long amount, ChronoUnit unit) {
    return new org.assertj.core.data.TemporalUnitWithinOffset(amount, unit);
  }

  private static String git(Path dir, String... args) throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>(List.of("git", "-C", dir.toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(process.waitFor()).as("git %s: %s", String.join(" ", args), output).isZero();
    return output;
  }
}
