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

  /**
   * The longest training a replay waits for: 30 days. Temporal timers and activity timeouts past
   * this are a typo, not a plan (999999999999 s made every workflow task fail while the CLI hung).
   */
  public static final long MAX_TIMEOUT_SECONDS = 30L * 24 * 3600;
  /** More CPUs than any single engine has; the engine's own count is checked where training runs. */
  public static final double MAX_CPUS = 1024;
  /** 16 TiB; the engine's own memory is checked where training runs. */
  public static final long MAX_MEMORY_BYTES = 16L << 40;
  public static final int MAX_PIDS = 1 << 22;

  public TrainingLimits {
    if (!(cpus > 0) || !(cpus <= MAX_CPUS)) {
      throw TimemachineException.invalidInput("training cpus must be > 0 and at most " + (int) MAX_CPUS + ", got " + cpus);
    }
    if (memoryBytes > MAX_MEMORY_BYTES) {
      throw TimemachineException.invalidInput(
          "training memory must be at most 16 TiB, got " + memoryBytes + " bytes");
    }
    if (timeoutSeconds > MAX_TIMEOUT_SECONDS) {
      throw TimemachineException.invalidInput("training timeout must be at most " + MAX_TIMEOUT_SECONDS
          + " seconds (30 days), got " + timeoutSeconds);
    }
    if (pidsLimit > MAX_PIDS) {
      throw TimemachineException.invalidInput("training pids limit must be at most " + MAX_PIDS + ", got " + pidsLimit);
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
