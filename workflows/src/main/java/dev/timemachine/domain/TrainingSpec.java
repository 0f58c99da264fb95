package dev.timemachine.domain;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * What the training step runs: the recorded image and entry point, against the code and data that
 * the materialize steps verified for this replay (found by replay id on the training host).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record TrainingSpec(String replayId, ImageRef image, CodeRef code, String metricsFile, TrainingLimits limits) {}
