package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.fleet.Change;
import java.util.List;
import java.util.Map;

/**
 * Output of {@link FleetReplayWorkflow}: where the summary is, and what a caller needs to decide on an
 * exit code or an alert without reading it.
 *
 * @param newFailures the specs to alert on: those whose change is {@code NEW_FAILURE}, and those seen for the
 *     first time ({@code FIRST_RUN}) that did not reproduce
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record FleetResult(
    String fleetId,
    String summaryUri,
    int total,
    int reused,
    int excluded,
    Map<String, Integer> verdicts,
    Map<Change, Integer> changes,
    List<String> newFailures,
    long durationMs) {}
