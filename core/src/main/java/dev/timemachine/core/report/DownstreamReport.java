package dev.timemachine.core.report;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a new upstream version does to every model that consumes it ({@code backtest encoder@3
 * --downstream}): for each downstream model's latest version, retrained with the new artifact in place
 * of the one it recorded, its backtest outcome and how each metric moved. Written once, {@code
 * backtests/<id>.json}, schema {@link #SCHEMA}; each entry links to its own backtest report.
 *
 * @param upstream the new upstream version, e.g. {@code encoder@3}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonPropertyOrder({"schema", "id", "upstream", "entries", "counts", "startedAt", "finishedAt"})
public record DownstreamReport(
    String schema, String id, String upstream, List<Entry> entries, Map<String, Integer> counts, Instant startedAt,
    Instant finishedAt) {
  public static final String SCHEMA = "timemachine.downstream-backtest/v1";

  public DownstreamReport {
    entries = entries == null ? List.of() : List.copyOf(entries);
  }

  /** Builds the report, counting entries by outcome ({@code ERROR} for a backtest that could not run). */
  public static DownstreamReport of(String id, String upstream, List<Entry> entries, Instant startedAt, Instant finishedAt) {
    Map<String, Integer> counts = new TreeMap<>();
    for (Entry e : entries) {
      counts.merge(e.outcome() == null ? "ERROR" : e.outcome().name(), 1, Integer::sum);
    }
    return new DownstreamReport(SCHEMA, id, upstream, entries, counts, startedAt, finishedAt);
  }

  /**
   * One downstream model.
   *
   * @param replaced what was swapped, e.g. {@code encoder=encoder@1:encoder.pkl -> encoder@3}
   * @param outcome the backtest's outcome, or null when it could not run ({@code reason} says why)
   * @param changes per metric: recorded (with the old upstream), retrained (with the new), and the difference
   * @param missedThresholds the consumer's contract thresholds the retrained model missed (empty: all met)
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Entry(
      String modelSpec, String backtestId, String replaced, BacktestOutcome outcome, String reason,
      List<Change> changes, List<String> missedThresholds, String reportUri) {
    public Entry {
      changes = changes == null ? List.of() : List.copyOf(changes);
      missedThresholds = missedThresholds == null ? List.of() : List.copyOf(missedThresholds);
    }
  }

  /** One metric of one downstream model: before, after, after minus before (null where either is missing). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Change(String metric, Double recorded, Double retrained, Double delta) {
    /**
     * The changes read off a backtest's metric table, whose first column is the recorded metrics and
     * whose second is the retrained version's; none when it has no second column (the training failed).
     */
    public static List<Change> of(BacktestReport.MetricTable table) {
      List<Change> changes = new ArrayList<>();
      if (table == null || table.columns().size() < 2) {
        return changes;
      }
      for (BacktestReport.MetricTable.Row row : table.rows()) {
        Double before = row.values().get(0);
        Double after = row.values().get(1);
        changes.add(new Change(row.metric(), before, after, before == null || after == null ? null : after - before));
      }
      return changes;
    }
  }
}
