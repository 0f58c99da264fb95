package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.time.Instant;

/**
 * A registered model version: its name and version, the triplet that produced it, and the outputs it
 * produced. Immutable once registered.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ModelVersion(String schema, ModelRef model, Triplet triplet, RecordedOutputs recorded, Instant registeredAt) {
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

  public static ModelVersion of(ModelRef model, Triplet triplet, RecordedOutputs recorded, Instant registeredAt) {
    return new ModelVersion(SCHEMA, model, triplet, recorded, registeredAt);
  }

  /** The same version without the data file list, for workflow payloads. */
  public ModelVersion forWorkflow() {
    return new ModelVersion(
        schema, model, new Triplet(triplet.code(), triplet.environment(), triplet.data().withoutFiles()), recorded, registeredAt);
  }
}
