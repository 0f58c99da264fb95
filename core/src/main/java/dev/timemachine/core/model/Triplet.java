package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/** Code, environment and data: everything a training run depended on. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Triplet(CodeRef code, EnvironmentRef environment, DataRef data) {
  public Triplet {
    if (code == null || environment == null || data == null) {
      throw TimemachineException.invalidInput("a triplet needs code, environment and data");
    }
  }
}
