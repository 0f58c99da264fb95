package dev.timemachine.core.report;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.timemachine.core.contract.ContractCheck;
import dev.timemachine.core.contract.MetricThreshold;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.model.TrainingLog;
import dev.timemachine.core.model.Triplet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The immutable evidence of one backtest: an old model version's code and image, verified as a replay
 * verifies them, retrained on a new snapshot, next to its recorded results and to other versions
 * trained on the same snapshot. Written once, {@code backtests/<backtestId>.json}, schema {@link #SCHEMA};
 * readers ignore unknown fields.
 *
 * @param original the version backtested, with its recorded triplet: the link back to what was registered
 * @param newData the snapshot it was retrained on (without its file list; the root digest pins every file)
 * @param upstream the upstream artifacts mounted for the backtested version, each verified by sha256:
 *     its recorded ones, or another version's in their place ({@code backtest encoder@3 --downstream});
 *     absent for a model that consumes none
 * @param contractSource {@code recorded} (the version's own contract), or how it was obtained for a
 *     version registered without one
 * @param contract the contract check of the new data: differences (empty unless {@code CONTRACT_VIOLATED})
 *     and additions; null when the inputs could not be verified
 * @param metricTable one column per model (the recorded original first), one row per metric
 * @param runs what each training on the new data did, in the order of the table's columns after the first
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonPropertyOrder({"schema", "backtestId", "modelSpec", "outcome", "reason", "original", "newData", "upstream", "against",
    "contractSource", "contract", "thresholds", "metricTable", "runs", "limits", "startedAt", "finishedAt", "durationsMs"})
public record BacktestReport(
    String schema,
    String backtestId,
    String modelSpec,
    BacktestOutcome outcome,
    String reason,
    Original original,
    DataRef newData,
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_EMPTY)
        List<dev.timemachine.core.model.UpstreamRef> upstream,
    List<String> against,
    String contractSource,
    ContractCheck contract,
    List<ThresholdResult> thresholds,
    MetricTable metricTable,
    List<Run> runs,
    TrainingLimits limits,
    Instant startedAt,
    Instant finishedAt,
    Map<String, Long> durationsMs) {
  public static final String SCHEMA = "timemachine.backtest-report/v1";

  public BacktestReport {
    // Absent in reports of versions that consume no upstream artifact, and in every report before lineage.
    upstream = upstream == null ? List.of() : List.copyOf(upstream);
  }

  /** The backtested version as registered. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Original(ModelRef model, Triplet triplet, Map<String, Double> recordedMetrics, Instant registeredAt) {}

  /** One threshold of the contract held against the retrained original's metrics. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record ThresholdResult(String threshold, Double value, boolean met, String violation) {
    public static List<ThresholdResult> of(List<MetricThreshold> thresholds, Map<String, Double> metrics) {
      List<ThresholdResult> results = new ArrayList<>();
      for (MetricThreshold t : thresholds) {
        String violation = t.violation(metrics);
        results.add(new ThresholdResult(t.toString(), metrics.get(t.metric()), violation == null, violation));
      }
      return List.copyOf(results);
    }
  }

  /**
   * Metrics side by side.
   *
   * @param columns e.g. {@code churn@1 (recorded)}, {@code churn@1}, {@code churn@2}
   * @param rows one per metric reported by any column, sorted by name; a value is null where a column has none
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record MetricTable(List<String> columns, List<Row> rows) {
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Row(String metric, List<Double> values) {}

    /** A table over {@code columns} (name to metrics, in order). */
    public static MetricTable of(LinkedHashMap<String, Map<String, Double>> columns) {
      TreeSet<String> names = new TreeSet<>();
      columns.values().forEach(m -> names.addAll(m.keySet()));
      List<Row> rows = new ArrayList<>();
      for (String name : names) {
        List<Double> values = new ArrayList<>();
        columns.values().forEach(m -> values.add(m.get(name)));
        rows.add(new Row(name, java.util.Collections.unmodifiableList(values)));
      }
      return new MetricTable(List.copyOf(columns.keySet()), List.copyOf(rows));
    }
  }

  /**
   * One model trained on the new data.
   *
   * @param runId its work directory and container name on the training host
   * @param inputs for each of code, environment, data: {@code VERIFIED} or why not
   * @param failure why it failed (exit code, timeout, an activity that could not run), or null
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Run(
      String modelSpec, String runId, ReplayReport.Inputs inputs, Map<String, String> evidence, Long exitCode,
      Map<String, Double> metrics, String failure, List<String> logTail, TrainingLog log, String outputsUri) {}

  /** Every missed threshold, empty when all are met or none were recorded. */
  public List<String> missedThresholds() {
    return thresholds == null ? List.of()
        : thresholds.stream().filter(t -> !t.met()).map(ThresholdResult::violation).toList();
  }
}
