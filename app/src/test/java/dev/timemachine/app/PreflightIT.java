package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.check.Preflight;
import dev.timemachine.core.data.SnapshotManifest;
import dev.timemachine.core.fleet.FleetIds;
import dev.timemachine.core.fleet.FleetSummary;
import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.EnvironmentRef;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.samples.LocalRegistry;
import dev.timemachine.samples.Services;
import dev.timemachine.workflow.FleetResult;
import dev.timemachine.workflow.ReplayResult;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.eclipse.jgit.api.Git;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pre-flight check on real parts: a git repository with a commit dropped from every branch, the
 * local image registry (127.0.0.1:5000) with an image pushed to a fresh repository and deleted again,
 * a snapshot store with an object deleted; and the fleet on the Temporal dev server, which names each
 * gone input before any replay starts. A replay's verdict is then found by {@code replays list}'s
 * visibility query. Workers serve task queues of this test's own.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class PreflightIT {
  @TempDir Path home;
  @TempDir Path work;

  private final String unique = UUID.randomUUID().toString().substring(0, 8);
  private Config config;
  private String kept;
  private String dropped;
  private ImageRef deletedImage;
  private ImageRef sampleImage;
  private String deletedObject;

  @BeforeEach
  void services() throws Exception {
    if (!Services.listening(7233) || !Services.listening(5000)) {
      throw new IllegalStateException("the Temporal dev server (7233) and the image registry (5000) must run: scripts/services.sh up");
    }
    config = Config.fromEnvironment(Map.of(
        "TEMPORAL_ADDRESS", "127.0.0.1:7233",
        "TIMEMACHINE_HOME", home.toString(),
        "TIMEMACHINE_CONTROL_QUEUE", "it-preflight-control-" + unique,
        "TIMEMACHINE_TRAINING_QUEUE", "it-preflight-training-" + unique));
  }

  /** A repository whose main keeps one commit; a second commit was on a branch that is gone (a force-push). */
  private String repository() throws Exception {
    Path repo = work.resolve("repo");
    try (Git git = Git.init().setDirectory(repo.toFile()).setInitialBranch("main").call()) {
      Files.writeString(repo.resolve("train.py"), "print('kept')\n");
      git.add().addFilepattern(".").call();
      kept = git.commit().setMessage("kept").setSign(false).call().getName();
      git.checkout().setCreateBranch(true).setName("feature").call();
      Files.writeString(repo.resolve("train.py"), "print('dropped')\n");
      git.add().addFilepattern(".").call();
      dropped = git.commit().setMessage("dropped").setSign(false).call().getName();
      git.checkout().setName("main").call();
      git.branchDelete().setBranchNames("feature").setForce(true).call();
    }
    return repo.toUri().toString();
  }

  private DataRef snapshot(Components components, String content) throws Exception {
    Path dir = Files.createDirectories(work.resolve("data-" + content.hashCode()));
    Files.writeString(dir.resolve("train.csv"), "a,b\n1," + content + "\n");
    Files.writeString(dir.resolve("labels.csv"), "y\n" + content + "\n");
    return components.snapshots().create(dir, components.store().rootUri(), Progress.NONE);
  }

  private static ModelVersion version(String name, CodeRef code, ImageRef image, DataRef data) {
    return ModelVersion.of(new ModelRef(name, "1"), new Triplet(code, new EnvironmentRef(image), data.withoutFiles()),
        new RecordedOutputs(List.of(new FileEntry("model.bin", 1, "0".repeat(64))), "metrics.json", Map.of(), Map.of()),
        Instant.now());
  }

  /** Registers ok, noimage, nocommit and nodata versions; returns their specs in that order. */
  private List<String> register(Components components) throws Exception {
    String repo = repository();
    sampleImage = LocalRegistry.sampleImage();
    deletedImage = LocalRegistry.pushThrowaway("timemachine-it/preflight-" + unique);
    DataRef intact = snapshot(components, "intact-" + unique);
    DataRef broken = snapshot(components, "broken-" + unique);
    List<String> entry = List.of("python3", "train.py");
    var registry = components.manifestRegistry();
    registry.register(version("ok-" + unique, new CodeRef(repo, kept, entry, "."), sampleImage, intact));
    registry.register(version("noimage-" + unique, new CodeRef(repo, kept, entry, "."), deletedImage, intact));
    registry.register(version("nocommit-" + unique, new CodeRef(repo, dropped, entry, "."), sampleImage, intact));
    registry.register(version("nodata-" + unique, new CodeRef(repo, kept, entry, "."), sampleImage, broken));
    // After registration, as happens months later: the image is deleted, an object of a snapshot expires.
    LocalRegistry.delete(deletedImage);
    SnapshotManifest manifest = components.snapshots().readManifest(broken.snapshotUri());
    FileEntry labels = manifest.files().stream().filter(f -> f.path().equals("labels.csv")).findFirst().orElseThrow();
    deletedObject = SnapshotManifest.objectKey(labels.sha256());
    Files.delete(Path.of(URI.create(components.store().uriOf(deletedObject))));
    return List.of("ok-" + unique + "@1", "noimage-" + unique + "@1", "nocommit-" + unique + "@1", "nodata-" + unique + "@1");
  }

  private static Preflight.Item item(Preflight.Result result, String input) {
    return result.items().stream().filter(i -> i.input().equals(input)).findFirst().orElseThrow();
  }

  @Test
  void the_check_names_the_deleted_image_the_dropped_commit_and_the_expired_object_without_training() throws Exception {
    try (Components components = new Components(config)) {
      List<String> specs = register(components);
      Preflight preflight = components.preflight();

      Preflight.Result ok = preflight.check(specs.get(0), false, Progress.NONE);
      assertThat(ok.items()).as("every input of the intact version is there").allMatch(i -> i.status() == Preflight.Status.OK);
      assertThat(preflight.check(specs.get(0), true, Progress.NONE).missing()).as("and re-hashes with --deep").isFalse();

      Preflight.Result noimage = preflight.check(specs.get(1), false, Progress.NONE);
      assertThat(item(noimage, "environment").status()).isEqualTo(Preflight.Status.MISSING);
      assertThat(item(noimage, "environment").detail()).as("names the image").contains(deletedImage.toString());
      assertThat(item(noimage, "code").status()).isEqualTo(Preflight.Status.OK);

      Preflight.Result nocommit = preflight.check(specs.get(2), false, Progress.NONE);
      assertThat(item(nocommit, "code").status()).isEqualTo(Preflight.Status.MISSING);
      assertThat(item(nocommit, "code").detail()).as("names the commit").contains(dropped);
      assertThat(item(nocommit, "environment").status()).isEqualTo(Preflight.Status.OK);

      Preflight.Result nodata = preflight.check(specs.get(3), false, Progress.NONE);
      assertThat(item(nodata, "data").status()).isEqualTo(Preflight.Status.MISSING);
      assertThat(item(nodata, "data").detail()).as("names the file and its object").contains("labels.csv").contains(deletedObject);
      assertThat(preflight.check(specs.get(3), true, Progress.NONE).reason()).as("--deep too").contains("labels.csv");
    }
  }

  @Test
  void the_fleet_skips_what_cannot_be_replayed_and_replays_list_finds_a_verdict() throws Exception {
    try (Components components = new Components(config);
        TemporalRuntime temporal = TemporalRuntime.connect(config)) {
      List<String> specs = register(components);
      temporal.startWorkers(components.signing(SigningKeys.Mode.UNSIGNED), EnumSet.allOf(TemporalRuntime.Queue.class));
      FleetRunner runner = new FleetRunner(temporal, config);
      List<String> gone = specs.subList(1, 4);
      FleetResult result = runner.run(
          runner.request("it-preflight-" + unique, String.join(",", gone), 2, "manual", "UTC", TrainingLimits.DEFAULT, false),
          new PrintWriter(new StringWriter()));

      assertThat(result.verdicts()).as("every gone input is INPUTS_UNVERIFIABLE").containsExactly(Map.entry("INPUTS_UNVERIFIABLE", 3));
      FleetSummary summary = FleetRunner.summary(components.store(), result.fleetId());
      assertThat(summary.entries()).extracting(FleetSummary.Entry::reason).allMatch(r -> r.startsWith("pre-flight check:"));
      assertThat(summary.entries().get(0).reason()).contains(deletedImage.toString());
      assertThat(summary.entries().get(1).reason()).contains(dropped);
      assertThat(summary.entries().get(2).reason()).contains("labels.csv");
      for (FleetSummary.Entry entry : summary.entries()) {
        assertThat(entry.reportUri()).as("no replay of %s started", entry.spec()).isNull();
        assertThat(temporal.client().listExecutions("WorkflowId = '" + entry.replayId() + "'").count())
            .as("no workflow %s on the server", entry.replayId()).isZero();
      }

      // A single replay of the version whose object expired: restore finds it gone, before any training.
      String replayId = ReplayRunner.newReplayId(specs.get(3));
      ReplayResult replay = new ReplayRunner(temporal, config).run(specs.get(3), replayId, TrainingLimits.DEFAULT, false,
          new PrintWriter(new StringWriter()));
      assertThat(replay.verdict()).isEqualTo(Verdict.INPUTS_UNVERIFIABLE);

      ReplayIndex index = new ReplayIndex(temporal, config);
      List<ReplayIndex.Row> found = List.of();
      for (int i = 0; i < 40 && found.isEmpty(); i++) {
        found = index.list("nodata-" + unique, "INPUTS_UNVERIFIABLE", Instant.now().minus(Duration.ofHours(1)), 10);
        Thread.sleep(250);
      }
      assertThat(found).as("found by model and verdict").singleElement().satisfies(row -> {
        assertThat(row.workflowId()).isEqualTo(replayId);
        assertThat(row.version()).isEqualTo("1");
        assertThat(row.trigger()).isEqualTo("manual");
        assertThat(row.status()).isEqualTo("COMPLETED");
      });
      assertThat(index.list("nodata-" + unique, "DIVERGED", null, 10)).as("another verdict finds nothing").isEmpty();
      assertThat(FleetIds.replayId(specs.get(1), summary.night())).isEqualTo(summary.entries().get(0).replayId());
    }
  }
}
