package dev.timemachine.core.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * What the training step runs: the recorded image and entry point, against the code and data that
 * the materialize steps verified for this replay (found by replay id on the training host), and how
 * to collect its outputs: the recorded rules (empty, and null in histories from before rules existed:
 * the whole output directory) and the recorded name of the metrics file among them.
 *
 * <p>{@code recordedArtifacts} names the version's recorded artifacts: those are always kept as
 * evidence, while an output nobody recorded is kept only up to {@link #MAX_KEPT_UNRECORDED_BYTES}
 * (above it, it is hashed and listed in the report, not stored for good). Null, as in histories from
 * before it existed and in backtests: every output is kept.
 *
 * <p>{@code upstream}: the artifacts of other model versions the training consumes, restored and
 * verified with the data, mounted read-only at {@value UpstreamRef#MOUNT}; empty for most.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record TrainingSpec(
    String replayId, ImageRef image, CodeRef code, String metricsFile, TrainingLimits limits, List<OutputRule> outputRules,
    List<String> recordedArtifacts,
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_EMPTY)
        List<UpstreamRef> upstream) {
  /** 64 MiB: what an unrecorded output may weigh and still be kept in the evidence store. */
  public static final long MAX_KEPT_UNRECORDED_BYTES = 64L << 20;

  public TrainingSpec {
    outputRules = outputRules == null ? List.of() : List.copyOf(outputRules);
    recordedArtifacts = recordedArtifacts == null ? null : List.copyOf(recordedArtifacts);
    upstream = UpstreamRef.requireDistinct(upstream);
  }

  public TrainingSpec(
      String replayId, ImageRef image, CodeRef code, String metricsFile, TrainingLimits limits, List<OutputRule> outputRules,
      List<String> recordedArtifacts) {
    this(replayId, image, code, metricsFile, limits, outputRules, recordedArtifacts, List.of());
  }

  public TrainingSpec(
      String replayId, ImageRef image, CodeRef code, String metricsFile, TrainingLimits limits, List<OutputRule> outputRules) {
    this(replayId, image, code, metricsFile, limits, outputRules, null);
  }

  /** Whether an output of this name and size goes to the evidence store. */
  public boolean keeps(String path, long size) {
    return recordedArtifacts == null || recordedArtifacts.contains(path) || size <= MAX_KEPT_UNRECORDED_BYTES;
  }
}
