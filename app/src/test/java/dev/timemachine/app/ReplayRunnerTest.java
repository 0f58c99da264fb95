package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import io.temporal.api.enums.v1.PendingActivityState;
import io.temporal.api.workflow.v1.PendingActivityInfo;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ReplayRunnerTest {
  private static final long NOW = 1_800_000_000L;

  private static PendingActivityInfo running(long startedAgo, long heartbeatAgo) {
    return PendingActivityInfo.newBuilder()
        .setState(PendingActivityState.PENDING_ACTIVITY_STATE_STARTED)
        .setLastStartedTime(Timestamp.newBuilder().setSeconds(NOW - startedAgo))
        .setLastHeartbeatTime(Timestamp.newBuilder().setSeconds(NOW - heartbeatAgo))
        .build();
  }

  @Test
  void a_step_heard_from_lately_gets_no_note() {
    assertThat(ReplayRunner.silenceNote(running(120, 4), NOW, 60)).isEmpty();
  }

  @Test
  void a_silent_step_is_called_out_in_steps_of_ten_seconds_with_the_retry_deadline() {
    assertThat(ReplayRunner.silenceNote(running(120, 37), NOW, 60))
        .isEqualTo(" (no heartbeat for 30+ s: its worker may be down; Temporal retries the step after 60 s of silence)");
  }

  @Test
  void a_retried_attempt_counts_from_its_own_start_not_from_the_dead_attempts_last_heartbeat() {
    assertThat(ReplayRunner.silenceNote(running(2, 70), NOW, 60)).as("attempt started 2 s ago").isEmpty();
  }

  @Test
  void a_step_that_waits_to_be_scheduled_is_not_silent() {
    PendingActivityInfo scheduled =
        running(120, 90).toBuilder().setState(PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED).build();
    assertThat(ReplayRunner.silenceNote(scheduled, NOW, 60)).isEmpty();
  }
}
