package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.core.data.SnapshotManifest;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.EnvironmentRef;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.ports.Progress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code timemachine gc} as a user runs it (the packaged jar, a local store): the dry run lists only
 * what nothing references, with sizes, and deletes nothing; gc deletes exactly that; a bad grace
 * period is a usage error. {@code GarbageCollectionIT} replays after gc on the local store and S3.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class GcCommandIT {
  private static final Path JAR = Path.of("target/timemachine.jar");

  @TempDir Path home;
  @TempDir Path work;

  record Result(int exit, String out, String err) {}

  private Result cli(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("java", "-jar", JAR.toAbsolutePath().toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().remove("TEMPORAL_ADDRESS");
    pb.environment().remove("TIMEMACHINE_STORE");
    pb.environment().remove("MLFLOW_TRACKING_URI");
    pb.environment().put("TIMEMACHINE_HOME", home.toString());
    Path out = work.resolve("stdout-" + System.nanoTime());
    Path err = work.resolve("stderr-" + System.nanoTime());
    Process process = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(process.waitFor(5, TimeUnit.MINUTES)).as("timemachine %s finished", String.join(" ", args)).isTrue();
    return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
  }

  private static List<String> listed(Result r, String verb) {
    return r.out().lines().filter(l -> l.startsWith(verb + " ")).map(l -> l.substring(l.lastIndexOf(' ') + 1)).toList();
  }

  @Test
  void the_dry_run_lists_only_the_unreferenced_and_gc_deletes_just_that() throws Exception {
    assertThat(JAR).as("the packaged CLI (mvn package runs before the integration tests)").exists();
    String registeredOwn;
    String orphanOwn;
    String shared;
    String orphanManifest;
    String storeRoot;
    try (Components components = new Components(Config.fromEnvironment(Map.of("TIMEMACHINE_HOME", home.toString())))) {
      ObjectStore store = components.store();
      storeRoot = store.rootUri();
      Path kept = Files.createDirectories(work.resolve("kept"));
      Files.writeString(kept.resolve("train.csv"), "a\n1\n2\n");
      Files.writeString(kept.resolve("labels.csv"), "y\n0\n1\n");
      Path gone = Files.createDirectories(work.resolve("gone"));
      Files.writeString(gone.resolve("train.csv"), "a\n1\n2\n");
      Files.writeString(gone.resolve("extra.csv"), "only in the orphan\n");
      DataRef registered = components.snapshots().create(kept, store.rootUri(), Progress.NONE);
      DataRef orphan = components.snapshots().create(gone, store.rootUri(), Progress.NONE);
      components.manifestRegistry().register(ModelVersion.of(new ModelRef("kept", "1"),
          new Triplet(new CodeRef("https://example.invalid/repo.git", "a".repeat(40), List.of("python3", "train.py"), "."),
              new EnvironmentRef(ImageRef.parse("127.0.0.1:5000/x@sha256:" + "b".repeat(64))), registered.withoutFiles()),
          new RecordedOutputs(List.of(new FileEntry("model.bin", 1, "0".repeat(64))), "metrics.json", Map.of(), Map.of()),
          Instant.now()));
      registeredOwn = SnapshotManifest.objectKey(sha(registered, "labels.csv"));
      shared = SnapshotManifest.objectKey(sha(registered, "train.csv"));
      orphanOwn = SnapshotManifest.objectKey(sha(orphan, "extra.csv"));
      orphanManifest = orphan.snapshotUri().substring(store.rootUri().length() + 1) + "/manifest.json";
      store.putIfAbsent("replays/r1/outputs/model.pkl", "kept".getBytes(StandardCharsets.UTF_8));
      store.putIfAbsent("reports/r1.json",
          ("{\"rebuiltOutputsUri\": \"" + store.uriOf("replays/r1/outputs") + "\"}").getBytes(StandardCharsets.UTF_8));
      store.putIfAbsent("replays/r2/outputs/model.pkl", "no report".getBytes(StandardCharsets.UTF_8));
    }

    Result young = cli("gc", "--dry-run");
    assertThat(young.exit()).as("%s%s", young.out(), young.err()).isZero();
    assertThat(listed(young, "would")).as("nothing is older than the default 24h grace").isEmpty();

    Result dry = cli("gc", "--dry-run", "--grace", "0");
    assertThat(dry.exit()).as("%s%s", dry.out(), dry.err()).isZero();
    assertThat(listed(dry, "would")).as("what the dry run lists")
        .containsExactlyInAnyOrder(storeRoot + "/" + orphanManifest, storeRoot + "/" + orphanOwn,
            storeRoot + "/replays/r2/outputs/model.pkl");
    assertThat(dry.out()).contains("bytes").contains("nothing was deleted");
    assertThat(dry.out().lines().filter(l -> l.contains(orphanOwn))).singleElement().asString()
        .contains(" " + "only in the orphan\n".length() + " bytes");
    try (Components components = new Components(Config.fromEnvironment(Map.of("TIMEMACHINE_HOME", home.toString())))) {
      assertThat(components.store().exists(orphanOwn)).as("the dry run deleted nothing").isTrue();
    }

    Result gc = cli("gc", "--grace", "0");
    assertThat(gc.exit()).as("%s%s", gc.out(), gc.err()).isZero();
    assertThat(gc.out()).contains("deleted 3,");
    try (Components components = new Components(Config.fromEnvironment(Map.of("TIMEMACHINE_HOME", home.toString())))) {
      ObjectStore store = components.store();
      assertThat(store.exists(orphanOwn)).isFalse();
      assertThat(store.exists(orphanManifest)).isFalse();
      assertThat(store.exists("replays/r2/outputs/model.pkl")).isFalse();
      assertThat(store.exists(registeredOwn)).isTrue();
      assertThat(store.exists(shared)).isTrue();
      assertThat(store.exists("replays/r1/outputs/model.pkl")).isTrue();
      assertThat(store.exists("models/kept/1.json")).isTrue();
      assertThat(components.snapshots().check(components.manifestRegistry().resolve("kept@1").triplet().data(), true,
          Progress.NONE)).as("the registered snapshot restores whole").isEmpty();
    }

    Result bad = cli("gc", "--grace", "soon");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err()).startsWith("error: --grace 'soon' is not a duration");
  }

  private static String sha(DataRef data, String path) {
    return data.files().stream().filter(f -> f.path().equals(path)).findFirst().orElseThrow().sha256();
  }
}
