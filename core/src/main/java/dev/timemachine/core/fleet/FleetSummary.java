package dev.timemachine.core.fleet;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.grading.Verdict;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The record of one fleet run, written once to {@code fleets/<fleetId>.json}, schema {@code
 * timemachine.fleet-summary/v1}: per version its verdict, the previous night's and the change, counts
 * by verdict and by change, and durations in milliseconds. Readers ignore unknown fields.
 *
 * @param night the night this run stands for, {@code yyyyMMdd} in the schedule's time zone (a backfill
 *     of a missed night carries that night, not the day it ran)
 * @param previousFleetId the summary the changes are relative to, or null on the first night
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record FleetSummary(
    String schema,
    String fleetId,
    String name,
    String selector,
    String night,
    String trigger,
    Instant startedAt,
    Instant finishedAt,
    long durationMs,
    String previousFleetId,
    Map<String, Integer> verdicts,
    Map<Change, Integer> changes,
    List<Entry> entries,
    List<Selection.Excluded> excluded) {
  public static final String SCHEMA = "timemachine.fleet-summary/v1";

  /** The verdict of a replay that ended without one (its workflow failed: an outage, an unknown model). */
  public static final String ERROR = "ERROR";

  /**
   * One version's replay.
   *
   * @param verdict a {@link Verdict} name, or {@link #ERROR} with the failure in {@code reason}
   * @param reused true when tonight's replay had already finished (a rerun of the same night) and
   *     was not run again
   * @param previousVerdict the previous summary's verdict for the same spec, or null
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Entry(
      String spec,
      String replayId,
      String verdict,
      String reason,
      String reportUri,
      boolean reused,
      long durationMs,
      String previousVerdict,
      Change change) {
    public Entry withPrevious(String previous) {
      return new Entry(spec, replayId, verdict, reason, reportUri, reused, durationMs, previous, Change.of(previous, verdict));
    }
  }

  static boolean reproduced(String verdict) {
    try {
      return Verdict.valueOf(verdict).reproduced();
    } catch (IllegalArgumentException | NullPointerException e) {
      return false;
    }
  }

  /**
   * Assembles a summary: each entry gets the previous summary's verdict for its spec and the change;
   * counts are computed from the entries.
   */
  public static FleetSummary of(
      String fleetId, String name, String selector, String night, String trigger, Instant startedAt, Instant finishedAt,
      List<Entry> entries, List<Selection.Excluded> excluded, FleetSummary previous) {
    Map<String, String> before = new LinkedHashMap<>();
    if (previous != null) {
      previous.entries().forEach(e -> before.put(e.spec(), e.verdict()));
    }
    List<Entry> compared = new ArrayList<>();
    Map<String, Integer> verdicts = new TreeMap<>();
    Map<Change, Integer> changes = new EnumMap<>(Change.class);
    for (Entry e : entries) {
      Entry c = e.withPrevious(before.get(e.spec()));
      compared.add(c);
      verdicts.merge(c.verdict(), 1, Integer::sum);
      changes.merge(c.change(), 1, Integer::sum);
    }
    return new FleetSummary(SCHEMA, fleetId, name, selector, night, trigger, startedAt, finishedAt,
        finishedAt.toEpochMilli() - startedAt.toEpochMilli(), previous == null ? null : previous.fleetId(),
        verdicts, changes, compared, excluded == null ? List.of() : excluded);
  }

  public List<Entry> newFailures() {
    return entries.stream().filter(e -> e.change() == Change.NEW_FAILURE).toList();
  }

  /** Versions seen for the first time that did not reproduce: new in the fleet, and broken from the start. */
  public List<Entry> firstRunFailures() {
    return entries.stream().filter(e -> e.change() == Change.FIRST_RUN && !reproduced(e.verdict())).toList();
  }

  /** What the morning alert names: every new failure, and every version that failed on its first night. */
  public List<Entry> alerts() {
    return entries.stream()
        .filter(e -> e.change() == Change.NEW_FAILURE || (e.change() == Change.FIRST_RUN && !reproduced(e.verdict())))
        .toList();
  }
}
