package dev.timemachine.cli;

import dev.timemachine.core.model.SandboxSettings;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.app.Config;
import picocli.CommandLine.Option;

/** Training resource limits, defaulting to the TIMEMACHINE_TRAIN_* environment variables. */
public final class LimitOptions {
  @Option(names = "--cpus", description = "CPUs for the training container (default TIMEMACHINE_TRAIN_CPUS or 1).")
  Double cpus;

  @Option(names = "--memory", description = "Memory limit, e.g. 2g (default TIMEMACHINE_TRAIN_MEMORY or 2g).")
  String memory;

  @Option(names = "--timeout-seconds", description = "Training timeout (default TIMEMACHINE_TRAIN_TIMEOUT_SECONDS or 3600).")
  Long timeoutSeconds;

  @Option(names = "--sandbox", paramLabel = "strict|relaxed",
      description = "strict (default): non-root user, read-only root file system; relaxed: the image's own user and a"
          + " writable root file system, for entry points that need them (recorded in the report).")
  String sandbox;

  TrainingLimits apply(Config config) {
    TrainingLimits defaults = config.limits();
    SandboxSettings settings = defaults.sandbox();
    if (sandbox != null) {
      settings = settings.withMode(SandboxSettings.parseMode(sandbox));
    }
    return new TrainingLimits(
        cpus != null ? cpus : defaults.cpus(),
        memory != null ? memoryBytes() : defaults.memoryBytes(),
        timeoutSeconds != null ? timeoutSeconds : defaults.timeoutSeconds(),
        defaults.pidsLimit(),
        settings);
  }

  private long memoryBytes() {
    try {
      return Config.parseSize(memory);
    } catch (NumberFormatException e) {
      throw dev.timemachine.core.errors.TimemachineException.invalidInput(
          "--memory '" + memory + "' is not a size: use e.g. 2g, 512m, or a number of bytes");
    }
  }
}
