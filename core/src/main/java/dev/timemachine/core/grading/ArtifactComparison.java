package dev.timemachine.core.grading;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/** One recorded artifact against its rebuilt twin; {@code rebuiltSha256} is null when it was not rebuilt. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ArtifactComparison(String path, String recordedSha256, String rebuiltSha256, boolean identical) {}
