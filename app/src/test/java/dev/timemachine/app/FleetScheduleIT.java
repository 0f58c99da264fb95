package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.fleet.FleetSummary;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.samples.Services;
import dev.timemachine.workflow.FleetResult;
import io.temporal.client.schedules.ScheduleActionExecutionStartWorkflow;
import io.temporal.client.schedules.ScheduleActionResult;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fleet schedule of its own unique name on the real Temporal dev server (the SDK's test server has
 * no Schedules): created, triggered, backfilled for a missed night, and deleted. Its worker serves a
 * task queue of its own, so it never takes work of anyone else on the shared server.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class FleetScheduleIT {
  private static final String ADDRESS = "127.0.0.1:7233";

  @TempDir Path home;

  @Test
  void a_schedule_is_created_triggered_backfilled_for_a_missed_night_and_deleted() throws Exception {
    if (!Services.listening(7233)) {
      throw new IllegalStateException("the Temporal dev server is not listening on " + ADDRESS + ": run scripts/temporal.sh up");
    }
    String unique = UUID.randomUUID().toString().substring(0, 8);
    String name = "it-nightly-" + unique;
    Config config = Config.fromEnvironment(Map.of(
        "TEMPORAL_ADDRESS", ADDRESS,
        "TIMEMACHINE_HOME", home.toString(),
        "TIMEMACHINE_CONTROL_QUEUE", "it-fleet-control-" + unique,
        "TIMEMACHINE_TRAINING_QUEUE", "it-fleet-training-" + unique));
    try (Components components = new Components(config);
        TemporalRuntime temporal = TemporalRuntime.connect(config)) {
      temporal.startWorkers(components, EnumSet.of(TemporalRuntime.Queue.CONTROL));
      FleetSchedules schedules = new FleetSchedules(temporal, config);
      var request = new FleetRunner(temporal, config)
          .request(name, "ghost-" + unique + "@1", 2, "schedule", "Europe/Berlin", TrainingLimits.DEFAULT, false);
      schedules.create(name, new FleetSchedules.Settings("0 2 * * *", "Europe/Berlin", Duration.ofMinutes(5), Duration.ofHours(6)),
          request);
      try {
        // Listing goes through visibility, which is eventually consistent: a loaded server lists a new schedule late.
        var listed = schedules.list();
        for (int i = 0; i < 40 && listed.stream().noneMatch(s -> s.getScheduleId().equals(name)); i++) {
          Thread.sleep(250);
          listed = schedules.list();
        }
        assertThat(listed).as("fleet schedules listed").anyMatch(s -> s.getScheduleId().equals(name));
        var described = schedules.describe(name);
        assertThat(described.getSchedule().getPolicy().getOverlap().name()).isEqualTo("SCHEDULE_OVERLAP_POLICY_SKIP");
        assertThat(described.getSchedule().getSpec().getTimeZoneName()).isEqualTo("Europe/Berlin");
        assertThat(described.getInfo().getNextActionTimes()).as("next runs").isNotEmpty();
        assertThatThrownBy(() -> schedules.create(name,
            new FleetSchedules.Settings("0 2 * * *", "UTC", Duration.ZERO, Duration.ofHours(1)), request))
            .isInstanceOf(TimemachineException.class)
            .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.CONFLICT));

        schedules.trigger(name);
        ScheduleActionResult triggered = awaitActions(schedules, name, 1).get(0);
        FleetSummary tonight = summaryOf(temporal, components, triggered);
        assertThat(tonight.trigger()).isEqualTo("schedule");
        assertThat(tonight.night()).as("the night is the day it was due, in the schedule's zone")
            .isEqualTo(triggered.getScheduledAt().atZone(ZoneId.of("Europe/Berlin")).format(DateTimeFormatter.ofPattern("yyyyMMdd")));
        assertThat(tonight.entries()).isEmpty();
        assertThat(tonight.excluded()).singleElement()
            .satisfies(e -> assertThat(e.reason()).isEqualTo("not found in the manifest registry"));

        // A missed night: 2026-11-20 02:00 Berlin is 01:00 UTC.
        schedules.backfill(name, Instant.parse("2026-11-20T00:00:00Z"), Instant.parse("2026-11-20T12:00:00Z"));
        ScheduleActionResult backfilled = awaitActions(schedules, name, 2).get(1);
        FleetSummary missed = summaryOf(temporal, components, backfilled);
        assertThat(backfilled.getScheduledAt()).as("due at 02:00 Berlin plus at most the jitter")
            .isBetween(Instant.parse("2026-11-20T01:00:00Z"), Instant.parse("2026-11-20T01:05:00Z"));
        assertThat(missed.night()).as("a backfill replays the night it stands for").isEqualTo("20261120");
        assertThat(missed.fleetId()).startsWith(name + "-20261120-");
      } finally {
        schedules.delete(name);
      }
      assertThatThrownBy(() -> schedules.describe(name)).isInstanceOf(TimemachineException.class)
          .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.NOT_FOUND));
    }
  }

  private static List<ScheduleActionResult> awaitActions(FleetSchedules schedules, String name, int count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      List<ScheduleActionResult> recent = schedules.describe(name).getInfo().getRecentActions();
      if (recent.size() >= count) {
        return recent;
      }
      Thread.sleep(500);
    }
    throw new AssertionError("schedule " + name + " did not start " + count + " run(s) within 60 s");
  }

  private static FleetSummary summaryOf(TemporalRuntime temporal, Components components, ScheduleActionResult action)
      throws Exception {
    String workflowId = ((ScheduleActionExecutionStartWorkflow) action.getAction()).getWorkflowId();
    FleetResult result = temporal.client().newUntypedWorkflowStub(workflowId)
        .getResultAsync(FleetResult.class).get(60, TimeUnit.SECONDS);
    assertThat(result.summaryUri()).endsWith("fleets/" + result.fleetId() + ".json");
    return FleetRunner.summary(components.store(), result.fleetId());
  }
}
