package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/** Resource limits of one training container. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record TrainingLimits(double cpus, long memoryBytes, long timeoutSeconds, int pidsLimit) {
  public static final TrainingLimits DEFAULT = new TrainingLimits(1.0, 2L << 30, 3600, 512);

  public TrainingLimits {
    if (!(cpus > 0)) {
      throw TimemachineException.invalidInput("training cpus must be > 0, got " + cpus);
    }
    if (memoryBytes < 6L << 20) {
      throw TimemachineException.invalidInput("training memory must be at least 6 MiB, got " + memoryBytes + " bytes");
    }
    if (timeoutSeconds <= 0) {
      throw TimemachineException.invalidInput("training timeout must be > 0 seconds, got " + timeoutSeconds);
    }
    if (pidsLimit <= 0) {
      throw TimemachineException.invalidInput("training pids limit must be > 0, got " + pidsLimit);
    }
  }
}
