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
import io.temporal.activity.Activity;
import java.util.Arrays;

/** Registry, comparison and report steps; thin over the ports. */
public final class ControlActivitiesImpl implements ControlActivities {
  private final ModelRegistry registry;
  private final ObjectStore reports;

  /**
   * @param registry resolves model specs (a router over the built-in and MLflow registries)
   * @param reports the store reports are written to, under {@code reports/<replayId>.json}
   */
  public ControlActivitiesImpl(ModelRegistry registry, ObjectStore reports) {
    this.registry = registry;
    this.reports = reports;
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
          return reports.uriOf(key);
        });
  }

  @Override
  public void recordVerdict(String modelSpec, ReplayReport report, String reportUri) {
    Failures.run(registryService(modelSpec), () -> registry.recordVerdict(modelSpec, report, reportUri));
  }

  private static String registryService(String modelSpec) {
    return "the model registry of " + modelSpec;
  }
}
