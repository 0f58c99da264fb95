package dev.timemachine.activities;

import dev.timemachine.workflow.Failures;
import dev.timemachine.core.model.ReplayIds;

import dev.timemachine.core.grading.Comparison;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.TrainingResult;
import dev.timemachine.core.ports.ModelRegistry;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.workflow.ControlActivities;
import dev.timemachine.core.data.Digests;
import dev.timemachine.core.evidence.Attestations;
import dev.timemachine.core.evidence.HistoryChain;
import dev.timemachine.core.evidence.ReplayStatement;
import dev.timemachine.core.evidence.Signer;
import dev.timemachine.core.grading.MetricComparison;
import io.temporal.activity.Activity;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/** Registry, comparison and report steps; thin over the ports. */
public final class ControlActivitiesImpl implements ControlActivities {
  private final ModelRegistry registry;
  private final ObjectStore reports;
  private final Signer signer;
  private final String version;
  private final java.util.function.Supplier<String> workerBuildId;

  /** Without a signing key: attestations are written unsigned and say so. */
  public ControlActivitiesImpl(ModelRegistry registry, ObjectStore reports) {
    this(registry, reports, null, "dev", () -> "dev:unknown");
  }

  /**
   * @param registry resolves model specs (a router over the built-in and MLflow registries)
   * @param reports the store reports are written to, under {@code reports/<replayId>.json}, with their
   *     attestations ({@code reports/<replayId>.intoto.json}) and the verdict history ({@code history/})
   * @param signer signs every attestation; null for a worker started with {@code --unsigned}
   * @param version timemachine's version, and {@code workerBuildId} the sha256 of this worker's jar,
   *     both named in every attestation as its verifier; asked for when the first attestation is written
   *     (hashing the jar takes a while, and need not delay a worker's start)
   */
  public ControlActivitiesImpl(
      ModelRegistry registry, ObjectStore reports, Signer signer, String version,
      java.util.function.Supplier<String> workerBuildId) {
    this.registry = registry;
    this.reports = reports;
    this.signer = signer;
    this.version = version;
    this.workerBuildId = workerBuildId;
  }

  public static String reportKey(String replayId) {
    return "reports/" + ReplayIds.require(replayId) + ".json";
  }

  @Override
  public ModelVersion resolve(String modelSpec) {
    var context = Activity.getExecutionContext();
    return Failures.call(registryService(modelSpec), () -> registry.resolve(modelSpec, message -> context.heartbeat("resolve: " + message)).forWorkflow());
  }

  @Override
  public Comparison compare(RecordedOutputs recorded, TrainingResult rebuilt) {
    return Comparison.of(recorded, rebuilt);
  }

  @Override
  public String writeReport(ReplayReport report) {
    return Failures.call(
        "the report store " + reports.rootUri(),
        () -> {
          String key = reportKey(report.replayId());
          byte[] content = Json.toBytes(report);
          if (!reports.putIfAbsent(key, content) && !Arrays.equals(reports.getBytes(key), content)) {
            throw TimemachineException.conflict(
                "a different report already exists at " + reports.uriOf(key),
                "reports are immutable; replay again under a new replay id");
          }
          byte[] attestation = attest(report, content);
          if (report.model() != null) {
            new HistoryChain(reports).append(historyRecord(report, content, attestation));
          }
          return reports.uriOf(key);
        });
  }

  private byte[] attest(ReplayReport report, byte[] content) {
    String workflowId = null;
    String runId = null;
    try {
      var info = Activity.getExecutionContext().getInfo();
      workflowId = info.getWorkflowId();
      runId = info.getRunId();
    } catch (IllegalStateException notInAnActivity) {
      // Called directly (a test); the statement then names no workflow.
    }
    return new Attestations(reports, signer).write(report.replayId(), content,
        new ReplayStatement.Context(version, workerBuildId.get(), workflowId, runId, signer != null));
  }

  private static HistoryChain.Record historyRecord(ReplayReport report, byte[] content, byte[] attestation) {
    Map<String, Double> deltas = new TreeMap<>();
    for (MetricComparison m : report.metrics()) {
      if (m.absDelta() != null) {
        deltas.put(m.name(), m.rebuilt() - m.recorded());
      }
    }
    return new HistoryChain.Record(HistoryChain.SCHEMA, 0, report.model(), report.replayId(), report.modelSpec(),
        report.verdict().name(), report.finishedAt() == null ? null : report.finishedAt().toString(),
        Digests.sha256Hex(content), Digests.sha256Hex(attestation), deltas, null);
  }

  @Override
  public void recordVerdict(String modelSpec, ReplayReport report, String reportUri) {
    Failures.run(registryService(modelSpec), () -> registry.recordVerdict(modelSpec, report, reportUri));
  }

  private static String registryService(String modelSpec) {
    return "the model registry of " + modelSpec;
  }
}
