package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.domain.Verdict;

/** Output of {@link ReplayWorkflow}: the verdict, why, and where the full report is. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ReplayResult(String replayId, Verdict verdict, String reason, String reportUri) {}
