package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.fleet.Selection;
import dev.timemachine.core.model.TrainingLimits;
import java.util.List;

/**
 * Input of {@link FleetReplayWorkflow}.
 *
 * @param name the fleet's name (a schedule's name, or {@code fleet}); summaries of the same name are
 *     compared night to night
 * @param selector which versions to replay (see {@code core.fleet.Selector})
 * @param concurrency at most this many replays in flight (0: 4)
 * @param trigger who started it: manual, schedule, backtest
 * @param timeZone the zone whose calendar day names the night (null: UTC)
 * @param batchSize versions per run before continue-as-new (0: 100), so a fleet of thousands stays
 *     well within Temporal's history limits
 * @param state null when started; the progress carried across continue-as-new
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record FleetRequest(
    String name,
    String selector,
    int concurrency,
    String trigger,
    String timeZone,
    TrainingLimits limits,
    String trainingTaskQueue,
    int heartbeatTimeoutSeconds,
    boolean skipWriteBack,
    int batchSize,
    State state) {
  public static final int DEFAULT_CONCURRENCY = 4;
  public static final int DEFAULT_BATCH = 100;

  /**
   * @param specs the selected versions, fixed when the fleet started (a champion alias that moves
   *     mid-run does not change tonight's fleet)
   * @param offset how many of them earlier runs handled
   * @param parts how many parts earlier runs wrote
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record State(
      String fleetId, String night, long startedAtMillis, List<String> specs, List<Selection.Excluded> excluded,
      int offset, int parts) {}

  public FleetRequest withState(State next) {
    return new FleetRequest(name, selector, concurrency, trigger, timeZone, limits, trainingTaskQueue,
        heartbeatTimeoutSeconds, skipWriteBack, batchSize, next);
  }

  public int effectiveConcurrency() {
    return concurrency > 0 ? concurrency : DEFAULT_CONCURRENCY;
  }

  public int effectiveBatchSize() {
    return batchSize > 0 ? batchSize : DEFAULT_BATCH;
  }

  public String effectiveName() {
    return name == null || name.isBlank() ? "fleet" : name;
  }
}
