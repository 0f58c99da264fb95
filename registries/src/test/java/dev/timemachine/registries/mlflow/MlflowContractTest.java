package dev.timemachine.registries.mlflow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.timemachine.core.contract.ContractCheck;
import dev.timemachine.core.contract.FileSchema;
import dev.timemachine.core.contract.FileSchema.Column;
import dev.timemachine.core.contract.MlflowSignature;
import dev.timemachine.core.contract.ModelContract;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.registries.mlflow.FakeMlflow.Response;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

/**
 * An MLflow version's contract from its run's dataset inputs and its model's MLmodel, on a scripted
 * fake server; MlflowRegistryIT does the same against the real MLflow.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class MlflowContractTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  /** What mlflow.sklearn.save_model(..., signature=infer_signature(X, y)) of MLflow 3.17 wrote. */
  static final String MLMODEL = """
      artifact_path: model
      flavors:
        python_function:
          loader_module: mlflow.sklearn
          model_path: model.pkl
      mlflow_version: 3.17.2
      model_size_bytes: 865
      model_uuid: 57c6740b664a4307a46b15cfc078cede
      prompts: null
      signature:
        inputs: '[{"type": "long", "name": "tenure_months", "required": true}, {"type":
          "double", "name": "monthly_charges", "required": true}, {"type": "long", "name":
          "support_calls", "required": true}]'
        outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
        params: null
      utc_time_created: '2026-12-03 05:52:06.304089'
      """;
  /** What mlflow.data.from_pandas(frame, source="/data/customers.csv", name="customers.csv") logged. */
  static final String COLSPEC = "{\"mlflow_colspec\": [{\"type\": \"long\", \"name\": \"tenure_months\", \"required\": true},"
      + " {\"type\": \"double\", \"name\": \"monthly_charges\", \"required\": true}, {\"type\": \"long\", \"name\":"
      + " \"support_calls\", \"required\": true}, {\"type\": \"boolean\", \"name\": \"churned\", \"required\": true},"
      + " {\"type\": \"datetime\", \"name\": \"signed_up\", \"required\": true}]}";

  private FakeMlflow mlflow;
  private MlflowRegistry registry;
  private String source = "mlflow-artifacts:/1/r1/artifacts/timemachine/outputs";
  private final List<Map<String, Object>> datasets = new ArrayList<>();
  private final Map<String, byte[]> outputs = new LinkedHashMap<>();

  @BeforeEach
  void start() throws Exception {
    mlflow = new FakeMlflow();
    registry = new MlflowRegistry(new MlflowHttp(MlflowSettings.of(mlflow.uri().toString()), MlflowHttp.defaultClient(), Duration.ZERO),
        Clock.systemUTC());
    datasets.add(dataset("churn", "timemachine", "{\"uri\": \"s3://timemachine/snapshots/churn\"}",
        "{\"root_digest\": \"sha256:" + "b".repeat(64) + "\", \"file_count\": 1, \"total_bytes\": 10}", null));
    outputs.put("metrics.json", "{\"accuracy\": 0.9}".getBytes(StandardCharsets.UTF_8));
    outputs.put("model.pkl", "model".getBytes(StandardCharsets.UTF_8));
    mlflow.on("GET", "/api/2.0/mlflow/model-versions/get", r -> Response.json(200, json(Map.of("model_version", Map.of(
        "name", "churn", "version", "3", "source", source, "run_id", "r1", "status", "READY")))));
    mlflow.on("GET", "/api/2.0/mlflow/runs/get", r -> Response.json(200, json(Map.of("run", run()))));
    mlflow.on("GET", "/api/2.0/mlflow/artifacts/list", r -> {
      String dir = r.query().get("path");
      List<Map<String, Object>> files = new ArrayList<>();
      List<String> dirs = new ArrayList<>();
      outputs.forEach((path, bytes) -> {
        String full = "timemachine/outputs/" + path;
        if (full.startsWith(dir + "/")) {
          String rest = full.substring(dir.length() + 1);
          if (!rest.contains("/")) {
            files.add(Map.of("path", full, "is_dir", false, "file_size", bytes.length));
          } else if (!dirs.contains(rest.substring(0, rest.indexOf('/')))) {
            dirs.add(rest.substring(0, rest.indexOf('/')));
            files.add(Map.of("path", dir + "/" + rest.substring(0, rest.indexOf('/')), "is_dir", true));
          }
        }
      });
      return Response.json(200, json(Map.of("files", files)));
    });
    mlflow.on("*", "*", r -> {
      String prefix = "/api/2.0/mlflow-artifacts/artifacts/1/r1/artifacts/timemachine/outputs/";
      byte[] bytes = r.path().startsWith(prefix) ? outputs.get(r.path().substring(prefix.length())) : null;
      return bytes == null ? Response.json(404, "{\"error_code\": \"RESOURCE_DOES_NOT_EXIST\", \"message\": \"no\"}") : Response.bytes(bytes);
    });
  }

  @AfterEach
  void stop() {
    mlflow.close();
  }

  private static String json(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static Map<String, Object> dataset(String name, String sourceType, String source, String profile, String schema) {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("name", name);
    d.put("digest", "d137ff40");
    d.put("source_type", sourceType);
    d.put("source", source);
    if (profile != null) {
      d.put("profile", profile);
    }
    if (schema != null) {
      d.put("schema", schema);
    }
    return d;
  }

  private Map<String, Object> run() {
    Map<String, String> tags = new LinkedHashMap<>();
    tags.put("mlflow.source.git.repoURL", "https://git.example/churn.git");
    tags.put("mlflow.source.git.commit", "0123456789abcdef0123456789abcdef01234567");
    tags.put("timemachine.entry_point", "[\"python3\", \"train.py\"]");
    tags.put("timemachine.image", "127.0.0.1:5000/timemachine/churn-env@sha256:" + "a".repeat(64));
    List<Map<String, String>> tagList = new ArrayList<>();
    tags.forEach((k, v) -> tagList.add(Map.of("key", k, "value", v)));
    List<Map<String, Object>> inputs = new ArrayList<>();
    datasets.forEach(d -> inputs.add(Map.of("dataset", d)));
    return Map.of("info", Map.of("run_id", "r1", "artifact_uri", "mlflow-artifacts:/1/r1/artifacts"),
        "data", Map.of("tags", tagList), "inputs", Map.of("dataset_inputs", inputs));
  }

  @Test
  void the_dataset_inputs_schema_and_the_signature_of_the_saved_model_become_the_contract() {
    datasets.add(dataset("customers.csv", "local", "{\"uri\": \"/data/customers.csv\"}", "{\"num_rows\": 4}", COLSPEC));
    outputs.put("model/MLmodel", MLMODEL.getBytes(StandardCharsets.UTF_8));
    outputs.put("model/model.pkl", "pickle".getBytes(StandardCharsets.UTF_8));

    ModelContract contract = registry.resolve("churn/3").contract();

    assertThat(contract.files()).containsExactly(new FileSchema("customers.csv", "csv", List.of(
        new Column("tenure_months", "int"), new Column("monthly_charges", "float"), new Column("support_calls", "int"),
        new Column("churned", "bool"), new Column("signed_up", "datetime"))));
    assertThat(contract.mlflowSignature()).as("the raw signature, inputs and outputs as MLflow wrote them")
        .contains("\"inputs\":\"[{\\\"type\\\": \\\"long\\\", \\\"name\\\": \\\"tenure_months\\\"")
        .contains("\"outputs\":\"[{\\\"type\\\": \\\"tensor\\\"");
    assertThat(MlflowSignature.inputs(contract.mlflowSignature())).extracting(MlflowSignature.Input::name)
        .containsExactly("tenure_months", "monthly_charges", "support_calls");
  }

  @Test
  void a_signature_alone_is_a_contract_without_file_schemas_that_still_names_a_missing_column() {
    outputs.put("model/MLmodel", MLMODEL.getBytes(StandardCharsets.UTF_8));

    ModelContract contract = registry.resolve("churn/3").contract();

    assertThat(contract.files()).isEmpty();
    ContractCheck check = ContractCheck.of(contract, List.of(new FileSchema("customers.csv", "csv", List.of(
        new Column("tenure_months", "int"), new Column("monthly_charges", "float")))));
    assertThat(check.summary()).isEqualTo("MLflow signature: column 'support_calls' missing");
  }

  @Test
  void the_mlmodel_of_an_mlflow_3_logged_model_source_is_read_through_the_logged_models_api() {
    source = "models:/m-42";
    mlflow.on("GET", "/api/2.0/mlflow/logged-models/m-42", r -> Response.json(200,
        json(Map.of("model", Map.of("info", Map.of("model_id", "m-42", "artifact_uri", "mlflow-artifacts:/1/models/m-42/artifacts"))))));
    mlflow.on("GET", "/api/2.0/mlflow-artifacts/artifacts/1/models/m-42/artifacts/MLmodel",
        r -> Response.bytes(MLMODEL.getBytes(StandardCharsets.UTF_8)));

    ModelVersion version = registry.resolve("churn/3");

    assertThat(MlflowSignature.inputs(version.contract().mlflowSignature())).hasSize(3);
  }

  @Test
  void a_version_with_neither_has_no_contract_so_a_backtest_infers_one_from_the_recorded_snapshot() {
    datasets.add(dataset("frame", "code", "{}", null, null));

    assertThat(registry.resolve("churn/3").contract()).isNull();
  }

  @Test
  void a_dataset_input_stands_for_the_file_its_name_or_its_source_under_data_names() {
    assertThat(MlflowContracts.pathOf(new MlflowApi.Dataset("q3/customers.parquet", null, "local", "{}", null, null)))
        .isEqualTo("q3/customers.parquet");
    assertThat(MlflowContracts.pathOf(new MlflowApi.Dataset("train", null, "local", "{\"uri\": \"file:///data/q3/c.csv\"}", null, null)))
        .isEqualTo("q3/c.csv");
    assertThat(MlflowContracts.pathOf(new MlflowApi.Dataset("train", null, "local", "{\"uri\": \"/home/me/c.csv\"}", null, null)))
        .isNull();
    assertThat(MlflowContracts.pathOf(new MlflowApi.Dataset("../c.csv", null, "local", "{}", null, null))).isNull();
  }

  @Test
  void an_mlmodel_that_is_not_yaml_gives_no_signature_rather_than_failing_the_version() {
    assertThat(MlflowContracts.signature("signature: [unclosed", "churn/3")).isNull();
    assertThat(MlflowContracts.signature("flavors: {}\n", "churn/3")).isNull();
  }
}
