package dev.timemachine.workflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.model.InputResult;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.model.Tolerance;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.model.TrainingResult;
import dev.timemachine.core.grading.Verdict;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import io.temporal.failure.ApplicationFailure;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ReplayWorkflowTest {
  static final String CONTROL_QUEUE = "control";
  static final String TRAINING_QUEUE = "training";

  private TestWorkflowEnvironment env;
  private final io.micrometer.core.instrument.simple.SimpleMeterRegistry meters =
      new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
  private com.uber.m3.tally.Scope scope;
  private FakeActivities.Control control;
  private FakeActivities.Training training;

  private ReplayResult replay(FakeActivities.Control control, FakeActivities.Training training) {
    return replay(control, training, new ReplayRequest("replay-test-1", "churn@1", TrainingLimits.DEFAULT, TRAINING_QUEUE));
  }

  private ReplayResult replay(FakeActivities.Control control, FakeActivities.Training training, ReplayRequest request) {
    return replay(control, training, request, Map.of());
  }

  /** With {@code hosts}: a worker on each of those host queues, serving that fake (the shared queue gets {@code training}). */
  private ReplayResult replay(
      FakeActivities.Control control, FakeActivities.Training training, ReplayRequest request,
      Map<String, FakeActivities.Training> hosts) {
    this.control = control;
    this.training = training;
    scope =
        new com.uber.m3.tally.RootScopeBuilder()
            .reporter(new io.temporal.common.reporter.MicrometerClientStatsReporter(meters))
            .reportEvery(com.uber.m3.util.Duration.ofMillis(10));
    env = TestWorkflowEnvironment.newInstance(
        io.temporal.testing.TestEnvironmentOptions.newBuilder().setMetricsScope(scope).build());
    registerSearchAttributes(env);
    Worker controlWorker = env.newWorker(CONTROL_QUEUE);
    controlWorker.registerWorkflowImplementationTypes(ReplayWorkflowImpl.class);
    controlWorker.registerActivitiesImplementations(control);
    env.newWorker(TRAINING_QUEUE).registerActivitiesImplementations(training);
    hosts.forEach((queue, host) -> env.newWorker(queue).registerActivitiesImplementations(host));
    env.start();
    WorkflowClient client = env.getWorkflowClient();
    ReplayWorkflow workflow =
        client.newWorkflowStub(
            ReplayWorkflow.class,
            WorkflowOptions.newBuilder().setWorkflowId("replay-test-1").setTaskQueue(CONTROL_QUEUE).build());
    return workflow.replay(request);
  }

  /** Registers timemachine's search attributes, as scripts/temporal.sh does on the dev server. */
  static void registerSearchAttributes(TestWorkflowEnvironment env) {
    SearchAttributes.ALL.forEach(
        key -> env.registerSearchAttribute(key.getName(), io.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD));
  }

  /**
   * With {@code -Dtimemachine.recordHistories=DIR}, each test's workflow history is written to DIR,
   * which is how the committed histories that {@link ReplayWorkflowReplayTest} replays are made.
   */
  @AfterEach
  void close(org.junit.jupiter.api.TestInfo test) throws java.io.IOException {
    String dir = System.getProperty("timemachine.recordHistories");
    if (dir != null && env != null && test.getTestMethod().isPresent()) {
      String json = env.getWorkflowClient().fetchHistory("replay-test-1").toJson(true);
      java.nio.file.Files.writeString(
          java.nio.file.Path.of(dir, test.getTestMethod().get().getName() + ".json"), json);
    }
    if (env != null) {
      env.close();
    }
  }

  private ReplayReport report() {
    assertThat(control.reports).as("reports written").hasSize(1);
    return control.reports.get(0);
  }

  @Test
  void identical_artifacts_are_reproduced_bitwise() throws Exception {
    ReplayResult result =
        replay(
            new FakeActivities.Control(() -> Fixtures.version(Map.of())),
            new FakeActivities.Training(
                () -> Fixtures.rebuilt(List.of(Fixtures.MODEL, Fixtures.METRICS), Map.of("accuracy", 0.9, "f1", 0.7))));

    assertThat(result.verdict()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(result.reportUri()).endsWith("reports/replay-test-1.json");
    ReplayReport report = report();
    assertThat(report.schema()).isEqualTo(ReplayReport.SCHEMA);
    assertThat(report.inputs().allVerified()).as("all inputs verified").isTrue();
    assertThat(report.artifacts()).allMatch(a -> a.identical());
    assertThat(report.trainingExitCode()).isZero();
    assertThat(report.durationsMs()).containsKeys("resolve", "code", "environment", "data", "materialize", "train", "compare", "total");
    assertThat(report.triplet().data().files()).as("workflow payloads carry no file list").isEmpty();
    assertThat(training.cleaned).as("work dir cleaned").containsExactly("replay-test-1");
    assertThat(control.verdictsRecorded).containsExactly("churn@1=REPRODUCED_BITWISE");
    scope.close();
    assertThat(meters.get("timemachine_replays").tag("verdict", "REPRODUCED_BITWISE").counter().count())
        .as("replays counted by verdict").isEqualTo(1.0);
    assertThat(meters.get("timemachine_step_duration").tag("step", "train").timer().count())
        .as("training time recorded").isEqualTo(1);
    var indexed = env.getWorkflowClient().newUntypedWorkflowStub("replay-test-1").describe().getTypedSearchAttributes();
    assertThat(indexed.get(SearchAttributes.VERDICT)).as("verdict upserted for visibility").isEqualTo("REPRODUCED_BITWISE");
    assertThat(indexed.get(SearchAttributes.MODEL)).as("model upserted").isEqualTo(Fixtures.version(Map.of()).model().name());
    assertThat(indexed.get(SearchAttributes.VERSION)).as("version upserted").isEqualTo(Fixtures.version(Map.of()).model().version());
  }

  static final dev.timemachine.core.model.UpstreamRef ENCODER = new dev.timemachine.core.model.UpstreamRef(
      "encoder", dev.timemachine.core.model.ModelRef.parse("encoder@2"), "encoder.pkl", "e".repeat(64), 1234,
      "file:///store");

  @Test
  void a_model_that_consumes_an_upstream_artifact_restores_it_with_its_data_and_trains_with_it() {
    ModelVersion base = Fixtures.version(Map.of());
    ModelVersion consumer = new ModelVersion(ModelVersion.SCHEMA, base.model(),
        new dev.timemachine.core.model.Triplet(base.triplet().code(), base.triplet().environment(), base.triplet().data(),
            List.of(ENCODER)),
        base.recorded(), base.registeredAt(), base.contract());
    FakeActivities.Training training = new FakeActivities.Training(
        () -> Fixtures.rebuilt(List.of(Fixtures.MODEL, Fixtures.METRICS), Map.of("accuracy", 0.9, "f1", 0.7)));
    ReplayResult result = replay(new FakeActivities.Control(() -> consumer), training);

    assertThat(result.verdict()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(training.upstreamRestored).as("the data step restored the upstream artifact")
        .containsEntry("replay-test-1", List.of(ENCODER));
    assertThat(training.upstreamTrained).as("the training mounts it").containsExactly(ENCODER);
  }

  @Test
  void different_artifacts_with_metrics_in_tolerance_are_reproduced_within_tolerance() {
    ReplayResult result =
        replay(
            new FakeActivities.Control(() -> Fixtures.version(Map.of("accuracy", Tolerance.parse("abs:0.01")))),
            new FakeActivities.Training(
                () -> Fixtures.rebuilt(
                    List.of(Fixtures.changed(Fixtures.MODEL), Fixtures.changed(Fixtures.METRICS)),
                    Map.of("accuracy", 0.905, "f1", 0.7))));

    assertThat(result.verdict()).isEqualTo(Verdict.REPRODUCED_WITHIN_TOLERANCE);
    assertThat(report().metrics()).filteredOn(m -> m.name().equals("accuracy"))
        .singleElement().satisfies(m -> {
          assertThat(m.within()).isTrue();
          assertThat(m.absDelta()).isCloseTo(0.005, org.assertj.core.data.Offset.offset(1e-12));
        });
  }

  @Test
  void a_metric_outside_tolerance_is_diverged_and_named() {
    ReplayResult result =
        replay(
            new FakeActivities.Control(() -> Fixtures.version(Map.of())),
            new FakeActivities.Training(
                () -> Fixtures.rebuilt(List.of(Fixtures.changed(Fixtures.MODEL), Fixtures.METRICS),
                    Map.of("accuracy", 0.88, "f1", 0.7))));

    assertThat(result.verdict()).isEqualTo(Verdict.DIVERGED);
    assertThat(result.reason()).contains("accuracy (0.9 -> 0.88, exact)");
  }

  @Test
  void a_divergence_is_explained_and_probed_on_its_host_and_the_causes_name_nondeterminism() {
    FakeActivities.Training fake = new FakeActivities.Training(
        () -> Fixtures.rebuilt(List.of(Fixtures.changed(Fixtures.MODEL), Fixtures.METRICS), Map.of("accuracy", 0.88, "f1", 0.7)));
    ReplayResult result = replay(new FakeActivities.Control(() -> Fixtures.version(Map.of())), fake,
        new ReplayRequest("replay-test-1", "churn@1", TrainingLimits.DEFAULT, TRAINING_QUEUE)
            .withProbe(ReplayRequest.PROBE_ON_DIVERGED, null));

    assertThat(result.verdict()).isEqualTo(Verdict.DIVERGED);
    assertThat(fake.probes).as("probes run, in order").containsExactly(dev.timemachine.core.grading.Variations.NONE,
        dev.timemachine.core.grading.Variations.THREADS, dev.timemachine.core.grading.Variations.HASH_SEED,
        dev.timemachine.core.grading.Variations.ONE_CPU);
    ReplayReport report = report();
    assertThat(report.explanation()).as("the report's explanation").isNotNull();
    assertThat(report.explanation().probes()).hasSize(4);
    assertThat(report.explanation().has(dev.timemachine.core.grading.DivergenceCause.NONDETERMINISTIC_TRAINING)).isTrue();
    assertThat(report.explanation().has(dev.timemachine.core.grading.DivergenceCause.METRICS_OUTSIDE_TOLERANCE)).isTrue();
  }

  @Test
  void a_difference_only_in_metadata_is_reproduced_functionally_without_probes() {
    FakeActivities.Training fake = new FakeActivities.Training(
        () -> Fixtures.rebuilt(List.of(Fixtures.changed(Fixtures.MODEL), Fixtures.METRICS), Map.of("accuracy", 0.9, "f1", 0.7)));
    fake.explain = spec -> new dev.timemachine.core.grading.Explanation(List.of(), List.of(
        new dev.timemachine.core.grading.Explanation.ArtifactDiff(Fixtures.MODEL.path(), "metadata", true,
            "differs only in volatile metadata", List.of("utc_time_created"), null, null, null, null)), null, List.of(),
        List.of());
    ReplayResult result = replay(new FakeActivities.Control(() -> Fixtures.version(Map.of())), fake);

    assertThat(result.verdict()).isEqualTo(Verdict.REPRODUCED_FUNCTIONALLY);
    assertThat(result.reason()).contains("only in volatile metadata");
    assertThat(fake.probes).as("no probes without --twice or --explain").isEmpty();
    assertThat(report().explanation().has(dev.timemachine.core.grading.DivergenceCause.METADATA_ONLY)).isTrue();
  }

  @Test
  void an_unverifiable_data_file_stops_the_replay_before_training() {
    FakeActivities.Training fake =
        new FakeActivities.Training(() -> Fixtures.rebuilt(List.of(Fixtures.MODEL), Map.of()));
    fake.data = () -> {
      throw ApplicationFailure.newNonRetryableFailure(
          "data file 'customers.csv' in snapshot file:///s: sha256 is 00, recorded ab", ErrorType.INPUT_UNVERIFIABLE.name(),
          InputKind.DATA.name(), null);
    };
    ReplayResult result = replay(new FakeActivities.Control(() -> Fixtures.version(Map.of())), fake);

    assertThat(result.verdict()).isEqualTo(Verdict.INPUTS_UNVERIFIABLE);
    assertThat(result.reason()).startsWith("data: ").contains("customers.csv");
    assertThat(fake.trainCalls).as("no training started").hasValue(0);
    ReplayReport report = report();
    assertThat(report.inputs().code().verified()).as("code verified").isTrue();
    assertThat(report.inputs().environment().verified()).as("environment verified").isTrue();
    assertThat(report.inputs().data().state()).isEqualTo(InputResult.State.UNVERIFIABLE);
    assertThat(report.inputs().data().detail()).contains("customers.csv");
    assertThat(report.trainingExitCode()).isNull();
    assertThat(fake.cleaned).containsExactly("replay-test-1");
  }

  @Test
  void a_transient_pull_failure_is_retried() {
    FakeActivities.Training fake = new FakeActivities.Training(
        () -> Fixtures.rebuilt(List.of(Fixtures.MODEL, Fixtures.METRICS), Map.of("accuracy", 0.9, "f1", 0.7)));
    AtomicInteger attempts = new AtomicInteger();
    var verified = fake.image;
    fake.image = () -> {
      if (attempts.incrementAndGet() < 3) {
        throw ApplicationFailure.newFailure("registry briefly unavailable", ErrorType.UNAVAILABLE.name());
      }
      return verified.get();
    };
    ReplayResult result = replay(new FakeActivities.Control(() -> Fixtures.version(Map.of())), fake);

    assertThat(result.verdict()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(fake.imageCalls).as("pull attempts").hasValue(3);
  }

  @Test
  void a_failing_entry_point_is_training_failed_with_its_log_tail() {
    ReplayResult result =
        replay(
            new FakeActivities.Control(() -> Fixtures.version(Map.of())),
            new FakeActivities.Training(
                () -> new TrainingResult("c", 1, false, false, 300, List.of("Traceback", "ValueError: boom"), List.of(),
                    Map.of(), null, null)));

    assertThat(result.verdict()).isEqualTo(Verdict.TRAINING_FAILED);
    assertThat(result.reason()).isEqualTo("training entry point exited with code 1");
    assertThat(report().logTail()).containsExactly("Traceback", "ValueError: boom");
    assertThat(report().trainingExitCode()).isEqualTo(1L);
  }

  @Test
  void a_training_timeout_is_training_failed() {
    ReplayResult result =
        replay(
            new FakeActivities.Control(() -> Fixtures.version(Map.of())),
            new FakeActivities.Training(
                () -> new TrainingResult("c", 137, true, false, 5000, List.of(), List.of(), Map.of(), null, null)));

    assertThat(result.verdict()).isEqualTo(Verdict.TRAINING_FAILED);
    assertThat(result.reason()).contains("timed out");
  }

  @Test
  void an_unknown_model_fails_the_replay_with_not_found_and_writes_no_report() {
    FakeActivities.Control fake = new FakeActivities.Control(() -> {
      throw ApplicationFailure.newNonRetryableFailure("model version churn@9 is not registered", ErrorType.NOT_FOUND.name());
    });
    assertThatThrownBy(() -> replay(fake, new FakeActivities.Training(() -> null)))
        .isInstanceOf(WorkflowFailedException.class)
        .rootCause()
        .isInstanceOf(ApplicationFailure.class)
        .satisfies(t -> assertThat(((ApplicationFailure) t).getType()).isEqualTo("NOT_FOUND"));
    assertThat(fake.reports).isEmpty();
  }

  @Test
  void an_incomplete_triplet_in_the_registry_is_inputs_unverifiable_with_a_report() {
    FakeActivities.Control fake = new FakeActivities.Control(() -> {
      throw ApplicationFailure.newNonRetryableFailure(
          "run abc has no tag timemachine.image", ErrorType.INPUT_UNVERIFIABLE.name(), "ENVIRONMENT", null);
    });
    FakeActivities.Training training = new FakeActivities.Training(() -> null);
    ReplayResult result = replay(fake, training);

    assertThat(result.verdict()).isEqualTo(Verdict.INPUTS_UNVERIFIABLE);
    assertThat(result.reason()).contains("timemachine.image");
    assertThat(training.trainCalls).hasValue(0);
    assertThat(report().triplet()).isNull();
  }

  @Test
  void without_write_back_the_registry_is_left_untouched_and_the_report_still_written() {
    ReplayResult result =
        replay(
            new FakeActivities.Control(() -> Fixtures.version(Map.of())),
            new FakeActivities.Training(
                () -> Fixtures.rebuilt(List.of(Fixtures.MODEL, Fixtures.METRICS), Map.of("accuracy", 0.9, "f1", 0.7))),
            new ReplayRequest("replay-test-1", "churn@1", TrainingLimits.DEFAULT, TRAINING_QUEUE).withoutWriteBack());

    assertThat(result.verdict()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(report().verdict()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(control.verdictsRecorded).as("verdicts written back").isEmpty();
    assertThat(result.writeBackProblem()).isNull();
  }

  @Test
  void a_failed_write_back_keeps_the_verdict_and_says_why() {
    FakeActivities.Control refusing = new FakeActivities.Control(() -> Fixtures.version(Map.of()));
    refusing.verdictFailure =
        ApplicationFailure.newNonRetryableFailure(
            "MLflow denied POST model-versions/set-tag (403)", ErrorType.CONFIGURATION.name());
    ReplayResult result =
        replay(
            refusing,
            new FakeActivities.Training(
                () -> Fixtures.rebuilt(List.of(Fixtures.MODEL, Fixtures.METRICS), Map.of("accuracy", 0.9, "f1", 0.7))));

    assertThat(result.verdict()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(result.writeBackProblem()).isEqualTo("MLflow denied POST model-versions/set-tag (403)");
  }

  private static ReplayRequest withDeadline(java.time.Duration deadline) {
    return new ReplayRequest("replay-test-1", "churn@1", TrainingLimits.DEFAULT, TRAINING_QUEUE)
        .withTransientDeadline(deadline);
  }

  private static FakeActivities.Training bitwiseTraining() {
    return new FakeActivities.Training(
        () -> Fixtures.rebuilt(List.of(Fixtures.MODEL, Fixtures.METRICS), Map.of("accuracy", 0.9, "f1", 0.7)));
  }

  /** What an activity throws for a service that is down: a retryable failure that names the service. */
  private static ApplicationFailure unavailable(String message, String service) {
    return ApplicationFailure.newFailure(
        message, ErrorType.UNAVAILABLE.name(), new FailureDetails(null, null, service));
  }

  @Test
  void an_image_registry_outage_past_the_deadline_is_an_error_without_a_verdict_or_write_back() {
    FakeActivities.Training fake = bitwiseTraining();
    fake.image = () -> {
      throw unavailable("could not pull 127.0.0.1:5055/env@sha256:aa from registry 127.0.0.1:5055: connection refused",
          "image registry 127.0.0.1:5055");
    };
    ReplayResult result =
        replay(new FakeActivities.Control(() -> Fixtures.version(Map.of())), fake,
            withDeadline(java.time.Duration.ofSeconds(90)));

    assertThat(result.verdict()).isEqualTo(Verdict.ERROR);
    assertThat(result.failedService()).isEqualTo("image registry 127.0.0.1:5055");
    assertThat(result.reason()).contains("image registry 127.0.0.1:5055", "90 s", "connection refused");
    assertThat(fake.imageCalls.get()).as("pull attempts within the deadline").isGreaterThan(3);
    assertThat(fake.trainCalls).as("no training started").hasValue(0);
    assertThat(control.verdictsRecorded).as("verdicts written back").isEmpty();
    ReplayReport report = report();
    assertThat(report.verdict()).isEqualTo(Verdict.ERROR);
    assertThat(report.error()).isNotNull();
    assertThat(report.error().step()).isEqualTo("environment");
    assertThat(report.error().service()).isEqualTo("image registry 127.0.0.1:5055");
    assertThat(report.error().type()).isEqualTo(ErrorType.UNAVAILABLE.name());
    assertThat(report.inputs().environment().state()).as("the image was not checked, not found unverifiable")
        .isEqualTo(InputResult.State.NOT_CHECKED);
    assertThat(report.inputs().code().verified()).isTrue();
    assertThat(fake.cleaned).containsExactly("replay-test-1");
  }

  @Test
  void an_image_registry_back_within_the_deadline_gives_the_true_verdict() {
    FakeActivities.Training fake = bitwiseTraining();
    var verified = fake.image;
    AtomicInteger attempts = new AtomicInteger();
    fake.image = () -> {
      if (attempts.incrementAndGet() < 5) {
        throw unavailable("connection refused", "image registry 127.0.0.1:5055");
      }
      return verified.get();
    };
    ReplayResult result =
        replay(new FakeActivities.Control(() -> Fixtures.version(Map.of())), fake,
            withDeadline(java.time.Duration.ofSeconds(90)));

    assertThat(result.verdict()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(attempts).as("pull attempts").hasValue(5);
    assertThat(report().error()).isNull();
    assertThat(control.verdictsRecorded).containsExactly("churn@1=REPRODUCED_BITWISE");
  }

  @Test
  void a_model_registry_outage_is_an_error_with_a_report() {
    FakeActivities.Control fake = new FakeActivities.Control(() -> {
      throw unavailable("MLflow at http://127.0.0.1:5050 does not answer", "the model registry of mlflow:churn@1");
    });
    FakeActivities.Training training = bitwiseTraining();
    ReplayResult result = replay(fake, training, withDeadline(java.time.Duration.ofSeconds(60)));

    assertThat(result.verdict()).isEqualTo(Verdict.ERROR);
    assertThat(result.failedService()).isEqualTo("the model registry of mlflow:churn@1");
    assertThat(fake.resolveCalls.get()).as("resolve attempts").isGreaterThan(1);
    assertThat(report().error().step()).isEqualTo("resolve");
    assertThat(report().triplet()).isNull();
    assertThat(fake.verdictsRecorded).isEmpty();
    assertThat(training.cleaned).as("no host was chosen, nothing to clean").isEmpty();
  }

  @Test
  void a_host_that_fails_to_answer_is_an_error_with_a_report() {
    FakeActivities.Training fake = bitwiseTraining();
    fake.hostQueue = () -> {
      throw ApplicationFailure.newNonRetryableFailure("work directory /work is not writable", ErrorType.CONFIGURATION.name());
    };
    ReplayResult result = replay(new FakeActivities.Control(() -> Fixtures.version(Map.of())), fake);

    assertThat(result.verdict()).isEqualTo(Verdict.ERROR);
    assertThat(result.reason()).contains("work directory /work is not writable");
    assertThat(report().error().step()).isEqualTo("host");
    assertThat(report().error().service()).contains(TRAINING_QUEUE);
    assertThat(fake.trainCalls).hasValue(0);
    assertThat(control.verdictsRecorded).isEmpty();
  }

  @Test
  void a_failed_comparison_is_an_error_with_a_report() {
    FakeActivities.Control fake = new FakeActivities.Control(() -> Fixtures.version(Map.of()));
    fake.compareFailure = ApplicationFailure.newNonRetryableFailure("metrics file unreadable", "IllegalStateException");
    FakeActivities.Training training = bitwiseTraining();
    ReplayResult result = replay(fake, training);

    assertThat(result.verdict()).isEqualTo(Verdict.ERROR);
    assertThat(result.reason()).contains("metrics file unreadable");
    assertThat(report().error().step()).isEqualTo("compare");
    assertThat(report().trainingExitCode()).as("the training is in the report").isZero();
    assertThat(fake.verdictsRecorded).isEmpty();
    assertThat(training.cleaned).containsExactly("replay-test-1");
  }

  @Test
  void a_report_store_outage_is_an_error_naming_the_store_and_nothing_is_written_back() {
    FakeActivities.Control fake = new FakeActivities.Control(() -> Fixtures.version(Map.of()));
    fake.reportFailure = unavailable("cannot access s3://bucket/reports/replay-test-1.json: connection refused",
        "the report store s3://bucket");
    FakeActivities.Training training = bitwiseTraining();
    ReplayResult result = replay(fake, training, withDeadline(java.time.Duration.ofSeconds(60)));

    assertThat(result.verdict()).isEqualTo(Verdict.ERROR);
    assertThat(result.reportUri()).as("no report").isNull();
    assertThat(result.failedService()).isEqualTo("the report store s3://bucket");
    assertThat(result.reason()).contains("connection refused", "REPRODUCED_BITWISE");
    assertThat(fake.reportCalls.get()).as("report attempts").isGreaterThan(1);
    assertThat(fake.verdictsRecorded).isEmpty();
    assertThat(training.cleaned).containsExactly("replay-test-1");
  }

  static Stream<ErrorType> typesRetryingCannotFix() {
    return Arrays.stream(ErrorType.values()).filter(t -> !t.retryable());
  }

  /**
   * The fake throws retryable failures (as a careless activity might) of a type that retrying cannot fix:
   * only the workflow's do-not-retry list stops Temporal from retrying them until the deadline.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("typesRetryingCannotFix")
  void the_error_types_that_retrying_cannot_fix_are_not_retried(ErrorType type) {
    FakeActivities.Training fake = bitwiseTraining();
    fake.image = () -> {
      throw ApplicationFailure.newFailure("the pull failed with " + type, type.name());
    };
    replay(new FakeActivities.Control(() -> Fixtures.version(Map.of())), fake,
        withDeadline(java.time.Duration.ofSeconds(60)));

    assertThat(fake.imageCalls).as("pull attempts for %s", type).hasValue(1);
    assertThat(Failures.DO_NOT_RETRY).doesNotContain(ErrorType.UNAVAILABLE.name());
  }

  /**
   * A shared-queue fake that hands the replay to {@code hosts} in turn, and runs nothing itself. The pickup
   * timeouts below are short because the test server does not skip time for a queue that nobody polls.
   */
  private static FakeActivities.Training handingOutHosts(String... hosts) {
    FakeActivities.Training shared = bitwiseTraining();
    java.util.Iterator<String> next = List.of(hosts).iterator();
    shared.hostQueue = next::next;
    return shared;
  }

  @Test
  void a_host_that_never_picks_up_its_work_is_abandoned_and_the_replay_completes_on_another_host() {
    FakeActivities.Training shared = handingOutHosts("host-1", "host-2");
    FakeActivities.Training host2 = bitwiseTraining();
    ReplayResult result =
        replay(new FakeActivities.Control(() -> Fixtures.version(Map.of())), shared,
            new ReplayRequest("replay-test-1", "churn@1", TrainingLimits.DEFAULT, TRAINING_QUEUE)
                .withHostPickupTimeout(java.time.Duration.ofSeconds(2)),
            Map.of("host-2", host2)); // no worker polls host-1's queue: the host is gone

    assertThat(result.verdict()).as("the true verdict, from host-2").isEqualTo(Verdict.REPRODUCED_BITWISE);
    ReplayReport report = report();
    assertThat(report.hosts()).as("hosts tried, in order").containsExactly("host-1", "host-2");
    assertThat(report.evidence().get("failover")).isEqualTo("host-1 did not pick up checkoutCode within 2 s");
    assertThat(report.inputs().allVerified()).isTrue();
    assertThat(report.error()).isNull();
    assertThat(host2.trainCalls).as("trainings on host-2").hasValue(1);
    assertThat(host2.cleaned).as("host-2 cleans its work directory").containsExactly("replay-test-1");
    assertThat(shared.trainCalls).as("nothing runs on the shared queue").hasValue(0);
    assertThat(shared.cleaned).isEmpty();
    assertThat(control.verdictsRecorded).containsExactly("churn@1=REPRODUCED_BITWISE");
  }

  @Test
  void when_no_host_picks_up_its_work_the_replay_is_an_error_naming_the_hosts() {
    FakeActivities.Training shared = handingOutHosts("host-1", "host-2", "host-3");
    ReplayResult result =
        replay(new FakeActivities.Control(() -> Fixtures.version(Map.of())), shared,
            new ReplayRequest("replay-test-1", "churn@1", TrainingLimits.DEFAULT, TRAINING_QUEUE)
                .withHostPickupTimeout(java.time.Duration.ofSeconds(1)));

    assertThat(result.verdict()).isEqualTo(Verdict.ERROR);
    assertThat(result.failedService()).isEqualTo("the training hosts host-1, host-2, host-3");
    assertThat(result.reason()).contains("host-1 did not pick up", "host-3 did not pick up", "within 1 s",
        "no verdict");
    ReplayReport report = report();
    assertThat(report.hosts()).containsExactly("host-1", "host-2", "host-3");
    assertThat(report.error().step()).isEqualTo("host");
    assertThat(report.error().type()).isEqualTo(Failures.TIMEOUT);
    assertThat(report.trainingExitCode()).as("no abandoned host's attempt is a verdict").isNull();
    assertThat(control.verdictsRecorded).as("verdicts written back").isEmpty();
  }
}
