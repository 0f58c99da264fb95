package dev.timemachine.core.fleet;

import dev.timemachine.core.model.ReplayIds;

/**
 * Ids of a fleet's replays: {@code replay-<model>-<version>-<yyyymmdd>}, with the registry prefix
 * for versions outside the built-in registry ({@code replay-mlflow-churn-3-20261123}). The same
 * version on the same night always gets the same id, which is how a rerun of a night finds the
 * replays that already finished instead of training twice.
 */
public final class FleetIds {
  private FleetIds() {}

  public static String replayId(String spec, String night) {
    String suffix = "-" + night;
    String readable = spec.replaceAll("[^A-Za-z0-9_.-]", "-");
    int room = 128 - "replay-".length() - suffix.length();
    if (readable.length() > room) {
      readable = readable.substring(0, room);
    }
    return ReplayIds.require("replay-" + readable + suffix);
  }

  /** The summary's key in the store. */
  public static String summaryKey(String fleetId) {
    return "fleets/" + ReplayIds.require(fleetId) + ".json";
  }

  /** One continue-as-new run's part of the entries, before the summary is assembled. */
  public static String partKey(String fleetId, int part) {
    return "fleets/" + ReplayIds.require(fleetId) + "/part-" + String.format("%05d", part) + ".json";
  }
}
