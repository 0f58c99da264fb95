package dev.timemachine.core.training;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.training.Leftovers.Decision;
import dev.timemachine.core.training.Leftovers.Kind;
import dev.timemachine.core.training.Leftovers.Leftover;
import dev.timemachine.core.training.Leftovers.Owner;
import dev.timemachine.core.training.Leftovers.WorkflowState;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LeftoversTest {
  private static final Owner DEAD = new Owner("h1", 100, 1_000);
  private static final Owner LIVE = new Owner("h1", 200, 2_000);
  private static final Owner ELSEWHERE = new Owner("h2", 300, 3_000);

  private static Decision decide(Leftover leftover, WorkflowState state) {
    return Leftovers.decide(List.of(leftover), "h1", LIVE::equals, id -> state).get(0);
  }

  private static Leftover container(Owner owner, boolean running) {
    return new Leftover(Kind.CONTAINER, "timemachine-train-r1", "r1", "wf-1", owner, running);
  }

  @Test
  void a_dead_owners_container_of_a_closed_or_forgotten_workflow_is_reaped() {
    assertThat(decide(container(DEAD, true), WorkflowState.CLOSED).reap()).isTrue();
    assertThat(decide(container(DEAD, true), WorkflowState.UNKNOWN).reap()).isTrue();
    assertThat(decide(container(DEAD, true), WorkflowState.UNKNOWN).why())
        .isEqualTo("its owner process 100 is gone and the Temporal server does not know workflow wf-1");
  }

  @Test
  void a_running_workflow_keeps_its_container_for_the_next_attempt_even_if_its_owner_died() {
    Decision d = decide(container(DEAD, true), WorkflowState.RUNNING);
    assertThat(d.reap()).isFalse();
    assertThat(d.why()).contains("still running");
  }

  @Test
  void a_live_owner_or_an_owner_on_another_host_keeps_it_whatever_the_server_says() {
    assertThat(decide(container(LIVE, true), WorkflowState.UNKNOWN).reap()).as("live owner").isFalse();
    assertThat(decide(container(ELSEWHERE, true), WorkflowState.CLOSED).reap()).as("other host").isFalse();
  }

  @Test
  void an_unreachable_server_reaps_nothing() {
    assertThat(decide(container(DEAD, false), WorkflowState.UNREACHABLE).reap()).isFalse();
    assertThat(decide(container(DEAD, false), null).reap()).isFalse();
  }

  @Test
  void a_running_container_without_an_owner_is_kept_unless_its_workflow_closed() {
    assertThat(decide(container(null, true), WorkflowState.UNKNOWN).reap()).as("unknown workflow").isFalse();
    assertThat(decide(container(null, false), WorkflowState.UNKNOWN).reap()).as("exited").isTrue();
    assertThat(decide(container(null, true), WorkflowState.CLOSED).reap()).as("closed").isTrue();
  }

  @Test
  void the_workflow_asked_about_is_the_labelled_one_or_else_the_replay_id() {
    Map<String, WorkflowState> states = Map.of("bt-1", WorkflowState.RUNNING, "bt-1-vs-1", WorkflowState.UNKNOWN);
    Leftover labelled = new Leftover(Kind.WORK_DIR, "/w/bt-1-vs-1", "bt-1-vs-1", "bt-1", DEAD, false);
    Leftover legacy = new Leftover(Kind.WORK_DIR, "/w/bt-1-vs-1", "bt-1-vs-1", null, null, false);
    assertThat(Leftovers.decide(List.of(labelled, legacy), "h1", o -> false, states::get))
        .extracting(Decision::reap).containsExactly(false, true);
  }

  @Test
  void owners_round_trip_and_garbage_is_no_owner() {
    assertThat(Owner.parse(DEAD.toString())).isEqualTo(DEAD);
    assertThat(Owner.parse("h1/x/1")).isNull();
    assertThat(Owner.parse("")).isNull();
    assertThat(Owner.parse(null)).isNull();
    assertThat(Owner.parse("/1/2")).isNull();
  }
}
