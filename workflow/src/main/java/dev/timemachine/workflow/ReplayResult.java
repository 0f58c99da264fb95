package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.grading.Verdict;

/**
 * Output of {@link ReplayWorkflow}: the verdict, why, and where the full report is.
 *
 * @param writeBackProblem why the verdict could not be written back to the registry, or null when it
 *     was (or was skipped); a failed write-back never changes the verdict, but the user should know
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ReplayResult(String replayId, Verdict verdict, String reason, String reportUri, String writeBackProblem) {
  public ReplayResult(String replayId, Verdict verdict, String reason, String reportUri) {
    this(replayId, verdict, reason, reportUri, null);
  }
}
