package dev.timemachine.registries.mlflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.timemachine.core.contract.FileSchema;
import dev.timemachine.core.contract.MlflowSignature;
import dev.timemachine.core.contract.ModelContract;
import dev.timemachine.core.data.SchemaInference;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.RelativePaths;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model contract of an MLflow version, pure: file schemas from the run's dataset inputs that carry
 * a column schema ({@code {"mlflow_colspec": [...]}}, as {@code mlflow.data.from_pandas} logs it), and
 * the model's signature from its {@code MLmodel}. Null when the version has neither, so that a backtest
 * infers the contract from the recorded snapshot, as for a version registered before contracts.
 *
 * <p>A dataset input stands for the file at its name when the name is a relative path of a data file
 * ({@code customers.csv}, {@code q3/part-0.parquet}), else for its source's path under {@code /data/}
 * (the training container's data mount, where code that logs its input inside the container read it).
 * A dataset input that names no such file is left out of the contract.
 */
final class MlflowContracts {
  private static final Logger log = LoggerFactory.getLogger(MlflowContracts.class);
  private static final YAMLMapper YAML = new YAMLMapper();
  private static final String DATA_MOUNT = "/data/";

  private MlflowContracts() {}

  /**
   * @param datasets every dataset input of the run
   * @param mlmodel the text of the model's MLmodel file, or null
   * @param label the version, named in warnings
   */
  static ModelContract of(List<MlflowApi.Dataset> datasets, String mlmodel, String label) {
    List<FileSchema> files = new ArrayList<>();
    Set<String> paths = new LinkedHashSet<>();
    for (MlflowApi.Dataset dataset : datasets) {
      FileSchema schema = fileSchema(dataset, label);
      if (schema != null && paths.add(schema.path())) {
        files.add(schema);
      }
    }
    String signature = mlmodel == null ? null : signature(mlmodel, label);
    if (files.isEmpty() && signature == null) {
      return null;
    }
    return new ModelContract(files, List.of(), signature);
  }

  /** The file schema a dataset input records, or null if it has no column schema or names no file. */
  static FileSchema fileSchema(MlflowApi.Dataset dataset, String label) {
    JsonNode schema = parse(dataset.schema());
    JsonNode colspec = schema == null ? null : schema.get("mlflow_colspec");
    if (colspec == null || !colspec.isArray() || colspec.isEmpty()) {
      return null;
    }
    String path = pathOf(dataset);
    if (path == null) {
      log.warn("model version {}: dataset input '{}' (source {}) names no data file, so its schema is not in the contract",
          label, dataset.name(), dataset.source());
      return null;
    }
    List<FileSchema.Column> columns = new ArrayList<>();
    for (MlflowSignature.Input input : MlflowSignature.colspecs(colspec)) {
      columns.add(new FileSchema.Column(input.name(), input.type()));
    }
    return new FileSchema(path, SchemaInference.formatOf(path), columns);
  }

  /** The data file a dataset input stands for, relative to the snapshot root; null if none. */
  static String pathOf(MlflowApi.Dataset dataset) {
    String byName = dataFile(dataset.name());
    if (byName != null) {
      return byName;
    }
    JsonNode source = parse(dataset.source());
    String uri = source == null ? null : source.path("uri").asText(source.path("path").asText(null));
    if (uri == null) {
      return null;
    }
    String path = uri;
    if (uri.startsWith("file:")) {
      try {
        path = URI.create(uri).getPath();
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
    return path != null && path.startsWith(DATA_MOUNT) ? dataFile(path.substring(DATA_MOUNT.length())) : null;
  }

  private static String dataFile(String candidate) {
    if (candidate == null || candidate.isBlank()) {
      return null;
    }
    String lower = candidate.toLowerCase(Locale.ROOT);
    if (!lower.endsWith(".csv") && !lower.endsWith(".parquet") && !lower.endsWith(".jsonl") && !lower.endsWith(".ndjson")) {
      return null;
    }
    try {
      return RelativePaths.require(candidate, "dataset file");
    } catch (TimemachineException e) {
      return null;
    }
  }

  /**
   * The {@code signature} block of an MLmodel as JSON, its {@code inputs} and {@code outputs} left as the
   * JSON texts MLflow wrote; null when the MLmodel has none (or is not YAML, which is logged).
   */
  static String signature(String mlmodel, String label) {
    JsonNode root;
    try {
      root = YAML.readTree(mlmodel);
    } catch (IOException e) {
      log.warn("model version {}: its MLmodel is not YAML ({}), so its signature is not in the contract", label,
          e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse(""));
      return null;
    }
    JsonNode signature = root == null ? null : root.get("signature");
    if (signature == null || !signature.isObject() || !signature.has("inputs")) {
      return null;
    }
    return signature.toString(); // compact JSON
  }

  private static JsonNode parse(String text) {
    if (text == null || text.isBlank()) {
      return null;
    }
    try {
      JsonNode node = Json.mapper().readTree(text);
      return node != null && node.isObject() ? node : null;
    } catch (IOException e) {
      return null;
    }
  }
}
