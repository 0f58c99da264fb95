package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/** How far a fleet run is, for progress displays; counts are of the current continue-as-new run. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record FleetProgress(String fleetId, int total, int done, int inFlight) {}
