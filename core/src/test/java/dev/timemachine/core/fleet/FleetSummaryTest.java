package dev.timemachine.core.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class FleetSummaryTest {
  private static FleetSummary.Entry entry(String spec, String verdict) {
    return new FleetSummary.Entry(spec, FleetIds.replayId(spec, "20261123"), verdict, "", null, false, 5, null, null);
  }

  @Test
  void each_change_follows_from_the_two_verdicts() {
    assertThat(Change.of(null, "DIVERGED")).isEqualTo(Change.FIRST_RUN);
    assertThat(Change.of("REPRODUCED_BITWISE", "DIVERGED")).isEqualTo(Change.NEW_FAILURE);
    assertThat(Change.of("REPRODUCED_WITHIN_TOLERANCE", "ERROR")).isEqualTo(Change.NEW_FAILURE);
    assertThat(Change.of("TRAINING_FAILED", "REPRODUCED_BITWISE")).isEqualTo(Change.RECOVERED);
    assertThat(Change.of("ERROR", "INPUTS_UNVERIFIABLE")).isEqualTo(Change.STILL_FAILING);
    assertThat(Change.of("REPRODUCED_BITWISE", "REPRODUCED_WITHIN_TOLERANCE")).isEqualTo(Change.STILL_OK);
  }

  @Test
  void a_summary_counts_verdicts_and_changes_against_the_previous_one() {
    FleetSummary previous = FleetSummary.of("n-20261122-20261122T020000", "n", "*@latest", "20261122", "schedule",
        Instant.EPOCH, Instant.EPOCH, List.of(entry("a@1", "REPRODUCED_BITWISE"), entry("b@1", "DIVERGED")), List.of(), null);
    FleetSummary tonight = FleetSummary.of("n-20261123-20261123T020000", "n", "*@latest", "20261123", "schedule",
        Instant.ofEpochSecond(100), Instant.ofEpochSecond(160),
        List.of(entry("a@1", "DIVERGED"), entry("b@1", "DIVERGED"), entry("c@1", "REPRODUCED_BITWISE")), List.of(), previous);

    assertThat(tonight.entries()).extracting(FleetSummary.Entry::change)
        .containsExactly(Change.NEW_FAILURE, Change.STILL_FAILING, Change.FIRST_RUN);
    assertThat(tonight.verdicts()).containsEntry("DIVERGED", 2).containsEntry("REPRODUCED_BITWISE", 1);
    assertThat(tonight.newFailures()).extracting(FleetSummary.Entry::spec).containsExactly("a@1");
    assertThat(tonight.firstRunFailures()).as("c@1 is new and reproduced").isEmpty();
    assertThat(tonight.alerts()).extracting(FleetSummary.Entry::spec).containsExactly("a@1");
    FleetSummary firstNight = FleetSummary.of("n-20261121-20261121T020000", "n", "*@latest", "20261121", "schedule",
        Instant.EPOCH, Instant.EPOCH, List.of(entry("a@1", "REPRODUCED_BITWISE"), entry("b@1", "DIVERGED")), List.of(), null);
    assertThat(firstNight.alerts()).as("a version that fails on its first night is alerted")
        .extracting(FleetSummary.Entry::spec).containsExactly("b@1");
    assertThat(tonight.durationMs()).isEqualTo(60_000);
    assertThat(tonight.previousFleetId()).isEqualTo("n-20261122-20261122T020000");
  }

  @Test
  void replay_ids_are_per_version_and_night_and_stay_within_the_id_limit() {
    assertThat(FleetIds.replayId("mlflow:churn/3", "20261123")).isEqualTo("replay-mlflow-churn-3-20261123");
    assertThat(FleetIds.replayId("churn@3", "20261123")).isEqualTo("replay-churn-3-20261123");
    String longId = FleetIds.replayId("m".repeat(128) + "@1", "20261123");
    assertThat(longId).hasSize(128).endsWith("-20261123");
  }
}
