package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * Code, environment and data: everything a training run depended on; and, for a model that consumes
 * another model's output, those upstream artifacts ({@link UpstreamRef}), empty for most (and absent
 * from the JSON of every version registered before lineage existed).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Triplet(
    CodeRef code, EnvironmentRef environment, DataRef data,
    @JsonInclude(JsonInclude.Include.NON_EMPTY) List<UpstreamRef> upstream) {
  public Triplet {
    if (code == null || environment == null || data == null) {
      throw TimemachineException.invalidInput("a triplet needs code, environment and data");
    }
    upstream = UpstreamRef.requireDistinct(upstream);
  }

  public Triplet(CodeRef code, EnvironmentRef environment, DataRef data) {
    this(code, environment, data, List.of());
  }

  /** The same triplet with {@code data} in place of its own. */
  public Triplet withData(DataRef newData) {
    return new Triplet(code, environment, newData, upstream);
  }
}
