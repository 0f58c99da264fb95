package dev.timemachine.workflow;

import dev.timemachine.core.grading.Comparison;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.model.TrainingResult;
import io.temporal.activity.ActivityInterface;

/** Steps that need no training host: registry, comparison, report. They run on the control task queue. */
@ActivityInterface
public interface ControlActivities {
  /** Resolves a model spec to its version, without the data file list (see {@code ModelVersion#forWorkflow}). */
  ModelVersion resolve(String modelSpec);

  Comparison compare(RecordedOutputs recorded, TrainingResult rebuilt);

  /** Writes the report once under its replay id and returns its URI; an identical retry is a no-op. */
  String writeReport(ReplayReport report);

  /** Writes the verdict back to the registry the version came from. */
  void recordVerdict(String modelSpec, ReplayReport report, String reportUri);
}
