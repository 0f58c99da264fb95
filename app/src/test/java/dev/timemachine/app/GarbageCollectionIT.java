package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.adapters.store.S3ObjectStore;
import dev.timemachine.core.data.SnapshotManifest;
import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.core.retention.Retention;
import dev.timemachine.registries.manifest.Registration;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.samples.SampleRuns;
import dev.timemachine.samples.Services;
import dev.timemachine.workflow.ReplayResult;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code timemachine gc} on real stores (a local directory, and s3proxy), real replays in the real
 * sample image: after gc every registered version still replays {@code REPRODUCED_BITWISE}, and what
 * no version or report references (an orphan snapshot's own objects, a replay's outputs without a
 * report, an old work directory) is listed by the dry run, alone, and is gone after the sweep. Objects
 * are aged by running gc with a clock two days ahead, not by waiting.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class GarbageCollectionIT {
  @TempDir static Path tmp;

  private ImageRef image;
  private SampleProject.Repository churn;
  private Path data;
  private Path original;

  @BeforeAll
  void sample() throws Exception {
    Services.requireAll();
    image = SampleEnvironment.pinned();
    try (Components components = new Components(Config.fromEnvironment(Map.of("TIMEMACHINE_HOME", tmp.resolve("setup").toString())))) {
      churn = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("churn"));
      data = SampleRuns.generateData(components.engine(), image, churn, tmp.resolve("data"));
      original = SampleRuns.trainOriginal(components.engine(), image, churn, data, tmp.resolve("original"));
    }
  }

  private Config config(String kind) {
    Map<String, String> env = new HashMap<>(Map.of(
        "TIMEMACHINE_HOME", tmp.resolve("home-" + kind).toString(),
        "TIMEMACHINE_WORKER_ID", "gc-it-" + kind,
        "TIMEMACHINE_TRAIN_TIMEOUT_SECONDS", "600"));
    if (kind.equals("s3")) {
      env.putAll(Map.of(
          "TIMEMACHINE_STORE", "s3://timemachine-gc-it-" + System.currentTimeMillis() + "/tm",
          "TIMEMACHINE_S3_ENDPOINT", Services.S3_ENDPOINT,
          "AWS_ACCESS_KEY_ID", Services.S3_ACCESS_KEY,
          "AWS_SECRET_ACCESS_KEY", Services.S3_SECRET_KEY,
          "AWS_REGION", "us-east-1"));
    }
    return Config.fromEnvironment(env);
  }

  private static ReplayResult replay(TemporalRuntime temporal, Components components, String spec) {
    return new ReplayRunner(temporal, components.config())
        .run(spec, ReplayRunner.newReplayId(spec), SampleRuns.LIMITS, new PrintWriter(new StringWriter(), true));
  }

  private static String key(ObjectStore store, String uri) {
    return uri.substring(store.rootUri().length() + 1);
  }

  @ParameterizedTest(name = "{0} store")
  @ValueSource(strings = {"local", "s3"})
  void after_gc_every_registered_version_replays_and_only_unreferenced_old_things_went(String kind) throws Exception {
    Config config = config(kind);
    try (Components components = new Components(config)) {
      if (components.store() instanceof S3ObjectStore s3) {
        s3.createBucketIfMissing();
      }
      ObjectStore store = components.store();
      Registration registration = components.registration(Clock.systemUTC());
      ModelVersion version = registration.register(new Registration.Request(ModelRef.parse("churn@1"), churn.url(),
              churn.commit(), SampleProject.ENTRY_POINT, ".", image, data.toString(), original,
              RecordedOutputs.DEFAULT_METRICS_FILE, Map.of()), Progress.NONE);

      // An orphan snapshot that shares customers.csv with the registered one and has one file of its own.
      Path orphanData = Files.createDirectories(tmp.resolve("orphan-" + kind));
      Files.copy(data.resolve("customers.csv"), orphanData.resolve("customers.csv"));
      Files.writeString(orphanData.resolve("only-here.csv"), "id\n" + kind + "\n");
      DataRef orphan = components.snapshots().create(orphanData, store.rootUri(), Progress.NONE);
      String orphanOwn = SnapshotManifest.objectKey(orphan.files().stream()
          .filter(f -> f.path().equals("only-here.csv")).findFirst().orElseThrow().sha256());
      // Kept outputs of a replay whose report never came.
      store.putIfAbsent("replays/never-reported/outputs/model.pkl", "partial".getBytes(StandardCharsets.UTF_8));

      try (TemporalRuntime temporal = TemporalRuntime.connect(config)) {
        temporal.startAllWorkers(components);
        ReplayResult first = replay(temporal, components, "churn@1");
        assertThat(first.verdict()).as("before gc (%s)", first.reason()).isEqualTo(Verdict.REPRODUCED_BITWISE);
        // A work directory a kill -9 left, with no owner file, written long ago (after the worker's reaper ran).
        Path crashedWork = Files.createDirectories(config.workDir().resolve("crashed-replay"));
        Files.writeString(crashedWork.resolve("left.txt"), "left by kill -9");
        Files.setLastModifiedTime(crashedWork.resolve("left.txt"), java.nio.file.attribute.FileTime.from(Instant.EPOCH));
        Files.setLastModifiedTime(crashedWork, java.nio.file.attribute.FileTime.from(Instant.EPOCH));

        // With the real clock, everything is younger than the grace period: nothing goes.
        GarbageCollector now = new GarbageCollector(components, Clock.systemUTC());
        GarbageCollector.Plan today = now.plan(Retention.DEFAULT_GRACE);
        assertThat(today.store().doomed()).as("nothing older than 24h").isEmpty();
        assertThat(today.mirrors()).as("the git mirror the replay just used").isEmpty();

        // Two days later: what nothing references is old.
        GarbageCollector later =
            new GarbageCollector(components, Clock.fixed(Instant.now().plus(Duration.ofDays(2)), ZoneOffset.UTC));
        GarbageCollector.Plan plan = later.plan(Retention.DEFAULT_GRACE);
        Set<String> expected = new TreeSet<>(List.of(
            key(store, orphan.snapshotUri()) + "/manifest.json", orphanOwn, "replays/never-reported/outputs/model.pkl"));
        assertThat(plan.store().doomed()).extracting(Retention.Doomed::key).as("the dry run lists only the unreferenced")
            .containsExactlyInAnyOrderElementsOf(expected);
        assertThat(plan.workDirs()).extracting(GarbageCollector.WorkDir::path).containsExactly(crashedWork);
        assertThat(store.exists(orphanOwn)).as("planning deleted nothing").isTrue();
        // The host's git mirror of the sample repository was last used by the replay, two days before "later".
        assertThat(plan.mirrors()).extracting(m -> m.url()).containsExactly(churn.url());
        Path mirror = plan.mirrors().get(0).path();

        later.sweep(plan);
        for (String gone : expected) {
          assertThat(store.exists(gone)).as("%s after gc", gone).isFalse();
        }
        assertThat(crashedWork).doesNotExist();
        assertThat(mirror).as("the unused git mirror after gc").doesNotExist();
        List<String> needed = new ArrayList<>();
        needed.add(key(store, version.triplet().data().snapshotUri()) + "/manifest.json");
        for (FileEntry f : version.triplet().data().files()) {
          needed.add(SnapshotManifest.objectKey(f.sha256()));
        }
        for (FileEntry f : version.recorded().artifacts()) {
          needed.add(SnapshotManifest.objectKey(f.sha256()));
        }
        needed.add("replays/" + first.replayId() + "/outputs/model.pkl");
        needed.add("reports/" + first.replayId() + ".json");
        for (String kept : needed) {
          assertThat(store.exists(kept)).as("%s after gc", kept).isTrue();
        }

        // The host's data cache entries of the first replay were linked by no work directory any more: gone too,
        // so the replay after gc reads every object from the store.
        assertThat(plan.cacheEntries()).as("data cache entries swept").isNotEmpty();
        ReplayResult after = replay(temporal, components, "churn@1");
        assertThat(after.verdict()).as("after gc (%s)", after.reason()).isEqualTo(Verdict.REPRODUCED_BITWISE);
        assertThat(new String(store.getBytes("reports/" + after.replayId() + ".json"), StandardCharsets.UTF_8))
            .as("the data evidence of the replay after gc").doesNotContain("linked from this host's cache");
        // And the next replay on this host restores its data from the host's cache of verified files.
        ReplayResult warm = replay(temporal, components, "churn@1");
        assertThat(warm.verdict()).as("warm (%s)", warm.reason()).isEqualTo(Verdict.REPRODUCED_BITWISE);
        assertThat(new String(store.getBytes("reports/" + warm.replayId() + ".json"), StandardCharsets.UTF_8))
            .as("the data evidence of the warm replay").contains("linked from this host's cache");
      }
    }
  }
}
