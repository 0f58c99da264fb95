package dev.timemachine.core.fleet;

/** How a version's verdict tonight compares with the previous night's. */
public enum Change {
  /** Reproduced last time, not tonight: the one to alert on. */
  NEW_FAILURE,
  /** Failed last time, reproduced tonight. */
  RECOVERED,
  STILL_FAILING,
  STILL_OK,
  /** Not in the previous summary (a new version, a moved alias, or the first night). */
  FIRST_RUN;

  public static Change of(String previousVerdict, String verdict) {
    if (previousVerdict == null) {
      return FIRST_RUN;
    }
    boolean wasOk = FleetSummary.reproduced(previousVerdict);
    boolean isOk = FleetSummary.reproduced(verdict);
    if (wasOk) {
      return isOk ? STILL_OK : NEW_FAILURE;
    }
    return isOk ? RECOVERED : STILL_FAILING;
  }
}
