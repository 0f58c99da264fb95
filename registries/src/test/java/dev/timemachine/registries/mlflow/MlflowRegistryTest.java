package dev.timemachine.registries.mlflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.data.Digests;
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
import dev.timemachine.core.grading.Verdict;
import dev.timemachine.registries.mlflow.FakeMlflow.Response;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class MlflowRegistryTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String RUN = "r1";
  private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
  private static final String IMAGE = "127.0.0.1:5000/timemachine/churn-env@sha256:" + "a".repeat(64);
  private static final String ROOT = "sha256:" + "b".repeat(64);
  private static final byte[] MODEL = "pickled model bytes".getBytes(StandardCharsets.UTF_8);
  private static final byte[] METRICS = "{\"accuracy\": 0.9, \"f1\": 0.75, \"note\": \"text\"}\n".getBytes(StandardCharsets.UTF_8);
  private static final byte[] NOTES = "nested\n".getBytes(StandardCharsets.UTF_8);

  private FakeMlflow mlflow;
  private MlflowRegistry registry;
  private final Map<String, String> tags = new LinkedHashMap<>();
  private final List<Map<String, Object>> datasets = new ArrayList<>();

  @BeforeEach
  void start() throws IOException {
    mlflow = new FakeMlflow();
    registry = registry(MlflowSettings.of(mlflow.uri().toString()));
    tags.put("mlflow.source.git.repoURL", "https://git.example/churn.git");
    tags.put("mlflow.source.git.commit", COMMIT);
    tags.put("mlflow.source.git.branch", "main");
    tags.put("timemachine.entry_point", "[\"python3\", \"train.py\"]");
    tags.put("timemachine.working_dir", "samples/churn");
    tags.put("timemachine.image", IMAGE);
    tags.put("timemachine.data.snapshot_uri", "s3://timemachine/snapshots/churn");
    tags.put("timemachine.data.root_digest", ROOT);
    tags.put("timemachine.data.file_count", "2");
    tags.put("timemachine.data.total_bytes", "1234");
    tags.put("timemachine.outputs_dir", "timemachine/outputs");
    tags.put("timemachine.metrics_file", "metrics.json");
    tags.put("timemachine.tolerance.f1", "abs:0.01,rel:0.001");
    scriptVersion();
  }

  @AfterEach
  void stop() {
    mlflow.close();
  }

  private MlflowRegistry registry(MlflowSettings settings) {
    return new MlflowRegistry(
        new MlflowHttp(settings, MlflowHttp.defaultClient(), Duration.ZERO),
        Clock.fixed(Instant.parse("2026-11-24T00:00:00Z"), ZoneOffset.UTC));
  }

  private static String json(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Map<String, Object> modelVersion(String version) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("name", "churn");
    v.put("version", version);
    v.put("creation_timestamp", 1795499149804L);
    v.put("source", "mlflow-artifacts:/1/r1/artifacts/timemachine/outputs");
    v.put("run_id", RUN);
    v.put("status", "READY");
    v.put("aliases", List.of("champion"));
    return v;
  }

  private static Map<String, Object> file(String path, boolean dir, long size) {
    Map<String, Object> f = new LinkedHashMap<>();
    f.put("path", path);
    f.put("is_dir", dir);
    if (!dir) {
      f.put("file_size", size);
    }
    return f;
  }

  /** A complete version churn/3 aliased champion, whose run r1 logged three outputs. */
  private void scriptVersion() {
    mlflow.on("GET", "/api/2.0/mlflow/registered-models/alias", r -> Response.json(200, json(Map.of("model_version", modelVersion("3")))));
    mlflow.on("GET", "/api/2.0/mlflow/model-versions/get", r -> Response.json(200, json(Map.of("model_version", modelVersion(r.query().get("version"))))));
    mlflow.on("GET", "/api/2.0/mlflow/runs/get", r -> Response.json(200, json(Map.of("run", run()))));
    mlflow.on(
        "GET",
        "/api/2.0/mlflow/artifacts/list",
        r -> {
          String path = r.query().get("path");
          List<Map<String, Object>> files =
              switch (path) {
                case "timemachine/outputs" -> List.of(
                    file("timemachine/outputs/metrics.json", false, METRICS.length),
                    file("timemachine/outputs/model.pkl", false, MODEL.length),
                    file("timemachine/outputs/sub", true, 0));
                case "timemachine/outputs/sub" -> List.of(file("timemachine/outputs/sub/notes.txt", false, NOTES.length));
                default -> List.of();
              };
          return Response.json(200, json(Map.of("root_uri", "mlflow-artifacts:/1/r1/artifacts", "files", files)));
        });
    String base = "/api/2.0/mlflow-artifacts/artifacts/1/r1/artifacts/timemachine/outputs/";
    mlflow.on("GET", base + "metrics.json", r -> Response.bytes(METRICS));
    mlflow.on("GET", base + "model.pkl", r -> Response.bytes(MODEL));
    mlflow.on("GET", base + "sub/notes.txt", r -> Response.bytes(NOTES));
  }

  private Map<String, Object> run() {
    List<Map<String, String>> tagList = new ArrayList<>();
    tags.forEach((k, v) -> tagList.add(Map.of("key", k, "value", v)));
    Map<String, Object> info = new LinkedHashMap<>();
    info.put("run_id", RUN);
    info.put("experiment_id", "1");
    info.put("status", "FINISHED");
    info.put("artifact_uri", "mlflow-artifacts:/1/r1/artifacts");
    List<Map<String, Object>> inputs = new ArrayList<>();
    for (Map<String, Object> dataset : datasets) {
      inputs.add(Map.of("tags", List.of(Map.of("key", "mlflow.data.context", "value", "training")), "dataset", dataset));
    }
    return Map.of(
        "info", info,
        "data", Map.of("tags", tagList, "metrics", List.of(Map.of("key", "f1", "value", 0.75, "timestamp", 1, "step", 0))),
        "inputs", Map.of("dataset_inputs", inputs));
  }

  private static Map<String, Object> dataset(String uri, String root, int files, long bytes) {
    return Map.of(
        "name", "churn",
        "digest", root.substring(7, 39),
        "source_type", "timemachine",
        "source", json(Map.of("uri", uri)),
        "profile", json(Map.of("root_digest", root, "file_count", files, "total_bytes", bytes)));
  }

  private static TimemachineException thrownBy(Runnable call) {
    TimemachineException e = catchThrowableOfType(TimemachineException.class, call::run);
    assertThat(e).as("a TimemachineException is thrown").isNotNull();
    assertThat(e.getMessage()).as("the message is one line").doesNotContain("\n");
    return e;
  }

  @Test
  void an_alias_resolves_to_the_full_model_version_with_hashed_outputs() {
    ModelVersion version = registry.resolve("churn@champion");

    assertThat(version.model()).isEqualTo(new ModelRef("churn", "3"));
    assertThat(version.registeredAt()).isEqualTo(Instant.ofEpochMilli(1795499149804L));
    assertThat(version.triplet().code())
        .isEqualTo(new CodeRef("https://git.example/churn.git", COMMIT, List.of("python3", "train.py"), "samples/churn"));
    assertThat(version.triplet().environment().image()).isEqualTo(ImageRef.parse(IMAGE));
    assertThat(version.triplet().data()).isEqualTo(new DataRef("s3://timemachine/snapshots/churn", ROOT, 2, 1234, List.of()));
    assertThat(version.recorded().artifacts())
        .containsExactly(
            new FileEntry("metrics.json", METRICS.length, Digests.sha256Hex(METRICS)),
            new FileEntry("model.pkl", MODEL.length, Digests.sha256Hex(MODEL)),
            new FileEntry("sub/notes.txt", NOTES.length, Digests.sha256Hex(NOTES)));
    assertThat(version.recorded().metricsFile()).isEqualTo("metrics.json");
    assertThat(version.recorded().metrics()).as("numbers from the metrics file only").containsExactlyInAnyOrderEntriesOf(Map.of("accuracy", 0.9, "f1", 0.75));
    assertThat(version.recorded().tolerances()).containsExactlyEntriesOf(Map.of("f1", new Tolerance(0.01, 0.001)));
    assertThat(mlflow.requests("GET", "/api/2.0/mlflow/registered-models/alias").get(0).query())
        .containsEntry("name", "churn")
        .containsEntry("alias", "champion");
  }

  @Test
  void resolving_reports_each_hashed_artifact_so_a_long_download_keeps_its_activity_alive() {
    List<String> progress = new java.util.ArrayList<>();

    registry.resolve("churn@champion", progress::add);

    assertThat(progress).as("one report per hashed artifact, counted")
        .filteredOn(m -> m.startsWith("hashed "))
        .extracting(m -> m.substring(0, m.indexOf(" artifacts")))
        .containsExactly("hashed 1/3", "hashed 2/3", "hashed 3/3");
    assertThat(progress.get(progress.size() - 1)).contains("of run ").endsWith(" MB");
  }

  @Test
  void a_version_number_resolves_through_model_versions_get() {
    ModelVersion version = registry.resolve("churn/3");
    assertThat(version.model()).isEqualTo(new ModelRef("churn", "3"));
    assertThat(mlflow.requests("GET", "/api/2.0/mlflow/model-versions/get")).hasSize(1);
    assertThat(mlflow.requests("GET", "/api/2.0/mlflow/registered-models/alias")).isEmpty();
  }

  @Test
  void a_run_without_the_image_tag_is_unverifiable_naming_the_tag_and_how_to_record_it() {
    tags.remove("timemachine.image");
    TimemachineException e = thrownBy(() -> registry.resolve("churn/3"));
    assertThat(e).isInstanceOf(InputUnverifiableException.class);
    assertThat(((InputUnverifiableException) e).input()).isEqualTo(InputKind.ENVIRONMENT);
    assertThat(e.getMessage())
        .isEqualTo(
            "model version churn/3: run r1 has no tag timemachine.image; record it with"
                + " timemachine_mlflow.record_triplet(..., image=...)");
  }

  @Test
  void an_image_named_by_tag_alone_is_a_malformed_environment() {
    tags.put("timemachine.image", "churn-env:latest");
    TimemachineException e = thrownBy(() -> registry.resolve("churn@champion"));
    assertThat(e.type()).isEqualTo(ErrorType.INPUT_UNVERIFIABLE);
    assertThat(((InputUnverifiableException) e).input()).isEqualTo(InputKind.ENVIRONMENT);
    assertThat(e.getMessage()).contains("malformed tag timemachine.image", "churn-env:latest", "image=...");
  }

  @Test
  void every_missing_or_malformed_piece_is_named_in_one_error_and_code_comes_first() {
    tags.put("mlflow.source.git.commit", "abc123");
    tags.remove("timemachine.entry_point");
    tags.remove("timemachine.data.root_digest");
    TimemachineException e = thrownBy(() -> registry.resolve("churn/3"));
    assertThat(((InputUnverifiableException) e).input()).isEqualTo(InputKind.CODE);
    assertThat(e.getMessage())
        .contains(
            "malformed tag mlflow.source.git.commit ('abc123' is not a full 40-hex commit SHA)",
            "has no tag timemachine.entry_point",
            "has no tag timemachine.data.root_digest",
            "record them with timemachine_mlflow.record_triplet(..., commit=..., entry_point=[...], root_digest=...)");
  }

  @Test
  void the_data_comes_from_the_snapshot_dataset_input_when_the_data_tags_are_absent() {
    tags.keySet().removeIf(k -> k.startsWith("timemachine.data."));
    datasets.add(dataset("s3://timemachine/snapshots/from-dataset", ROOT, 7, 99));
    ModelVersion version = registry.resolve("churn/3");
    assertThat(version.triplet().data()).isEqualTo(new DataRef("s3://timemachine/snapshots/from-dataset", ROOT, 7, 99, List.of()));
  }

  @Test
  void data_tags_that_disagree_with_the_dataset_input_are_unverifiable() {
    datasets.add(dataset("s3://timemachine/snapshots/churn", "sha256:" + "c".repeat(64), 2, 1234));
    TimemachineException e = thrownBy(() -> registry.resolve("churn/3"));
    assertThat(((InputUnverifiableException) e).input()).isEqualTo(InputKind.DATA);
    assertThat(e.getMessage()).contains("has tag timemachine.data.root_digest '" + ROOT + "' but its timemachine dataset input says");
  }

  @Test
  void a_run_that_logged_no_outputs_is_invalid_input_saying_how_to_record_them() {
    mlflow.json("GET", "/api/2.0/mlflow/artifacts/list", 200, "{\"root_uri\": \"mlflow-artifacts:/1/r1/artifacts\"}");
    TimemachineException e = thrownBy(() -> registry.resolve("churn/3"));
    assertThat(e.type()).isEqualTo(ErrorType.INVALID_INPUT);
    assertThat(e.getMessage())
        .startsWith("model version churn/3: run r1 logged no artifacts under timemachine/outputs/")
        .contains("timemachine_mlflow.record_triplet(output_dir, ...)");
  }

  @Test
  void a_tolerance_for_a_metric_the_file_does_not_report_is_invalid_input() {
    tags.put("timemachine.tolerance.auc", "abs:0.1");
    TimemachineException e = thrownBy(() -> registry.resolve("churn/3"));
    assertThat(e.type()).isEqualTo(ErrorType.INVALID_INPUT);
    assertThat(e.getMessage()).contains("timemachine.tolerance.auc", "does not report 'auc'");
  }

  @Test
  void an_unknown_alias_is_not_found_and_lists_the_aliases_there_are() {
    mlflow.json(
        "GET", "/api/2.0/mlflow/registered-models/alias", 400,
        "{\"error_code\": \"INVALID_PARAMETER_VALUE\", \"message\": \"Registered model alias champion not found.\"}");
    mlflow.json(
        "GET", "/api/2.0/mlflow/registered-models/get", 200,
        "{\"registered_model\": {\"name\": \"churn\", \"aliases\": [{\"alias\": \"staging\", \"version\": \"2\"}]}}");
    TimemachineException e = thrownBy(() -> registry.resolve("churn@champion"));
    assertThat(e.type()).isEqualTo(ErrorType.NOT_FOUND);
    assertThat(e.getMessage())
        .isEqualTo(
            "registered model 'churn' in MLflow at " + mlflow.uri() + " has no alias 'champion' (its aliases: staging -> 2)");
    assertThat(e.hint()).contains("set_registered_model_alias('churn', 'champion', VERSION)");
  }

  @Test
  void an_unknown_model_is_not_found() {
    String missing = "{\"error_code\": \"RESOURCE_DOES_NOT_EXIST\", \"message\": \"Registered Model with name=nope not found\"}";
    mlflow.json("GET", "/api/2.0/mlflow/registered-models/alias", 404, missing);
    mlflow.json("GET", "/api/2.0/mlflow/registered-models/get", 404, missing);
    TimemachineException e = thrownBy(() -> registry.resolve("nope@champion"));
    assertThat(e.type()).isEqualTo(ErrorType.NOT_FOUND);
    assertThat(e.getMessage()).isEqualTo("there is no registered model 'nope' in MLflow at " + mlflow.uri());
  }

  @Test
  void an_unknown_version_is_not_found() {
    mlflow.json(
        "GET", "/api/2.0/mlflow/model-versions/get", 404,
        "{\"error_code\": \"RESOURCE_DOES_NOT_EXIST\", \"message\": \"Model Version (name=churn, version=9) not found\"}");
    mlflow.json("GET", "/api/2.0/mlflow/registered-models/get", 200, "{\"registered_model\": {\"name\": \"churn\"}}");
    TimemachineException e = thrownBy(() -> registry.resolve("churn/9"));
    assertThat(e.type()).isEqualTo(ErrorType.NOT_FOUND);
    assertThat(e.getMessage()).isEqualTo("registered model 'churn' in MLflow at " + mlflow.uri() + " has no version 9");
  }

  @Test
  void a_deleted_run_makes_the_version_unverifiable() {
    mlflow.json("GET", "/api/2.0/mlflow/runs/get", 404, "{\"error_code\": \"RESOURCE_DOES_NOT_EXIST\", \"message\": \"Run with id=r1 not found\"}");
    TimemachineException e = thrownBy(() -> registry.resolve("churn/3"));
    assertThat(e.type()).isEqualTo(ErrorType.INPUT_UNVERIFIABLE);
    assertThat(e.getMessage()).contains("its run r1 no longer exists");
  }

  @Test
  void a_401_without_credentials_names_the_variables_to_set() {
    mlflow.always(401, "{\"error_code\": \"UNAUTHENTICATED\", \"message\": \"You are not authenticated.\"}");
    TimemachineException e = thrownBy(() -> registry.resolve("churn@champion"));
    assertThat(e.type()).isEqualTo(ErrorType.CONFIGURATION);
    assertThat(e.getMessage())
        .isEqualTo(
            "MLflow at " + mlflow.uri() + " requires authentication (401 on GET registered-models/alias): set"
                + " MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD");
  }

  @Test
  void a_401_with_basic_auth_says_the_user_name_and_password_were_rejected() {
    mlflow.always(401, "{}");
    MlflowRegistry withBasic = registry(MlflowSettings.of(mlflow.uri().toString()).withBasicAuth("alice", "s3cret"));
    TimemachineException e = thrownBy(() -> withBasic.resolve("churn/3"));
    assertThat(e.type()).isEqualTo(ErrorType.CONFIGURATION);
    assertThat(e.getMessage())
        .contains("rejected the user alice from MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD")
        .doesNotContain("s3cret");
    assertThat(mlflow.requests.get(0).authorization()).isEqualTo("Basic YWxpY2U6czNjcmV0");
  }

  @Test
  void a_403_with_a_token_names_the_token_variable() {
    mlflow.always(403, "{\"error_code\": \"PERMISSION_DENIED\", \"message\": \"Permission denied\"}");
    MlflowRegistry withToken = registry(MlflowSettings.of(mlflow.uri().toString()).withToken("tok-123"));
    TimemachineException e = thrownBy(() -> withToken.resolve("churn@champion"));
    assertThat(e.type()).isEqualTo(ErrorType.CONFIGURATION);
    assertThat(e.getMessage())
        .startsWith("MLflow at " + mlflow.uri() + " denied GET registered-models/alias to the token in MLFLOW_TRACKING_TOKEN (403)")
        .doesNotContain("tok-123");
    assertThat(mlflow.requests.get(0).authorization()).isEqualTo("Bearer tok-123");
  }

  @Test
  void a_server_that_is_down_is_a_configuration_error_saying_where_it_was_looked_for() throws IOException {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    MlflowRegistry down = registry(MlflowSettings.of("http://127.0.0.1:" + port));
    TimemachineException e = thrownBy(() -> down.resolve("churn@champion"));
    assertThat(e.type()).isEqualTo(ErrorType.CONFIGURATION);
    assertThat(e.getMessage())
        .isEqualTo("MLflow not reachable at http://127.0.0.1:" + port + ": start it or set MLFLOW_TRACKING_URI");
  }

  @Test
  void a_5xx_answered_twice_is_asked_again_and_the_third_answer_resolves() {
    java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
    mlflow.on("GET", "/api/2.0/mlflow/model-versions/get", r -> calls.incrementAndGet() <= 2
        ? Response.json(503, "{\"error_code\": \"TEMPORARILY_UNAVAILABLE\", \"message\": \"database is locked\"}")
        : Response.json(200, json(Map.of("model_version", modelVersion("3")))));
    ModelVersion version = registry.resolve("churn/3");
    assertThat(version.model()).isEqualTo(new ModelRef("churn", "3"));
    assertThat(mlflow.requests("GET", "/api/2.0/mlflow/model-versions/get")).as("two 503s, then the 200").hasSize(3);
  }

  @Test
  void a_5xx_that_persists_is_unavailable_with_mlflows_message_after_the_last_try() {
    mlflow.always(503, "{\"error_code\": \"TEMPORARILY_UNAVAILABLE\", \"message\": \"database is locked\"}");
    TimemachineException e = thrownBy(() -> registry.resolve("churn/3"));
    assertThat(e.type()).isEqualTo(ErrorType.UNAVAILABLE);
    assertThat(e.getMessage()).contains("database is locked");
    assertThat(mlflow.requests("GET", "/api/2.0/mlflow/model-versions/get")).as("three tries in all").hasSize(3);
  }

  @Test
  void a_429_is_asked_again_too() {
    java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
    mlflow.on("GET", "/api/2.0/mlflow/runs/get", r -> calls.incrementAndGet() == 1
        ? Response.json(429, "{\"error_code\": \"REQUEST_LIMIT_EXCEEDED\", \"message\": \"slow down\"}")
        : Response.json(200, json(Map.of("run", run()))));
    registry.resolve("churn/3");
    assertThat(mlflow.requests("GET", "/api/2.0/mlflow/runs/get")).hasSize(2);
  }

  @Test
  void a_4xx_is_answered_once_and_not_asked_again() {
    mlflow.json("GET", "/api/2.0/mlflow/model-versions/get", 400,
        "{\"error_code\": \"INVALID_PARAMETER_VALUE\", \"message\": \"bad version\"}");
    mlflow.json("GET", "/api/2.0/mlflow/registered-models/get", 200, json(Map.of("registered_model", Map.of("name", "churn"))));
    TimemachineException e = thrownBy(() -> registry.resolve("churn/3"));
    assertThat(e.type()).isEqualTo(ErrorType.INVALID_INPUT);
    assertThat(mlflow.requests("GET", "/api/2.0/mlflow/model-versions/get")).hasSize(1);
  }

  @Test
  void a_post_answered_5xx_is_not_sent_again_since_creating_a_run_twice_would_log_two() {
    mlflow.always(503, "{\"error_code\": \"TEMPORARILY_UNAVAILABLE\", \"message\": \"database is locked\"}");
    MlflowHttp http = new MlflowHttp(MlflowSettings.of(mlflow.uri().toString()), MlflowHttp.defaultClient(), Duration.ZERO);
    TimemachineException e = thrownBy(() -> http.post("runs/create", Map.of("experiment_id", "7")));
    assertThat(e.type()).isEqualTo(ErrorType.UNAVAILABLE);
    assertThat(mlflow.requests("POST", "/api/2.0/mlflow/runs/create")).hasSize(1);
  }

  @Test
  void a_url_that_is_not_an_mlflow_server_is_a_configuration_error() {
    FakeMlflow empty = mlflow;
    empty.on("GET", "/api/2.0/mlflow/model-versions/get", r -> new Response(404, "text/html", "<h1>Not Found</h1>".getBytes(StandardCharsets.UTF_8)));
    TimemachineException e = thrownBy(() -> registry.resolve("churn/3"));
    assertThat(e.type()).isEqualTo(ErrorType.CONFIGURATION);
    assertThat(e.getMessage()).isEqualTo(mlflow.uri() + " does not look like an MLflow server: GET model-versions/get answered 404 without an MLflow error");
  }

  @Test
  void a_redirect_is_not_followed_and_names_where_it_points() {
    String moved = mlflow.uri() + "/moved/api/2.0/mlflow/model-versions/get";
    mlflow.on("GET", "/api/2.0/mlflow/model-versions/get", r -> Response.redirect(moved));
    mlflow.on("GET", "/moved/api/2.0/mlflow/model-versions/get", r -> Response.json(200, "{}"));
    TimemachineException e = thrownBy(() -> registry.resolve("churn/3"));
    assertThat(e.type()).isEqualTo(ErrorType.CONFIGURATION);
    assertThat(e.getMessage()).isEqualTo("MLflow at " + mlflow.uri() + " redirects GET model-versions/get to " + moved + " (302)");
    assertThat(e.hint()).contains("MLFLOW_TRACKING_URI");
    assertThat(mlflow.requests("GET", "/moved/api/2.0/mlflow/model-versions/get")).as("not followed").isEmpty();
  }

  @Test
  void versions_lists_every_version_with_its_aliases_and_what_keeps_it_from_being_replayed() {
    mlflow.json(
        "GET", "/api/2.0/mlflow/registered-models/search", 200,
        "{\"registered_models\": [{\"name\": \"churn\", \"aliases\": [{\"alias\": \"champion\", \"version\": \"3\"}]}]}");
    mlflow.on(
        "GET", "/api/2.0/mlflow/model-versions/search",
        r -> {
          assertThat(r.query()).containsEntry("filter", "name='churn'");
          Map<String, Object> orphan = modelVersion("4");
          orphan.put("run_id", "");
          return Response.json(200, json(Map.of("model_versions", List.of(orphan, modelVersion("3")))));
        });

    List<MlflowRegistry.VersionSummary> versions = registry.versions();

    assertThat(versions).extracting(MlflowRegistry.VersionSummary::version).containsExactly("3", "4");
    MlflowRegistry.VersionSummary champion = versions.get(0);
    assertThat(champion.replayable()).isTrue();
    assertThat(champion.aliases()).containsExactly("champion");
    assertThat(champion.triplet().environment().image()).isEqualTo(ImageRef.parse(IMAGE));
    assertThat(versions.get(1).replayable()).isFalse();
    assertThat(versions.get(1).problem()).contains("churn/4 was registered without a run");
    assertThat(mlflow.requests.stream().filter(r -> r.path().startsWith("/api/2.0/mlflow-artifacts/")))
        .as("listing downloads no artifact").isEmpty();
  }

  @Test
  void a_malformed_spec_is_invalid_input_before_any_request() {
    assertThatThrownBy(() -> registry.validateSpec("churn"))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("<name>@<alias> or <name>/<version number>");
    assertThatThrownBy(() -> registry.resolve("churn/Production"))
        .hasMessageContaining("stages are not supported");
    assertThat(mlflow.requests).isEmpty();
  }

  @Test
  void register_is_refused_because_training_runs_register_versions() {
    TimemachineException e = thrownBy(() -> registry.register(registry.resolve("churn/3")));
    assertThat(e.type()).isEqualTo(ErrorType.INVALID_INPUT);
    assertThat(e.getMessage()).contains("timemachine_mlflow.record_triplet");
  }

  @Test
  void a_verdict_is_written_on_the_version_and_as_a_finished_replay_run_with_the_report() throws IOException {
    Map<String, String> versionTags = new LinkedHashMap<>();
    mlflow.on(
        "POST",
        "/api/2.0/mlflow/model-versions/set-tag",
        r -> {
          JsonNode body = read(r.body());
          assertThat(body.path("name").asText() + "/" + body.path("version").asText()).isEqualTo("churn/3");
          versionTags.put(body.path("key").asText(), body.path("value").asText());
          return Response.json(200, "{}");
        });
    mlflow.json(
        "GET", "/api/2.0/mlflow/experiments/get-by-name", 404,
        "{\"error_code\": \"RESOURCE_DOES_NOT_EXIST\", \"message\": \"Could not find experiment\"}");
    mlflow.json("POST", "/api/2.0/mlflow/experiments/create", 200, "{\"experiment_id\": \"7\"}");
    mlflow.json("POST", "/api/2.0/mlflow/runs/search", 200, "{}");
    mlflow.json(
        "POST", "/api/2.0/mlflow/runs/create", 200,
        "{\"run\": {\"info\": {\"run_id\": \"rr\", \"artifact_uri\": \"mlflow-artifacts:/7/rr/artifacts\", \"status\": \"RUNNING\"}}}");
    mlflow.json("POST", "/api/2.0/mlflow/runs/log-batch", 200, "{}");
    mlflow.json("POST", "/api/2.0/mlflow/runs/update", 200, "{}");
    mlflow.on("PUT", "/api/2.0/mlflow-artifacts/artifacts/7/rr/artifacts/report.json", r -> Response.json(200, "{}"));

    ReplayReport report = report(new ModelRef("churn", "3"));
    registry.recordVerdict("churn@champion", report, "s3://timemachine/reports/rp-1.json");

    assertThat(versionTags)
        .containsEntry("timemachine.verdict", "REPRODUCED_WITHIN_TOLERANCE")
        .containsEntry("timemachine.report", "s3://timemachine/reports/rp-1.json")
        .containsEntry("timemachine.replayed_at", "2026-11-24T10:15:30Z")
        .containsEntry("timemachine.replay_id", "rp-1")
        .containsEntry("timemachine.replay_run_id", "rr");
    JsonNode create = read(mlflow.requests("POST", "/api/2.0/mlflow/runs/create").get(0).body());
    assertThat(create.path("experiment_id").asText()).isEqualTo("7");
    assertThat(create.path("run_name").asText()).isEqualTo("rp-1");
    assertThat(create.path("tags").toString()).contains("\"timemachine.model\"", "\"churn\"", "\"timemachine.source_run_id\"");
    JsonNode batch = read(mlflow.requests("POST", "/api/2.0/mlflow/runs/log-batch").get(0).body());
    assertThat(batch.path("metrics")).hasSize(1);
    assertThat(batch.path("metrics").get(0).path("key").asText()).isEqualTo("f1");
    assertThat(batch.path("metrics").get(0).path("value").asDouble()).isEqualTo(0.751);
    assertThat(mlflow.requests("PUT", "/api/2.0/mlflow-artifacts/artifacts/7/rr/artifacts/report.json").get(0).body())
        .isEqualTo(Json.toBytes(report));
    JsonNode update = read(mlflow.requests("POST", "/api/2.0/mlflow/runs/update").get(0).body());
    assertThat(update.path("status").asText()).isEqualTo("FINISHED");
    assertThat(update.path("end_time").asLong()).isEqualTo(Instant.parse("2026-11-24T10:15:30Z").toEpochMilli());
  }

  @Test
  void a_retried_verdict_reuses_the_finished_replay_run() {
    mlflow.json("POST", "/api/2.0/mlflow/model-versions/set-tag", 200, "{}");
    mlflow.json("GET", "/api/2.0/mlflow/experiments/get-by-name", 200, "{\"experiment\": {\"experiment_id\": \"7\"}}");
    mlflow.json("POST", "/api/2.0/mlflow/runs/search", 200, "{\"runs\": [{\"info\": {\"run_id\": \"rr\", \"status\": \"FINISHED\"}}]}");

    registry.recordVerdict("churn/3", report(new ModelRef("churn", "3")), "s3://r");

    assertThat(mlflow.requests("POST", "/api/2.0/mlflow/runs/create")).isEmpty();
    assertThat(read(mlflow.requests("POST", "/api/2.0/mlflow/runs/search").get(0).body()).path("filter").asText())
        .isEqualTo("tags.`timemachine.replay_id` = 'rp-1'");
  }

  static ReplayReport report(ModelRef model) {
    return new ReplayReport(
        ReplayReport.SCHEMA, "rp-1", "mlflow:churn@champion", model, Verdict.REPRODUCED_WITHIN_TOLERANCE,
        "1 artifact(s) differ; all 2 metrics are within tolerance", null,
        new ReplayReport.Inputs(ReplayReport.VERIFIED, ReplayReport.VERIFIED, ReplayReport.VERIFIED), Map.of(), List.of(),
        List.of(
            new MetricComparison("f1", 0.75, 0.751, 0.001, 0.0013, "abs:0.01", true),
            new MetricComparison("auc", 0.8, null, null, null, "exact", false)),
        0L, List.of(), null, null, null, Instant.parse("2026-11-24T10:00:00Z"), Instant.parse("2026-11-24T10:15:30Z"), Map.of("total", 930000L));
  }

  private static JsonNode read(byte[] body) {
    try {
      return MAPPER.readTree(body);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
