package dev.timemachine.core.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * What the training step runs: the recorded image and entry point, against the code and data that
 * the materialize steps verified for this replay (found by replay id on the training host), and how
 * to collect its outputs: the recorded rules (empty, and null in histories from before rules existed:
 * the whole output directory) and the recorded name of the metrics file among them.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record TrainingSpec(
    String replayId, ImageRef image, CodeRef code, String metricsFile, TrainingLimits limits, List<OutputRule> outputRules) {
  public TrainingSpec {
    outputRules = outputRules == null ? List.of() : List.copyOf(outputRules);
  }
}
