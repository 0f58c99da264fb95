package dev.timemachine.core.grading;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * One recorded metric against its rebuilt value; {@code rebuilt} and the deltas are null when the
 * rebuilt run did not report it. {@code relDelta} is {@code absDelta / |recorded|}, null if recorded is 0.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record MetricComparison(
    String name, double recorded, Double rebuilt, Double absDelta, Double relDelta, String tolerance, boolean within) {}
