package dev.timemachine.core.model;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which files of an output directory are a run's outputs, and under which names: the one function
 * both registration and replay apply, so that the original and its rebuild are collected alike. Pure:
 * it sees a listing of relative paths and touches no file, so it is tested without a directory.
 *
 * <p>Without rules every file is an output, except the MLflow scratch store under {@value
 * #MLFLOW_SCRATCH_DIR}/ (a training that logs to MLflow writes run ids, timestamps and copies of its
 * outputs there; only a rule that names it selects from it). With rules, only what they select is an
 * output; every other file is ignored.
 */
public final class OutputRules {
  /** Where the training container's MLflow file store lives, relative to the output directory. */
  public static final String MLFLOW_SCRATCH_DIR = ".mlruns";

  private OutputRules() {}

  /** An output: the file's path in the output directory and the path it is recorded under. */
  public record Selected(String source, String name) {}

  /**
   * The outputs, sorted by recorded name; the patterns that matched nothing; and what makes the rules
   * ambiguous for this listing: a rename whose pattern matched more than one file (none of them is
   * selected), two files recorded under one name (the first, by path, is). Registration refuses
   * both; a replay collects what it can, since an output that is not rebuilt is a verdict, not an error.
   */
  public record Selection(List<Selected> files, List<String> unmatched, List<String> problems) {
    public Selection {
      files = List.copyOf(files);
      unmatched = List.copyOf(unmatched);
      problems = List.copyOf(problems);
    }

    /** The source path of the output recorded as {@code name}, or null. */
    public String sourceOf(String name) {
      for (Selected s : files) {
        if (s.name().equals(name)) {
          return s.source();
        }
      }
      return null;
    }
  }

  /**
   * Applies {@code rules} (empty or null: everything but the scratch store) to {@code paths}, the
   * output directory's regular files relative to it with {@code /} separators.
   */
  public static Selection select(List<String> paths, List<OutputRule> rules) {
    Map<String, String> byName = new TreeMap<>();
    List<String> unmatched = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    if (rules == null || rules.isEmpty()) {
      for (String path : paths) {
        if (!path.startsWith(MLFLOW_SCRATCH_DIR + "/")) {
          byName.put(path, path);
        }
      }
      return new Selection(toSelected(byName), unmatched, problems);
    }
    for (OutputRule rule : rules) {
      PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + rule.pattern());
      List<String> matches = new ArrayList<>();
      for (String path : paths) {
        if (matcher.matches(Path.of(path))) {
          matches.add(path);
        }
      }
      matches.sort(null);
      if (matches.isEmpty()) {
        unmatched.add(rule.pattern());
        continue;
      }
      if (rule.rename() != null && matches.size() > 1) {
        problems.add("output rule '" + rule + "' renames one file, but its pattern matched " + matches.size() + ": "
            + String.join(", ", matches.subList(0, Math.min(5, matches.size()))) + (matches.size() > 5 ? ", …" : "")
            + "; make the pattern match exactly one file");
        continue;
      }
      for (String source : matches) {
        String name = rule.rename() == null ? source : rule.rename();
        String earlier = byName.putIfAbsent(name, source);
        if (earlier != null && !earlier.equals(source)) {
          problems.add("two files would be recorded as '" + name + "': " + earlier + " and " + source
              + " (rule '" + rule + "'); rename one of them");
        }
      }
    }
    return new Selection(toSelected(byName), unmatched, problems);
  }

  private static List<Selected> toSelected(Map<String, String> byName) {
    List<Selected> files = new ArrayList<>();
    byName.forEach((name, source) -> files.add(new Selected(source, name)));
    return files;
  }
}
