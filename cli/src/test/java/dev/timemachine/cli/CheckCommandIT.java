package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.EnvironmentRef;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.samples.LocalRegistry;
import dev.timemachine.samples.Services;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.eclipse.jgit.api.Git;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code timemachine check} as a user runs it (the packaged jar): a version whose image was deleted
 * from the local registry after registration is named, with exit 3, and nothing is pulled or trained.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class CheckCommandIT {
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
    pb.environment().put("TIMEMACHINE_HOME", home.toString());
    Path out = work.resolve("stdout-" + System.nanoTime());
    Path err = work.resolve("stderr-" + System.nanoTime());
    Process process = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(process.waitFor(5, TimeUnit.MINUTES)).as("timemachine %s finished", String.join(" ", args)).isTrue();
    return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
  }

  @Test
  void check_names_the_image_deleted_from_the_registry_and_exits_3() throws Exception {
    assertThat(JAR).as("the packaged CLI (mvn package runs before the integration tests)").exists();
    if (!Services.listening(5000)) {
      throw new IllegalStateException("the image registry on 127.0.0.1:5000 is not running: scripts/services.sh up");
    }
    String unique = UUID.randomUUID().toString().substring(0, 8);
    Path repo = work.resolve("repo");
    String commit;
    try (Git git = Git.init().setDirectory(repo.toFile()).setInitialBranch("main").call()) {
      Files.writeString(repo.resolve("train.py"), "print(1)\n");
      git.add().addFilepattern(".").call();
      commit = git.commit().setMessage("train").setSign(false).call().getName();
    }
    ImageRef deleted = LocalRegistry.pushThrowaway("timemachine-it/check-" + unique);
    try (Components components = new Components(Config.fromEnvironment(Map.of("TIMEMACHINE_HOME", home.toString())))) {
      Path data = Files.createDirectories(work.resolve("data"));
      Files.writeString(data.resolve("train.csv"), "a\n1\n");
      DataRef snapshot = components.snapshots().create(data, components.store().rootUri(), Progress.NONE);
      for (var entry : Map.of("kept", LocalRegistry.sampleImage(), "gone", deleted).entrySet()) {
        components.manifestRegistry().register(ModelVersion.of(new ModelRef(entry.getKey(), "1"),
            new Triplet(new CodeRef(repo.toUri().toString(), commit, List.of("python3", "train.py"), "."),
                new EnvironmentRef(entry.getValue()), snapshot.withoutFiles()),
            new RecordedOutputs(List.of(new FileEntry("model.bin", 1, "0".repeat(64))), "metrics.json", Map.of(), Map.of()),
            Instant.now()));
      }
    }
    Result before = cli("check", "kept@1,gone@1");
    assertThat(before.exit()).as("both replayable while the image exists: %s%s", before.out(), before.err()).isZero();

    LocalRegistry.delete(deleted);
    Result after = cli("check", "kept@1,gone@1");

    assertThat(after.exit()).as("an input is gone: %s%s", after.out(), after.err()).isEqualTo(3);
    assertThat(after.out().lines().filter(l -> l.startsWith("gone@1") && l.contains("environment")))
        .as("the table names the deleted image").singleElement().satisfies(line -> {
          assertThat(line).contains("MISSING").contains(deleted.toString());
        });
    assertThat(after.out().lines().filter(l -> l.startsWith("kept@1"))).as("the intact version stays OK")
        .isNotEmpty().allMatch(l -> l.contains(" OK "));
    assertThat(after.out()).contains("2 versions checked: 1 replayable, 1 with inputs gone");
    assertThat(Files.exists(home.resolve("work"))).as("nothing checked out, pulled or trained").isFalse();
  }

  @Test
  void replays_list_without_a_temporal_server_says_what_to_set() throws Exception {
    Result r = cli("replays", "list", "--verdict", "DIVERGED");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err().lines()).first().asString().startsWith("error: listing replays needs a Temporal server");
    assertThat(r.err()).contains("hint: set TEMPORAL_ADDRESS");
  }
}
