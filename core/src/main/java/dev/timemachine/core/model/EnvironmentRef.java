package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/** The environment of a training run: its container image, pinned by digest. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record EnvironmentRef(ImageRef image) {
  public EnvironmentRef {
    if (image == null) {
      throw TimemachineException.invalidInput("environment.image is required");
    }
  }
}
