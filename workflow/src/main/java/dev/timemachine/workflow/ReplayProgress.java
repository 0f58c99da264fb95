package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/** What a running replay is doing, for progress displays. Times are workflow time in epoch millis. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ReplayProgress(String step, long stepStartedAtMillis, List<String> finishedSteps) {}
