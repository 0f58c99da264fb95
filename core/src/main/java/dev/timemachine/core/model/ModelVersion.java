package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.contract.ModelContract;
import java.time.Instant;

/**
 * A registered model version: its name and version, the triplet that produced it, and the outputs it
 * produced. Immutable once registered.
 *
 * @param contract what the version expects of its data and results (schemas, thresholds), recorded at
 *     registration; null for versions registered before contracts existed and for registries that
 *     record none, so that their manifests and workflow histories still read
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ModelVersion(
    String schema, ModelRef model, Triplet triplet, RecordedOutputs recorded, Instant registeredAt, ModelContract contract) {
  public static final String SCHEMA = "timemachine.model-version/v1";

  public ModelVersion {
    schema = schema == null ? SCHEMA : schema;
    if (!SCHEMA.equals(schema)) {
      throw TimemachineException.invalidInput("unsupported model version schema '" + schema + "' (expected " + SCHEMA + ")");
    }
    if (model == null || triplet == null || recorded == null) {
      throw TimemachineException.invalidInput("a model version needs model, triplet and recorded outputs");
    }
  }

  /** A version without a contract, as every version was before contracts existed. */
  public ModelVersion(String schema, ModelRef model, Triplet triplet, RecordedOutputs recorded, Instant registeredAt) {
    this(schema, model, triplet, recorded, registeredAt, null);
  }

  public static ModelVersion of(ModelRef model, Triplet triplet, RecordedOutputs recorded, Instant registeredAt) {
    return new ModelVersion(SCHEMA, model, triplet, recorded, registeredAt, null);
  }

  public ModelVersion withContract(ModelContract newContract) {
    return new ModelVersion(schema, model, triplet, recorded, registeredAt, newContract);
  }

  /** The same version without the data file list, for workflow payloads. */
  public ModelVersion forWorkflow() {
    return new ModelVersion(
        schema, model, triplet.withData(triplet.data().withoutFiles()), recorded, registeredAt,
        contract);
  }
}
