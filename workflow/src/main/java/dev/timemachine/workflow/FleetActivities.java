package dev.timemachine.workflow;

import dev.timemachine.core.fleet.FleetSummary;
import dev.timemachine.core.fleet.Selection;
import io.temporal.activity.ActivityInterface;
import java.util.List;
import java.util.Map;

/** The fleet's steps that need the registries or the store; on the control task queue. */
@ActivityInterface
public interface FleetActivities {
  /** Resolves the selector against the registries (lists only, downloads nothing). */
  Selection select(String selector);

  /**
   * The replays among {@code replayIds} that already finished (their report is in the store), by
   * replay id: a rerun of the same night reuses them instead of training again.
   */
  Map<String, ReplayResult> finishedReplays(List<String> replayIds);

  /**
   * The pre-flight check of {@code specs} (no checkout, pull or training): by spec, why each version
   * whose inputs are gone cannot be replayed. A version whose check could not reach a service is not
   * in the answer: its replay decides.
   */
  Map<String, String> preflight(List<String> specs);

  /** Writes one run's entries, once, under {@code fleets/<fleetId>/part-NNNNN.json}. */
  void writePart(String fleetId, int part, List<FleetSummary.Entry> entries);

  /**
   * Assembles the summary from the parts and the previous summary of the same fleet name, writes it
   * once to {@code fleets/<fleetId>.json}, and returns what it says.
   */
  FleetResult writeSummary(SummaryRequest request);

  /**
   * Tells whoever is configured to hear about it (the alert webhook) which versions newly fail, with
   * their verdict reasons and report URIs; a no-op when none is configured.
   */
  void alert(String fleetId);

  /** What {@link #writeSummary} needs besides the parts. */
  record SummaryRequest(
      String fleetId, String name, String selector, String night, String trigger, long startedAtMillis,
      long finishedAtMillis, int parts, List<Selection.Excluded> excluded) {}
}
