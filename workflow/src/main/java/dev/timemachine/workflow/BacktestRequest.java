package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.timemachine.core.model.UpstreamRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.TrainingLimits;
import java.util.List;

/**
 * Input of {@link BacktestWorkflow}: which version to retrain on which snapshot, against which other
 * versions, under which id and limits.
 *
 * @param newData the new snapshot, by reference (URI and root digest, no file list); the training host
 *     verifies every file against it
 * @param against specs of versions trained on the same snapshot for comparison; empty for none
 * @param upstreamOverride upstream artifacts that take the place of the backtested version's own
 *     (matched by {@link UpstreamRef#name()}): {@code backtest encoder@3 --downstream} puts the new
 *     encoder's artifact where the old one was; empty for none
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record BacktestRequest(
    String backtestId,
    String modelSpec,
    DataRef newData,
    List<String> against,
    TrainingLimits limits,
    String trainingTaskQueue,
    int heartbeatTimeoutSeconds,
    @JsonInclude(JsonInclude.Include.NON_EMPTY) List<UpstreamRef> upstreamOverride,
    @JsonInclude(JsonInclude.Include.NON_NULL) String mode) {
  /** {@code backtest --retrain}, the default (null in the request): the old code trains on the new data. */
  public static final String RETRAIN = "retrain";
  /**
   * {@code backtest --evaluate}: the old artifacts, restored from the store and verified by sha256, are
   * scored on the new data by the version's recorded evaluate entry point; nothing is trained.
   */
  public static final String EVALUATE = "evaluate";
  /** Where an evaluation finds the version's own artifacts: {@code /upstream/model}, also {@code $TIMEMACHINE_MODEL}. */
  public static final String MODEL_SLOT = "model";

  public BacktestRequest(
      String backtestId, String modelSpec, DataRef newData, List<String> against, TrainingLimits limits,
      String trainingTaskQueue, int heartbeatTimeoutSeconds, List<UpstreamRef> upstreamOverride) {
    this(backtestId, modelSpec, newData, against, limits, trainingTaskQueue, heartbeatTimeoutSeconds, upstreamOverride,
        null);
  }

  public BacktestRequest withMode(String newMode) {
    return new BacktestRequest(backtestId, modelSpec, newData, against, limits, trainingTaskQueue, heartbeatTimeoutSeconds,
        upstreamOverride, newMode);
  }

  public boolean evaluates() {
    return EVALUATE.equals(mode);
  }

  public BacktestRequest {
    if (mode != null && !mode.equals(RETRAIN) && !mode.equals(EVALUATE)) {
      throw dev.timemachine.core.errors.TimemachineException.invalidInput(
          "backtest mode must be " + RETRAIN + " or " + EVALUATE + ", not " + mode);
    }
    mode = RETRAIN.equals(mode) ? null : mode;
    against = against == null ? List.of() : List.copyOf(against);
    upstreamOverride = UpstreamRef.requireDistinct(upstreamOverride);
  }

  public BacktestRequest(
      String backtestId, String modelSpec, DataRef newData, List<String> against, TrainingLimits limits,
      String trainingTaskQueue, int heartbeatTimeoutSeconds) {
    this(backtestId, modelSpec, newData, against, limits, trainingTaskQueue, heartbeatTimeoutSeconds, List.of());
  }

  /**
   * The upstream artifacts the backtested version trains with: its recorded ones, each replaced by the
   * override of the same name; an override whose name the version does not consume is refused.
   */
  public List<UpstreamRef> upstreamFor(List<UpstreamRef> recorded) {
    List<UpstreamRef> result = new java.util.ArrayList<>();
    java.util.Set<String> used = new java.util.HashSet<>();
    for (UpstreamRef u : recorded) {
      UpstreamRef replacement = upstreamOverride.stream().filter(o -> o.name().equals(u.name())).findFirst().orElse(null);
      if (replacement != null) {
        used.add(u.name());
        result.add(u.replacedBy(replacement));
      } else {
        result.add(u);
      }
    }
    for (UpstreamRef o : upstreamOverride) {
      if (!used.contains(o.name())) {
        throw dev.timemachine.core.errors.TimemachineException.invalidInput(modelSpec + " consumes no upstream artifact named '"
            + o.name() + "' (it consumes " + recorded.stream().map(UpstreamRef::toString).toList() + ")");
      }
    }
    return List.copyOf(result);
  }

  public java.time.Duration heartbeatTimeout() {
    return java.time.Duration.ofSeconds(
        heartbeatTimeoutSeconds > 0 ? heartbeatTimeoutSeconds : ReplayRequest.DEFAULT_HEARTBEAT_TIMEOUT_SECONDS);
  }
}
