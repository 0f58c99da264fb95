package dev.timemachine.samples;

import dev.timemachine.core.training.TrainingContainer;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.ports.ContainerEngine;
import dev.timemachine.core.ports.Progress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Real sample runs in the real sample image, shared by the demo and the integration tests: generates
 * the churn data, and trains a sample once as "the original", exactly as a user's training run would
 * have happened.
 */
public final class SampleRuns {
  private SampleRuns() {}

  public static final TrainingLimits LIMITS = new TrainingLimits(1.0, 1L << 30, 600, 256);

  public static Path generateData(ContainerEngine engine, ImageRef image, SampleProject.Repository repo, Path target)
      throws IOException {
    return generateData(engine, image, repo, target, List.of());
  }

  /**
   * Generates a variant of the churn data: {@code --seed N}, {@code --shift X} (e.g. 1 for "next
   * quarter": same schema, shifted distribution), {@code --rename OLD=NEW} (a broken export).
   */
  public static Path generateData(
      ContainerEngine engine, ImageRef image, SampleProject.Repository repo, Path target, List<String> options)
      throws IOException {
    Files.createDirectories(target);
    List<String> command = new java.util.ArrayList<>(SampleProject.MAKE_DATA);
    command.addAll(options);
    CodeRef generator = new CodeRef(repo.url(), repo.commit(), command, ".");
    Path noInput = Files.createTempDirectory("timemachine-no-input"); // the generator reads nothing
    try {
      run(engine, TrainingContainer.request(
          "timemachine-it-data-" + System.nanoTime(), image, generator, repo.directory(),
          noInput, target, LIMITS, Map.of("dev.timemachine.role", "it")));
    } finally {
      Files.deleteIfExists(noInput);
    }
    require(Files.exists(target.resolve("customers.csv")), "the data generator wrote no customers.csv to " + target);
    return target;
  }

  public static Path trainOriginal(ContainerEngine engine, ImageRef image, SampleProject.Repository repo, Path data, Path out)
      throws IOException {
    train(engine, image, repo, data, out);
    require(Files.exists(out.resolve("model.pkl")), "the original training wrote no model.pkl to " + out);
    return out;
  }

  /** Trains {@code repo} as an original into {@code out}, whatever it writes there. */
  public static Path train(ContainerEngine engine, ImageRef image, SampleProject.Repository repo, Path data, Path out)
      throws IOException {
    Files.createDirectories(out);
    CodeRef code = new CodeRef(repo.url(), repo.commit(), SampleProject.ENTRY_POINT, ".");
    run(engine, TrainingContainer.request(
        "timemachine-it-train-" + System.nanoTime(), image, code, repo.directory(), data, out, LIMITS,
        Map.of("dev.timemachine.role", "it")));
    return out;
  }

  private static void run(ContainerEngine engine, ContainerEngine.ContainerRequest request) {
    ContainerEngine.ContainerExit exit = engine.run(request, Progress.NONE);
    require(exit.exitCode() == 0, request.name() + " exited with " + exit.exitCode() + "; log: " + exit.logTail());
  }

  private static void require(boolean condition, String problem) {
    if (!condition) {
      throw new IllegalStateException(problem);
    }
  }

  /** The churn data of the next quarter: the same schema, a shifted population. */
  public static final List<String> NEXT_QUARTER = List.of("--seed", "20270101", "--shift", "1");

  /** The next quarter's export with a column renamed: breaks the churn model's contract. */
  public static final List<String> NEXT_QUARTER_BROKEN =
      List.of("--seed", "20270101", "--shift", "1", "--rename", "support_calls=calls_to_support");

}
