package dev.timemachine.workflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.fleet.Change;
import dev.timemachine.core.fleet.FleetIds;
import dev.timemachine.core.fleet.FleetSummary;
import dev.timemachine.core.fleet.Selection;
import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.model.TrainingLimits;
import io.temporal.api.enums.v1.WorkflowExecutionStatus;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.failure.CanceledFailure;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class FleetReplayWorkflowTest {
  static final String QUEUE = "control";
  static final String FLEET_ID = "fleet-test-1";

  private TestWorkflowEnvironment env;
  private final FakeFleet.Activities activities = new FakeFleet.Activities();

  @BeforeEach
  void start() {
    FakeFleet.Child.reset();
    env = TestWorkflowEnvironment.newInstance();
    ReplayWorkflowTest.registerSearchAttributes(env);
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(FleetReplayWorkflowImpl.class, FakeFleet.Child.class);
    worker.registerActivitiesImplementations(activities);
    env.start();
  }

  /** With {@code -Dtimemachine.recordHistories=DIR}, writes the fleet's history to DIR/fleet (see ReplayWorkflowTest). */
  @AfterEach
  void close(org.junit.jupiter.api.TestInfo test) throws java.io.IOException {
    String dir = System.getProperty("timemachine.recordHistories");
    if (dir != null && test.getTestMethod().isPresent()) {
      java.nio.file.Path target = java.nio.file.Path.of(dir, "fleet");
      java.nio.file.Files.createDirectories(target);
      java.nio.file.Files.writeString(target.resolve(test.getTestMethod().get().getName() + ".json"),
          env.getWorkflowClient().fetchHistory(FLEET_ID).toJson(true));
    }
    env.close();
  }

  private FleetReplayWorkflow stub() {
    return env.getWorkflowClient().newWorkflowStub(
        FleetReplayWorkflow.class, WorkflowOptions.newBuilder().setWorkflowId(FLEET_ID).setTaskQueue(QUEUE).build());
  }

  private static FleetRequest request(int concurrency, int batchSize) {
    return new FleetRequest("nightly", "churn@*", concurrency, "manual", "Europe/Berlin", TrainingLimits.DEFAULT, "training",
        0, true, batchSize, null);
  }

  private FleetSummary summary() {
    assertThat(activities.summaries).as("summaries written").hasSize(1);
    return activities.summaries.get(0);
  }

  @Test
  void every_selected_version_is_replayed_as_a_child_with_at_most_concurrency_in_flight() {
    activities.specs = List.of("ok@1", "ok@2", "bad@3", "ok@4", "ok@5", "ok@6");
    activities.excluded = List.of(new Selection.Excluded("mlflow:churn/7", "run r7 has no tag timemachine.image"));

    FleetResult result = stub().run(request(2, 0));

    FleetSummary summary = summary();
    assertThat(summary.entries()).extracting(FleetSummary.Entry::spec).containsExactlyElementsOf(activities.specs);
    assertThat(summary.entries()).extracting(FleetSummary.Entry::replayId)
        .allMatch(id -> id.matches("replay-(ok|bad)-\\d-" + summary.night()));
    assertThat(summary.night()).matches("\\d{8}");
    assertThat(FakeFleet.Child.started).as("children started").hasSize(6);
    assertThat(FakeFleet.Child.maxRunning.get()).as("most replays in flight at once").isEqualTo(2);
    assertThat(summary.verdicts()).containsEntry("REPRODUCED_BITWISE", 5).containsEntry("DIVERGED", 1);
    assertThat(summary.changes()).containsEntry(Change.FIRST_RUN, 6);
    assertThat(summary.excluded()).singleElement().satisfies(e -> assertThat(e.reason()).contains("timemachine.image"));
    assertThat(summary.entries()).allMatch(e -> e.durationMs() >= Duration.ofMinutes(10).toMillis());
    assertThat(result.total()).isEqualTo(6);
    assertThat(result.newFailures()).as("on the first night, the version that did not reproduce")
        .containsExactly("bad@3");
    assertThat(activities.alerts).as("the first night's failure is alerted").hasSize(1);
    assertThat(result.fleetId()).startsWith("nightly-" + summary.night() + "-");
  }

  @Test
  void a_version_whose_inputs_are_gone_is_inputs_unverifiable_before_any_replay_starts() {
    activities.specs = List.of("ok@1", "gone@2", "ok@3");

    FleetResult result = stub().run(request(2, 0));

    assertThat(activities.checked).as("one pre-flight check per batch, before the replays")
        .containsExactly(List.of("ok@1", "gone@2", "ok@3"));
    assertThat(FakeFleet.Child.started).as("children started").hasSize(2)
        .noneMatch(id -> id.startsWith("replay-gone-2"));
    FleetSummary.Entry gone = summary().entries().get(1);
    assertThat(gone.verdict()).isEqualTo("INPUTS_UNVERIFIABLE");
    assertThat(gone.reason()).as("the reason names the missing input").contains("image registry.test/gone").contains("pre-flight");
    assertThat(gone.reportUri()).as("no replay, no report").isNull();
    assertThat(result.verdicts()).containsEntry("INPUTS_UNVERIFIABLE", 1).containsEntry("REPRODUCED_BITWISE", 2);
    String first = summary().entries().get(0).replayId();
    var child = env.getWorkflowClient().newUntypedWorkflowStub(first).describe().getTypedSearchAttributes();
    assertThat(child.get(SearchAttributes.TRIGGER)).as("a fleet's replay is indexed as triggered by the fleet").isEqualTo("fleet");
    assertThat(child.get(SearchAttributes.MODEL)).isEqualTo("ok");
    assertThat(child.get(SearchAttributes.VERSION)).isEqualTo("1");
  }

  @Test
  void a_pre_flight_check_that_fails_leaves_every_version_to_its_replay() {
    activities.specs = List.of("ok@1", "gone@2");
    activities.preflightFailure = io.temporal.failure.ApplicationFailure.newNonRetryableFailure(
        "the model registry at http://127.0.0.1:5050 did not answer", "UNAVAILABLE");

    FleetResult result = stub().run(request(2, 0));

    assertThat(activities.checked).as("the check was tried").hasSize(1);
    assertThat(FakeFleet.Child.started).as("an outage of the check is no verdict: both replayed").hasSize(2);
    assertThat(result.verdicts()).containsEntry("REPRODUCED_BITWISE", 2).doesNotContainKey("INPUTS_UNVERIFIABLE");
  }

  @Test
  void a_large_fleet_continues_as_new_in_batches_and_keeps_every_entry() {
    activities.specs = List.of("ok@1", "ok@2", "ok@3", "ok@4", "ok@5", "ok@6", "ok@7");

    FleetResult result = stub().run(request(2, 3));

    assertThat(activities.parts).as("one part per run").hasSize(3);
    assertThat(summary().entries()).extracting(FleetSummary.Entry::spec).containsExactlyElementsOf(activities.specs);
    assertThat(FakeFleet.Child.maxRunning.get()).isLessThanOrEqualTo(2);
    assertThat(result.total()).isEqualTo(7);
    var history = env.getWorkflowClient().fetchHistory(FLEET_ID);
    assertThat(history.getEvents()).as("the last run holds only its own batch")
        .filteredOn(e -> e.hasStartChildWorkflowExecutionInitiatedEventAttributes()).hasSize(1);
  }

  @Test
  void a_rerun_of_the_same_night_reuses_the_replays_that_finished() {
    activities.specs = List.of("ok@1", "ok@2");
    String night = java.time.ZonedDateTime.ofInstant(Instant.ofEpochMilli(env.currentTimeMillis()),
        java.time.ZoneId.of("Europe/Berlin")).format(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd"));
    String done = FleetIds.replayId("ok@1", night);
    activities.finished.put(done, new ReplayResult(done, Verdict.REPRODUCED_BITWISE, "identical", "mem://r1"));

    stub().run(request(4, 0));

    assertThat(FakeFleet.Child.started).as("children started").containsExactly(FleetIds.replayId("ok@2", night));
    assertThat(summary().entries().get(0)).satisfies(e -> {
      assertThat(e.reused()).isTrue();
      assertThat(e.reportUri()).isEqualTo("mem://r1");
    });
    assertThat(summary().entries().get(1).reused()).isFalse();
  }

  @Test
  void a_version_that_reproduced_last_night_and_diverges_tonight_is_a_new_failure() {
    activities.specs = List.of("bad@1", "ok@2", "ok@3");
    activities.previous = FleetSummary.of("nightly-20261122-20261122T020000", "nightly", "x", "20261122", "schedule",
        Instant.EPOCH, Instant.EPOCH,
        List.of(entry("bad@1", "REPRODUCED_BITWISE"), entry("ok@2", "DIVERGED")), List.of(), null);

    FleetResult result = stub().run(request(3, 0));

    assertThat(result.newFailures()).containsExactly("bad@1");
    assertThat(summary().entries()).extracting(FleetSummary.Entry::change)
        .containsExactly(Change.NEW_FAILURE, Change.RECOVERED, Change.FIRST_RUN);
    assertThat(summary().entries().get(0).previousVerdict()).isEqualTo("REPRODUCED_BITWISE");
    assertThat(summary().previousFleetId()).isEqualTo("nightly-20261122-20261122T020000");
    assertThat(activities.alerts).as("alerts sent").containsExactly(result.fleetId());
  }

  @Test
  void an_alert_that_cannot_be_delivered_does_not_fail_the_fleet() {
    activities.specs = List.of("bad@1");
    activities.previous = FleetSummary.of("nightly-20261122-20261122T020000", "nightly", "x", "20261122", "schedule",
        Instant.EPOCH, Instant.EPOCH, List.of(entry("bad@1", "REPRODUCED_BITWISE")), List.of(), null);
    activities.alertFailure = io.temporal.failure.ApplicationFailure.newNonRetryableFailure(
        "the alert webhook answered 404", "CONFIGURATION");

    FleetResult result = stub().run(request(1, 0));

    assertThat(result.newFailures()).containsExactly("bad@1");
    assertThat(activities.alerts).hasSize(1);
  }

  @Test
  void a_replay_that_fails_is_an_error_entry_and_the_fleet_goes_on() {
    activities.specs = List.of("ghost@1", "ok@2");

    FleetResult result = stub().run(request(1, 0));

    assertThat(summary().entries().get(0)).satisfies(e -> {
      assertThat(e.verdict()).isEqualTo(FleetSummary.ERROR);
      assertThat(e.reason()).contains("ghost@1 is not registered");
    });
    assertThat(summary().entries().get(1).verdict()).isEqualTo("REPRODUCED_BITWISE");
    assertThat(result.verdicts()).containsEntry("ERROR", 1);
  }

  @Test
  void cancelling_the_fleet_cancels_the_replays_in_flight() throws Exception {
    activities.specs = List.of("slow@1", "slow@2", "ok@3");
    WorkflowClient client = env.getWorkflowClient();
    FleetReplayWorkflow fleet = stub();
    WorkflowClient.start(fleet::run, request(2, 0));
    env.sleep(Duration.ofMinutes(1));
    assertThat(FakeFleet.Child.started).as("children started before the cancel").hasSize(2);

    WorkflowStub.fromTyped(fleet).cancel();

    assertThatThrownBy(() -> WorkflowStub.fromTyped(fleet).getResult(FleetResult.class))
        .isInstanceOf(WorkflowFailedException.class).hasCauseInstanceOf(CanceledFailure.class);
    for (String child : List.copyOf(FakeFleet.Child.started)) {
      // The parent's cancellation reaches its children asynchronously: wait for it, under load too.
      WorkflowExecutionStatus status = null;
      for (int i = 0; i < 100 && status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED; i++) {
        if (i > 0) {
          Thread.sleep(100);
        }
        status = env.getWorkflowServiceStubs().blockingStub().describeWorkflowExecution(
            DescribeWorkflowExecutionRequest.newBuilder().setNamespace(env.getNamespace())
                .setExecution(io.temporal.api.common.v1.WorkflowExecution.newBuilder().setWorkflowId(child).build())
                .build()).getWorkflowExecutionInfo().getStatus();
      }
      assertThat(status).as("status of child %s", child).isEqualTo(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED);
    }
    assertThat(FakeFleet.Child.started).as("no replay started after the cancel").hasSize(2);
    assertThat(activities.summaries).as("no summary for a cancelled fleet").isEmpty();
  }

  private static FleetSummary.Entry entry(String spec, String verdict) {
    return new FleetSummary.Entry(spec, "replay-" + spec, verdict, "", null, false, 1, null, null);
  }
}
