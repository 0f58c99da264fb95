package dev.timemachine.core.contract;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What a model version expects of the world, recorded when it is registered: the schema of every data
 * file it was trained on, the metric thresholds it must meet, and for an MLflow model its signature
 * when the version has one. A backtest checks new data against it before any container starts, and
 * the new results against its thresholds. Versions registered before contracts existed have none
 * (the field is null in their manifests).
 *
 * @param mlflowSignature the {@code signature} of the MLflow model (its MLmodel file) as JSON, its {@code
 *     inputs} and {@code outputs} kept as the JSON texts MLflow wrote, or null; its named inputs must be
 *     columns of the new data ({@link MlflowSignature})
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ModelContract(
    List<FileSchema> files,
    @JsonInclude(JsonInclude.Include.NON_EMPTY) List<MetricThreshold> thresholds,
    String mlflowSignature) {
  public ModelContract {
    files = files == null ? List.of() : List.copyOf(files);
    thresholds = thresholds == null ? List.of() : List.copyOf(thresholds);
  }

  public ModelContract(List<FileSchema> files, List<MetricThreshold> thresholds) {
    this(files, thresholds, null);
  }

  /** The same contract with other file schemas, e.g. inferred from a snapshot for a version that recorded none. */
  public ModelContract withFiles(List<FileSchema> newFiles) {
    return new ModelContract(newFiles, thresholds, mlflowSignature);
  }

  public ModelContract withThresholds(List<MetricThreshold> newThresholds) {
    return new ModelContract(files, newThresholds, mlflowSignature);
  }
}
