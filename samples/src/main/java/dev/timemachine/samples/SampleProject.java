package dev.timemachine.samples;

import dev.timemachine.core.errors.TimemachineException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.revwalk.RevCommit;

/**
 * The sample training projects, turned into real git repositories at run time so that a real commit
 * SHA exists for the triplet. The commit's author and date are fixed, so the same sample always gets
 * the same SHA.
 */
public final class SampleProject {
  /** The seeded churn model: must come back {@code REPRODUCED_BITWISE}. */
  public static final String CHURN = "churn";

  /** The unseeded variant: must never come back {@code REPRODUCED_BITWISE}. */
  public static final String CHURN_UNSEEDED = "churn-unseeded";

  /**
   * The seeded churn model writing its outputs under a random run id, as MLflow's file store lays them
   * out: reproduced bitwise only when registered with output rules that rename them.
   */
  public static final String CHURN_MLRUNS = "churn-mlruns";

  /** The seeded churn model logging only through MLflow (needs the MLflow sample image). */
  public static final String CHURN_MLFLOW = "churn-mlflow";

  /** Seeded, but it writes an MLflow-style MLmodel with its creation time: only metadata differs. */
  public static final String CHURN_METADATA = "churn-metadata";

  /** An unseeded two-layer NumPy network whose weights are an .npz: differs tensor by tensor. */
  public static final String CHURN_NUMPY = "churn-numpy";

  private static final List<String> KNOWN =
      List.of(CHURN, CHURN_UNSEEDED, CHURN_MLRUNS, CHURN_MLFLOW, CHURN_METADATA, CHURN_NUMPY);

  /** The entry point of every sample, run in the code directory of the training container. */
  public static final List<String> ENTRY_POINT = List.of("python3", "train.py");

  /** The data generator, run in the sample image with the output mounted at /out. */
  public static final List<String> MAKE_DATA = List.of("python3", "/code/make_data.py", "/out");

  private static final List<String> FILES = List.of("train.py", "make_data.py", "probe.py", "evaluate.py");
  /** The seeded sample's evaluate entry point (backtest --evaluate): scores model.pkl on the data. */
  public static final List<String> EVALUATE_ENTRY_POINT = List.of("python3", "evaluate.py");
  private static final PersonIdent AUTHOR =
      new PersonIdent(
          "timemachine samples", "samples@timemachine.invalid",
          Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC);

  /** A sample checked into a fresh git repository. */
  public record Repository(Path directory, String commit) {
    public String url() {
      return directory.toUri().toString();
    }
  }

  private SampleProject() {}

  /** Writes sample {@code name} into {@code directory} and commits it; returns the repository and SHA. */
  public static Repository createRepository(String name, Path directory) {
    try {
      Files.createDirectories(directory);
      copyFiles(name, directory);
      try (Git git = Git.init().setDirectory(directory.toFile()).setInitialBranch("main").call()) {
        git.add().addFilepattern(".").call();
        RevCommit commit =
            git.commit().setMessage("Sample " + name).setAuthor(AUTHOR).setCommitter(AUTHOR).setSign(false).call();
        return new Repository(directory, commit.getName());
      }
    } catch (GitAPIException e) {
      throw new IllegalStateException("could not create the sample repository in " + directory, e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Commits a change to {@code train.py} (e.g. a bug that exits 1) and returns the new SHA. */
  public static String commitChange(Repository repository, String file, String content, String message) {
    try (Git git = Git.open(repository.directory().toFile())) {
      Files.writeString(repository.directory().resolve(file), content);
      git.add().addFilepattern(file).call();
      return git.commit().setMessage(message).setAuthor(AUTHOR).setCommitter(AUTHOR).setSign(false).call().getName();
    } catch (IOException | GitAPIException e) {
      throw new IllegalStateException("could not commit to " + repository.directory(), e);
    }
  }

  /** Copies a sample's files (from the jar) into {@code directory} without git. */
  public static void copyFiles(String name, Path directory) throws IOException {
    if (!KNOWN.contains(name)) {
      throw TimemachineException.invalidInput("unknown sample '" + name + "' (known: " + String.join(", ", KNOWN) + ")");
    }
    Files.createDirectories(directory);
    for (String file : FILES) {
      // The variants share the seeded one's data generator.
      String from = file.equals("make_data.py") ? CHURN : name;
      try (InputStream in = SampleProject.class.getResourceAsStream(from + "/" + file)) {
        if (in == null) {
          if (file.equals("make_data.py") || file.equals("probe.py") || file.equals("evaluate.py")) {
            continue; // only the samples that have one
          }
          throw new IllegalStateException("sample resource " + from + "/" + file + " is missing from the jar");
        }
        Files.copy(in, directory.resolve(file), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }
}
