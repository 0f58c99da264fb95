package dev.timemachine.workflow;

import dev.timemachine.domain.Comparison;
import dev.timemachine.domain.ModelVersion;
import dev.timemachine.domain.RecordedOutputs;
import dev.timemachine.domain.ReplayReport;
import dev.timemachine.domain.TrainingResult;
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
