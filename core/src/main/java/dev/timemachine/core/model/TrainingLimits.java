package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * Resource limits of one training container, and the sandbox it runs in. {@code sandbox} is null in
 * payloads from before sandboxing existed (committed workflow histories); it then means {@link
 * SandboxSettings#STRICT}, since the worker that runs the step now confines every container.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record TrainingLimits(double cpus, long memoryBytes, long timeoutSeconds, int pidsLimit, SandboxSettings sandbox) {
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
    sandbox = sandbox == null ? SandboxSettings.STRICT : sandbox;
  }

  public TrainingLimits(double cpus, long memoryBytes, long timeoutSeconds, int pidsLimit) {
    this(cpus, memoryBytes, timeoutSeconds, pidsLimit, null);
  }

  public TrainingLimits withSandbox(SandboxSettings newSandbox) {
    return new TrainingLimits(cpus, memoryBytes, timeoutSeconds, pidsLimit, newSandbox);
  }
}
