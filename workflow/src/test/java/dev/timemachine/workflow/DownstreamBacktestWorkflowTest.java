package dev.timemachine.workflow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.core.model.UpstreamRef;
import dev.timemachine.core.report.BacktestOutcome;
import dev.timemachine.core.report.DownstreamReport;
import io.temporal.client.WorkflowOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.testing.WorkflowReplayer;
import io.temporal.worker.Worker;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link DownstreamBacktestWorkflowImpl} on the test server with the backtest fakes: children run,
 * their metric tables become changes, a child that cannot run is an entry that says why. With
 * {@code -Dtimemachine.recordHistories=DIR} the history goes to DIR/downstream/; the committed ones
 * are replayed against the current code below.
 */
class DownstreamBacktestWorkflowTest {
  static final String ID = "downstream-test-1";
  private TestWorkflowEnvironment env;
  private final BacktestWorkflowTest.Fakes fakes = new BacktestWorkflowTest.Fakes();

  static UpstreamRef encoder(String version, char sha) {
    return new UpstreamRef("encoder", ModelRef.parse("encoder@" + version), "encoder.pkl", String.valueOf(sha).repeat(64),
        100, "file:///store");
  }

  static ModelVersion consumer(String name) {
    ModelVersion base = BacktestWorkflowTest.version(name, "1", Fixtures.COMMIT, BacktestWorkflowTest.CONTRACT);
    return new ModelVersion(ModelVersion.SCHEMA, base.model(),
        new Triplet(base.triplet().code(), base.triplet().environment(), base.triplet().data(), List.of(encoder("1", '1'))),
        base.recorded(), base.registeredAt(), base.contract());
  }

  static BacktestRequest child(String id, String spec) {
    return new BacktestRequest(id, spec, BacktestWorkflowTest.NEW_DATA, List.of(), TrainingLimits.DEFAULT, "training", 0,
        List.of(encoder("2", '2')));
  }

  @AfterEach
  void close(org.junit.jupiter.api.TestInfo test) throws IOException {
    String dir = System.getProperty("timemachine.recordHistories");
    if (dir != null && env != null && test.getTestMethod().isPresent()) {
      Path target = Files.createDirectories(Path.of(dir, "downstream"));
      Files.writeString(target.resolve(test.getTestMethod().get().getName() + ".json"),
          env.getWorkflowClient().fetchHistory(ID).toJson(true));
    }
    if (env != null) {
      env.close();
    }
  }

  @Test
  void every_downstream_model_is_backtested_with_the_new_artifact_and_a_gone_one_says_why() {
    fakes.versions.put("churn@1", consumer("churn"));
    fakes.versions.put("fraud@1", consumer("fraud"));
    fakes.results.put(ID + "-1", BacktestWorkflowTest.trained(0.80));
    fakes.results.put(ID + "-2", BacktestWorkflowTest.trained(0.95));
    env = TestWorkflowEnvironment.newInstance();
    Worker control = env.newWorker("control");
    control.registerWorkflowImplementationTypes(DownstreamBacktestWorkflowImpl.class, BacktestWorkflowImpl.class);
    control.registerActivitiesImplementations(fakes);
    env.newWorker("training").registerActivitiesImplementations(fakes);
    env.start();
    DownstreamBacktestWorkflow workflow = env.getWorkflowClient().newWorkflowStub(DownstreamBacktestWorkflow.class,
        WorkflowOptions.newBuilder().setWorkflowId(ID).setTaskQueue("control")
            .setWorkflowExecutionTimeout(java.time.Duration.ofMinutes(2)).build());

    DownstreamReport report = workflow.backtestDownstream(new DownstreamRequest(ID, "encoder@2",
        List.of(child(ID + "-1", "churn@1"), child(ID + "-2", "fraud@1"), child(ID + "-3", "gone@1")),
        List.of("a", "b", "c"), 2));

    assertThat(report.entries()).extracting(DownstreamReport.Entry::modelSpec).containsExactly("churn@1", "fraud@1", "gone@1");
    DownstreamReport.Entry churn = report.entries().get(0);
    assertThat(churn.outcome()).isEqualTo(BacktestOutcome.BACKTEST_COMPLETED);
    assertThat(churn.changes()).filteredOn(c -> c.metric().equals("accuracy")).singleElement().satisfies(c -> {
      assertThat(c.recorded()).isEqualTo(0.9);
      assertThat(c.retrained()).isEqualTo(0.80);
      assertThat(c.delta()).isCloseTo(-0.10, org.assertj.core.data.Offset.offset(1e-9));
    });
    assertThat(report.entries().get(1).changes()).filteredOn(c -> c.metric().equals("accuracy"))
        .singleElement().satisfies(c -> assertThat(c.delta()).isCloseTo(0.05, org.assertj.core.data.Offset.offset(1e-9)));
    DownstreamReport.Entry gone = report.entries().get(2);
    assertThat(gone.outcome()).isNull();
    assertThat(gone.reason()).contains("gone@1 is not registered");
    assertThat(report.counts()).containsEntry("BACKTEST_COMPLETED", 2).containsEntry("ERROR", 1);
    assertThat(fakes.upstreamTrained.get(ID + "-1")).singleElement()
        .satisfies(u -> assertThat(u.model().toString()).isEqualTo("encoder@2"));
    assertThat(fakes.downstreamReports).hasSize(1);
  }

  static Stream<Path> histories() throws IOException, URISyntaxException {
    Path dir = Path.of(DownstreamBacktestWorkflowTest.class.getResource("/histories/downstream").toURI());
    try (Stream<Path> list = Files.list(dir)) {
      List<Path> files = list.filter(p -> p.toString().endsWith(".json")).sorted().toList();
      assertThat(files).as("committed downstream histories in %s", dir).isNotEmpty();
      return files.stream();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("histories")
  void committed_downstream_history_replays_on_current_code(Path history) throws Exception {
    WorkflowReplayer.replayWorkflowExecution(Files.readString(history), DownstreamBacktestWorkflowImpl.class);
  }
}
