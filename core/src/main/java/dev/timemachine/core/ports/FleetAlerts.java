package dev.timemachine.core.ports;

import dev.timemachine.core.fleet.FleetSummary;

/**
 * Where a fleet run's new failures are announced (a webhook). Throws {@code UNAVAILABLE} when the
 * receiver is briefly unreachable (retried), {@code CONFIGURATION} when it refuses the message.
 */
public interface FleetAlerts {
  FleetAlerts NONE = summary -> {};

  /**
   * Announces the summary's {@link dev.timemachine.core.fleet.FleetSummary#alerts()}: its {@code NEW_FAILURE}
   * entries and the first-run versions that did not reproduce; called only when there is at least one.
   */
  void newFailures(FleetSummary summary);
}
