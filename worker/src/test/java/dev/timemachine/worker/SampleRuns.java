package dev.timemachine.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.activities.TrainingActivitiesImpl;
import dev.timemachine.domain.CodeRef;
import dev.timemachine.domain.ImageRef;
import dev.timemachine.domain.TrainingLimits;
import dev.timemachine.ports.ContainerEngine;
import dev.timemachine.ports.Progress;
import dev.timemachine.samples.SampleProject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Test fixture: real sample runs in the real sample image. Generates the churn data, and trains a
 * sample once as "the original", exactly as a user's training run would have happened.
 */
final class SampleRuns {
  private SampleRuns() {}

  static final TrainingLimits LIMITS = new TrainingLimits(1.0, 1L << 30, 600, 256);

  static Path generateData(ContainerEngine engine, ImageRef image, SampleProject.Repository repo, Path target)
      throws IOException {
    Files.createDirectories(target);
    CodeRef generator = new CodeRef(repo.url(), repo.commit(), SampleProject.MAKE_DATA, ".");
    run(engine, TrainingActivitiesImpl.trainingRequest(
        "timemachine-it-data-" + System.nanoTime(), image, generator, repo.directory(),
        Files.createTempDirectory("empty"), target, LIMITS, Map.of("dev.timemachine.role", "it")));
    assertThat(target.resolve("customers.csv")).as("generated data").exists();
    return target;
  }

  static Path trainOriginal(ContainerEngine engine, ImageRef image, SampleProject.Repository repo, Path data, Path out)
      throws IOException {
    Files.createDirectories(out);
    CodeRef code = new CodeRef(repo.url(), repo.commit(), SampleProject.ENTRY_POINT, ".");
    run(engine, TrainingActivitiesImpl.trainingRequest(
        "timemachine-it-train-" + System.nanoTime(), image, code, repo.directory(), data, out, LIMITS,
        Map.of("dev.timemachine.role", "it")));
    assertThat(out.resolve("model.pkl")).as("original model").exists();
    return out;
  }

  /** Trains {@code repo} as an original into {@code out}, whatever it writes there. */
  static Path train(ContainerEngine engine, ImageRef image, SampleProject.Repository repo, Path data, Path out)
      throws IOException {
    Files.createDirectories(out);
    CodeRef code = new CodeRef(repo.url(), repo.commit(), SampleProject.ENTRY_POINT, ".");
    run(engine, TrainingActivitiesImpl.trainingRequest(
        "timemachine-it-train-" + System.nanoTime(), image, code, repo.directory(), data, out, LIMITS,
        Map.of("dev.timemachine.role", "it")));
    return out;
  }

  private static void run(ContainerEngine engine, ContainerEngine.ContainerRequest request) {
    ContainerEngine.ContainerExit exit = engine.run(request, Progress.NONE);
    assertThat(exit.exitCode()).as("exit of %s, log: %s", request.name(), exit.logTail()).isZero();
  }

  static List<String> entryPoint() {
    return SampleProject.ENTRY_POINT;
  }
}
