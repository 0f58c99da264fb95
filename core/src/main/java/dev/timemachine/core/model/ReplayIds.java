package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;
import java.util.regex.Pattern;

/** Replay ids name directories, containers and object keys, so they are checked before any use. */
public final class ReplayIds {
  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");

  private ReplayIds() {}

  public static String require(String replayId) {
    if (replayId == null || !SAFE.matcher(replayId).matches()) {
      throw TimemachineException.invalidInput(
          "replay id '" + replayId + "' must be 1-128 of letters, digits, '.', '_' or '-'");
    }
    return replayId;
  }

  /** Whether {@code replayId} could name a replay's directory and container. */
  public static boolean isValid(String replayId) {
    return replayId != null && SAFE.matcher(replayId).matches();
  }

  /** The training container's name: deterministic, so a retried attempt finds an earlier one. */
  public static String containerName(String replayId) {
    return "timemachine-train-" + require(replayId);
  }
}
