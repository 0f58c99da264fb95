package dev.timemachine.registries.mlflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/**
 * The parts of MLflow's REST answers that timemachine reads, as records read with core's {@code
 * Json.mapper()}. Field names follow MLflow's snake case; whatever else MLflow sends is ignored, so a
 * newer server with more fields stays readable. Lists MLflow leaves out (it omits empty ones) read as
 * empty lists through the accessors, never as null.
 */
final class MlflowApi {
  private MlflowApi() {}

  private static <T> List<T> orEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Alias(String alias, String version) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record RegisteredModel(String name, List<Alias> aliases) {
    @Override
    public List<Alias> aliases() {
      return orEmpty(aliases);
    }
  }

  /** {@code registered-models/get}. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record RegisteredModelResponse(RegisteredModel registeredModel) {}

  /** A page of {@code registered-models/search}. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record RegisteredModelsPage(List<RegisteredModel> registeredModels, String nextPageToken) {
    @Override
    public List<RegisteredModel> registeredModels() {
      return orEmpty(registeredModels);
    }
  }

  /** A {@code model_version} object. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record ModelVersionInfo(String name, String version, Long creationTimestamp, String runId, String source) {
    String label() {
      return name + "/" + version;
    }

    String runIdOrEmpty() {
      return runId == null ? "" : runId;
    }
  }

  /** {@code model-versions/get} and {@code registered-models/alias}. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record ModelVersionResponse(ModelVersionInfo modelVersion) {}

  /** A page of {@code model-versions/search}. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record ModelVersionsPage(List<ModelVersionInfo> modelVersions, String nextPageToken) {
    @Override
    public List<ModelVersionInfo> modelVersions() {
      return orEmpty(modelVersions);
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record FileInfo(String path, boolean isDir, Long fileSize) {}

  /** A page of {@code artifacts/list}. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record ArtifactsPage(List<FileInfo> files, String nextPageToken) {
    @Override
    public List<FileInfo> files() {
      return orEmpty(files);
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record RunInfo(String runId, String runUuid, String artifactUri, String status) {
    /** {@code run_id}, or the older {@code run_uuid}, or "". */
    String id() {
      return runId != null ? runId : runUuid != null ? runUuid : "";
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record KeyValue(String key, String value) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Metric(String key, Double value) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record RunData(List<KeyValue> tags, List<Metric> metrics) {
    @Override
    public List<KeyValue> tags() {
      return orEmpty(tags);
    }

    @Override
    public List<Metric> metrics() {
      return orEmpty(metrics);
    }
  }

  /**
   * A logged dataset; {@code source}, {@code profile} and {@code schema} (e.g. {@code {"mlflow_colspec":
   * [...]}}) are JSON documents in strings.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Dataset(String name, String digest, String sourceType, String source, String profile, String schema) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record DatasetInput(Dataset dataset) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record RunInputs(List<DatasetInput> datasetInputs) {
    @Override
    public List<DatasetInput> datasetInputs() {
      return orEmpty(datasetInputs);
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Run(RunInfo info, RunData data, RunInputs inputs) {
    @Override
    public RunInfo info() {
      return info == null ? new RunInfo(null, null, null, null) : info;
    }

    @Override
    public RunData data() {
      return data == null ? new RunData(null, null) : data;
    }

    @Override
    public RunInputs inputs() {
      return inputs == null ? new RunInputs(null) : inputs;
    }
  }

  /** {@code runs/get} and {@code runs/create}. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record RunResponse(Run run) {}

  /** {@code runs/search}. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record RunsPage(List<Run> runs) {
    @Override
    public List<Run> runs() {
      return orEmpty(runs);
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Experiment(String experimentId) {}

  /** An MLflow 3 logged model ({@code logged-models/<id>}): where its artifacts, MLmodel included, are. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record LoggedModelInfo(String modelId, String artifactUri) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record LoggedModel(LoggedModelInfo info) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record LoggedModelResponse(LoggedModel model) {}

  /** {@code experiments/get-by-name}. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record ExperimentResponse(Experiment experiment) {}

  /** {@code experiments/create}. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record CreatedExperiment(String experimentId) {}
}
