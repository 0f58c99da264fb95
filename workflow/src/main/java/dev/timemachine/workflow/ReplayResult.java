package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.grading.Verdict;

/**
 * Output of {@link ReplayWorkflow}: the verdict, why, and where the full report is.
 *
 * @param writeBackProblem why the verdict could not be written back to the registry, or null when it
 *     was (or was skipped); a failed write-back never changes the verdict, but the user should know
 * @param failedService for verdict {@code ERROR}, the service that failed (e.g. {@code image registry
 *     127.0.0.1:5055}); null otherwise
 * @param reportUri where the report is; null only when the report itself could not be written (then the
 *     verdict is {@code ERROR} and the reason says what the verdict would have been)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ReplayResult(
    String replayId, Verdict verdict, String reason, String reportUri, String writeBackProblem, String failedService) {
  public ReplayResult(String replayId, Verdict verdict, String reason, String reportUri) {
    this(replayId, verdict, reason, reportUri, null, null);
  }

  public ReplayResult(String replayId, Verdict verdict, String reason, String reportUri, String writeBackProblem) {
    this(replayId, verdict, reason, reportUri, writeBackProblem, null);
  }
}
