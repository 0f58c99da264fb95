package dev.timemachine.app;

import dev.timemachine.registries.manifest.Registration;
import dev.timemachine.samples.SampleRuns;
import dev.timemachine.samples.Services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.activities.ControlActivitiesImpl;
import dev.timemachine.activities.TrainingActivitiesImpl;
import dev.timemachine.adapters.store.S3ObjectStore;
import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.ports.ContainerEngine;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.workflow.ReplayResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The core path against real parts: a real Docker engine running the real sample image pulled by
 * digest from a real registry, a real S3-compatible server holding snapshots, registry and reports,
 * real git repositories, and the Temporal test server in process with the real activities.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ReplayEndToEndIT {
  @TempDir static Path tmp;

  private Components components;
  private TemporalRuntime temporal;
  private ContainerEngine engine;
  private ImageRef image;
  private SampleProject.Repository churn;
  private Path data;
  private Path original;
  private Registration registration;
  private final StringWriter progress = new StringWriter();

  @BeforeAll
  void startEverything() throws Exception {
    Services.requireAll();
    String bucket = "timemachine-it-" + System.currentTimeMillis();
    Config config =
        Config.fromEnvironment(
            Map.of(
                "TIMEMACHINE_HOME", tmp.resolve("home").toString(),
                "TIMEMACHINE_STORE", "s3://" + bucket + "/tm",
                "TIMEMACHINE_S3_ENDPOINT", Services.S3_ENDPOINT,
                "AWS_ACCESS_KEY_ID", Services.S3_ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY", Services.S3_SECRET_KEY,
                "AWS_REGION", "us-east-1",
                "TIMEMACHINE_WORKER_ID", "it-host",
                "TIMEMACHINE_TRAIN_TIMEOUT_SECONDS", "600"));
    components = new Components(config);
    ((S3ObjectStore) components.store()).createBucketIfMissing();
    engine = components.engine();
    image = SampleEnvironment.pinned();
    churn = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("churn"));
    data = SampleRuns.generateData(engine, image, churn, tmp.resolve("data"));
    original = SampleRuns.trainOriginal(engine, image, churn, data, tmp.resolve("original"));
    registration = components.registration(Clock.systemUTC());
    temporal = TemporalRuntime.connect(config);
    temporal.startAllWorkers(components);
  }

  @AfterAll
  void stopEverything() {
    if (temporal != null) {
      temporal.close();
    }
    if (components != null) {
      components.close();
    }
  }

  private ModelVersion register(String model, String repoUrl, String commit, ImageRef img, String dataDirOrUri, Path output) {
    return registration.register(
        new Registration.Request(ModelRef.parse(model), repoUrl, commit, SampleProject.ENTRY_POINT, ".", img,
            dataDirOrUri, output, RecordedOutputs.DEFAULT_METRICS_FILE, Map.of()),
        Progress.NONE);
  }

  /** A commit the repository lacks (force-pushed away since, say): registered with --allow-unpushed. */
  private ModelVersion registerUnpushed(String model, String repoUrl, String commit, ImageRef img, String dataDirOrUri,
      Path output) {
    return registration.allowingUnpushed(true).register(
        new Registration.Request(ModelRef.parse(model), repoUrl, commit, SampleProject.ENTRY_POINT, ".", img,
            dataDirOrUri, output, RecordedOutputs.DEFAULT_METRICS_FILE, Map.of()),
        Progress.NONE);
  }

  private ReplayResult replay(String model) {
    String id = ReplayRunner.newReplayId(model);
    return new ReplayRunner(temporal, components.config())
        .run(model, id, SampleRuns.LIMITS, new PrintWriter(progress, true));
  }

  private ReplayReport report(ReplayResult result) {
    return Json.parse(
        components.store().getBytes(ControlActivitiesImpl.reportKey(result.replayId())), ReplayReport.class, result.reportUri());
  }

  private void assertNoContainerLeftFor(ReplayResult result) {
    assertThat(engine.containersWithLabel(TrainingActivitiesImpl.LABEL_REPLAY, result.replayId()))
        .as("containers left behind by %s", result.replayId()).isEmpty();
  }

  @Test
  void the_seeded_sample_is_reproduced_bitwise_with_a_complete_report_in_s3() throws Exception {
    register("churn@1", churn.url(), churn.commit(), image, data.toString(), original);

    ReplayResult result = replay("churn@1");

    assertThat(result.verdict()).as("verdict (%s)", result.reason()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(result.reportUri()).startsWith("s3://").endsWith("/reports/" + result.replayId() + ".json");
    JsonNode json = Json.mapper().readTree(components.store().getBytes(ControlActivitiesImpl.reportKey(result.replayId())));
    assertThat(json.get("schema").asText()).isEqualTo("timemachine.replay-report/v3");
    for (String field : List.of("replayId", "model", "triplet", "inputs", "artifacts", "metrics", "verdict", "startedAt",
        "finishedAt", "durationsMs", "trainingExitCode", "logTail")) {
      assertThat(json.has(field)).as("report field %s", field).isTrue();
    }
    ReplayReport report = report(result);
    assertThat(report.model()).isEqualTo(new ModelRef("churn", "1"));
    assertThat(report.inputs().allVerified()).isTrue();
    assertThat(report.evidence().get("code")).contains(churn.commit());
    assertThat(report.evidence().get("environment")).contains(image.digest())
        .as("the image's content checked against its manifest").contains("; content checked: ")
        .contains("image id equals the configuration digest the manifest names");
    assertThat(report.artifacts()).extracting(a -> a.path()).containsExactlyInAnyOrder("model.pkl", "metrics.json");
    assertThat(report.artifacts()).allSatisfy(a -> assertThat(a.rebuiltSha256()).isEqualTo(a.recordedSha256()));
    assertThat(report.metrics()).extracting(m -> m.name()).containsExactly("accuracy", "f1", "roc_auc");
    assertThat(report.metrics()).allSatisfy(m -> assertThat(m.absDelta()).isZero());
    assertThat(report.logTail()).anySatisfy(line -> assertThat(line).contains("wrote model.pkl"));
    assertThat(report.durationsMs().get("train")).isPositive();
    assertThat(json.at("/limits/sandbox/mode").asText()).as("sandbox recorded in the report").isEqualTo("STRICT");
    assertThat(json.at("/limits/sandbox/user").asText()).as("sandbox user in the report").isEqualTo("65534:65534");
    assertThat(json.at("/limits/sandbox/readOnlyRootfs").asBoolean()).as("read-only root in the report").isTrue();
    assertThat(report.rebuiltOutputsUri()).startsWith("s3://");
    assertThat(components.store().exists("replays/" + result.replayId() + "/outputs/model.pkl"))
        .as("rebuilt model kept as evidence").isTrue();
    assertNoContainerLeftFor(result);
    assertThat(components.config().workDir().resolve(result.replayId())).as("work dir cleaned").doesNotExist();
    assertThat(progress.toString()).as("progress shown").contains("train");
    assertThat(report.log()).as("stored training log").isNotNull();
    byte[] storedLog = components.store().getBytes("replays/" + result.replayId() + "/training.log");
    assertThat(new String(storedLog, StandardCharsets.UTF_8)).as("stored log").contains("wrote model.pkl");
    assertThat(report.log().sha256()).as("sha256 of the stored log").isEqualTo(Digests.sha256Hex(storedLog));
    assertThat(report.log().lines()).as("lines of the stored log").isEqualTo(storedLog.length == 0 ? 0
        : new String(storedLog, StandardCharsets.UTF_8).lines().count());
  }

  @Test
  void the_seeded_sample_replay_id_is_used_once_a_finished_one_is_refused_before_anything_runs() throws Exception {
    register("churn-once@1", churn.url(), churn.commit(), image, data.toString(), original);
    ReplayResult first = replay("churn-once@1");
    assertThat(first.verdict()).as("verdict of the first replay (%s)", first.reason()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    byte[] report = components.store().getBytes(ControlActivitiesImpl.reportKey(first.replayId()));
    byte[] model = components.store().getBytes("replays/" + first.replayId() + "/outputs/model.pkl");

    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> new ReplayRunner(temporal, components.config())
                .run("churn-once@1", first.replayId(), SampleRuns.LIMITS, new PrintWriter(progress, true)))
        .as("a second replay under the finished id")
        .isInstanceOfSatisfying(dev.timemachine.core.errors.TimemachineException.class,
            e -> assertThat(e.type()).as("error type").isEqualTo(dev.timemachine.core.errors.ErrorType.CONFLICT))
        .hasMessageContaining("is taken");
    assertThat(components.store().getBytes(ControlActivitiesImpl.reportKey(first.replayId()))).as("report untouched")
        .isEqualTo(report);
    assertThat(components.store().getBytes("replays/" + first.replayId() + "/outputs/model.pkl")).as("kept model untouched")
        .isEqualTo(model);
    assertNoContainerLeftFor(first);
  }

  @Test
  void a_training_host_without_the_image_pulls_it_by_digest_and_reproduces_bitwise() throws Exception {
    // An image this engine has never held: the sample image plus a layer of incompressible bytes, pushed
    // to the registry and removed from the engine, as on a fresh training host.
    String repository = SampleEnvironment.REGISTRY + "/timemachine/it-cold-host";
    String tag = "t" + System.nanoTime();
    Path context = Files.createDirectories(tmp.resolve("cold-image"));
    Files.writeString(context.resolve("Dockerfile"), "FROM " + image + "\nCOPY noise.bin /opt/noise.bin\n");
    byte[] noise = new byte[64 << 20];
    new java.util.Random(tag.hashCode()).nextBytes(noise);
    Files.write(context.resolve("noise.bin"), noise);
    docker("build", "--network", "none", "-q", "-t", repository + ":" + tag, context.toString());
    docker("push", "-q", repository + ":" + tag);
    ImageRef cold = SampleEnvironment.pin(SampleEnvironment.REGISTRY, "timemachine/it-cold-host", tag);
    docker("rmi", "-f", repository + ":" + tag);
    assertThat(dockerExit("image", "inspect", cold.toString())).as("the image is gone from the engine").isNotZero();
    register("churn-cold@1", churn.url(), churn.commit(), cold, data.toString(), original);

    ReplayResult result = replay("churn-cold@1");

    assertThat(result.verdict()).as("verdict (%s)", result.reason()).isEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(report(result).evidence().get("environment")).as("environment evidence").contains(cold.digest());
    assertThat(dockerExit("image", "inspect", cold.toString())).as("the image is on the engine after the replay").isZero();
    docker("rmi", "-f", cold.toString());
  }

  private static void docker(String... args) throws IOException, InterruptedException {
    int exit = dockerExit(args);
    assertThat(exit).as("docker %s", String.join(" ", args)).isZero();
  }

  private static int dockerExit(String... args) throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>(List.of("docker"));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    return process.waitFor();
  }

  @Test
  void the_unseeded_sample_is_never_reproduced_bitwise() throws Exception {
    SampleProject.Repository unseeded =
        SampleProject.createRepository(SampleProject.CHURN_UNSEEDED, tmp.resolve("unseeded"));
    Path out = SampleRuns.trainOriginal(engine, image, unseeded, data, tmp.resolve("unseeded-original"));
    register("churn-unseeded@1", unseeded.url(), unseeded.commit(), image, data.toString(), out);

    ReplayResult result = replay("churn-unseeded@1");

    assertThat(result.verdict()).as("verdict (%s)", result.reason()).isNotEqualTo(Verdict.REPRODUCED_BITWISE);
    assertThat(result.verdict()).isIn(Verdict.DIVERGED, Verdict.REPRODUCED_WITHIN_TOLERANCE);
    assertThat(report(result).artifacts()).anySatisfy(a -> assertThat(a.identical()).isFalse());
  }

  @Test
  void a_snapshot_file_altered_after_registration_makes_the_inputs_unverifiable_naming_the_file() throws Exception {
    // Its own snapshot (one extra file makes a different root digest), so other tests keep theirs intact.
    Path ownData = tmp.resolve("tampered-data");
    Files.createDirectories(ownData);
    // Its own customers.csv content too (one more newline): files are stored once by content, so altering the
    // object of a file other snapshots share would alter them all.
    Files.write(ownData.resolve("customers.csv"),
        (Files.readString(data.resolve("customers.csv")) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    Files.writeString(ownData.resolve("notes.txt"), "tamper test\n");
    ModelVersion version = register("churn-tampered@1", churn.url(), churn.commit(), image, ownData.toString(), original);
    String snapshot = version.triplet().data().snapshotUri();
    String sha256 = components.snapshots().readManifest(snapshot).files().stream()
        .filter(f -> f.path().equals("customers.csv")).findFirst().orElseThrow().sha256();
    ObjectStore snapshotStore = components.stores().open(snapshot.substring(0, snapshot.lastIndexOf("/snapshots/")));
    String key = dev.timemachine.core.data.SnapshotManifest.objectKey(sha256);
    byte[] csv = snapshotStore.getBytes(key);
    csv[csv.length - 3] = (byte) (csv[csv.length - 3] == '0' ? '1' : '0');
    Path altered = tmp.resolve("altered.csv");
    Files.write(altered, csv);
    snapshotStore.put(key, altered);

    ReplayResult result = replay("churn-tampered@1");

    assertThat(result.verdict()).isEqualTo(Verdict.INPUTS_UNVERIFIABLE);
    assertThat(result.reason()).contains("customers.csv");
    ReplayReport report = report(result);
    assertThat(report.inputs().data().detail()).contains("customers.csv");
    assertThat(report.inputs().code().verified()).as("code verified").isTrue();
    assertThat(report.trainingExitCode()).as("no training started").isNull();
  }

  @Test
  void an_image_digest_the_registry_does_not_have_makes_the_inputs_unverifiable() {
    // Registered while the registry had it (registration refuses a digest no registry has), then
    // deleted by a retention policy before the replay.
    ImageRef missing = dev.timemachine.samples.LocalRegistry.pushThrowaway("timemachine-it/e2e-gone-" + System.nanoTime());
    register("churn-noimage@1", churn.url(), churn.commit(), missing, data.toString(), original);
    dev.timemachine.samples.LocalRegistry.delete(missing);

    ReplayResult result = replay("churn-noimage@1");

    assertThat(result.verdict()).isEqualTo(Verdict.INPUTS_UNVERIFIABLE);
    assertThat(report(result).inputs().environment().detail()).contains(missing.digest());
    assertThat(report(result).trainingExitCode()).isNull();
  }

  @Test
  void a_commit_that_does_not_exist_makes_the_inputs_unverifiable() {
    String ghost = "deadbeef".repeat(5);
    registerUnpushed("churn-nocommit@1", churn.url(), ghost, image, data.toString(), original);

    ReplayResult result = replay("churn-nocommit@1");

    assertThat(result.verdict()).isEqualTo(Verdict.INPUTS_UNVERIFIABLE);
    assertThat(report(result).inputs().code().detail()).contains(ghost);
  }

  @Test
  void an_entry_point_that_exits_1_is_training_failed_with_its_log_tail() throws Exception {
    SampleProject.Repository broken = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("broken"));
    String commit = SampleProject.commitChange(broken, "train.py",
        "import sys\nprint('loading data...')\nprint('ValueError: column churned is missing', file=sys.stderr)\nsys.exit(1)\n",
        "Break training");
    register("churn-broken@1", broken.url(), commit, image, data.toString(), original);

    ReplayResult result = replay("churn-broken@1");

    assertThat(result.verdict()).isEqualTo(Verdict.TRAINING_FAILED);
    assertThat(result.reason()).contains("exited with code 1");
    ReplayReport report = report(result);
    assertThat(report.trainingExitCode()).isEqualTo(1L);
    assertThat(report.logTail()).contains("loading data...", "ValueError: column churned is missing");
    assertNoContainerLeftFor(result);
  }

  @Test
  void registering_the_same_version_again_with_different_content_is_refused_and_the_first_manifest_stays() {
    register("churn-immutable@1", churn.url(), churn.commit(), image, data.toString(), original);
    String key = "models/churn-immutable/1.json";
    byte[] before = components.store().getBytes(key);

    assertThatThrownBy(
            () -> registerUnpushed("churn-immutable@1", churn.url(), "1".repeat(40), image, data.toString(), original))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("already registered with different content")
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.CONFLICT));
    assertThat(new String(components.store().getBytes(key), StandardCharsets.UTF_8))
        .as("first manifest intact").isEqualTo(new String(before, StandardCharsets.UTF_8));

    // The same content again is not a conflict: registration is idempotent.
    register("churn-immutable@1", churn.url(), churn.commit(), image, data.toString(), original);
  }

  @Test
  void an_unknown_model_version_fails_with_not_found() {
    assertThatThrownBy(() -> replay("churn@404"))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("churn@404 is not registered")
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.NOT_FOUND));
  }
}
