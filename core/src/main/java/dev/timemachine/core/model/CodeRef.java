package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The code of a training run: a git repository, the full commit SHA (never a branch or tag, which
 * move), the entry point as an argv list, and the working directory relative to the repository root.
 *
 * @param unpushed {@code true} when the version was registered with {@code --allow-unpushed}: at
 *     registration no branch or tag of {@code repositoryUrl} contained {@code commit}, so a replay can
 *     only find it if it was pushed since. Null otherwise: false is stored as null, so that versions,
 *     reports and workflow histories from before the check read, compare and serialize the same.
 * @param evaluateEntryPoint the user's {@code evaluate} entry point ({@code register
 *     --evaluate-entry-point}): scores the version's recorded artifacts, mounted read-only at
 *     {@code $TIMEMACHINE_MODEL}, on the data at {@code $TIMEMACHINE_DATA}, writing the metrics file to
 *     {@code $TIMEMACHINE_OUTPUT}, without training ({@code backtest --evaluate}); empty when none was recorded
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record CodeRef(
    String repositoryUrl, String commit, List<String> entryPoint, String workingDirectory, Boolean unpushed,
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_EMPTY)
        List<String> evaluateEntryPoint) {
  private static final Pattern SHA1 = Pattern.compile("[0-9a-f]{40}");

  public CodeRef {
    if (repositoryUrl == null || repositoryUrl.isBlank()) {
      throw TimemachineException.invalidInput("code.repositoryUrl is required");
    }
    if (commit == null || !SHA1.matcher(commit).matches()) {
      throw TimemachineException.invalidInput(
          "code.commit must be a full 40-hex commit SHA (branches and tags move), got '" + commit + "'");
    }
    if (entryPoint == null || entryPoint.isEmpty() || entryPoint.stream().anyMatch(a -> a == null)) {
      throw TimemachineException.invalidInput("code.entryPoint must be a non-empty argv list");
    }
    entryPoint = List.copyOf(entryPoint);
    workingDirectory = workingDirectory == null || workingDirectory.isEmpty() ? "." : workingDirectory;
    RelativePaths.requireDirectory(workingDirectory, "code.workingDirectory");
    unpushed = Boolean.TRUE.equals(unpushed) ? Boolean.TRUE : null;
    evaluateEntryPoint = evaluateEntryPoint == null ? List.of() : List.copyOf(evaluateEntryPoint);
    if (evaluateEntryPoint.stream().anyMatch(a -> a == null)) {
      throw TimemachineException.invalidInput("code.evaluateEntryPoint must be an argv list without nulls");
    }
  }

  public CodeRef(String repositoryUrl, String commit, List<String> entryPoint, String workingDirectory, Boolean unpushed) {
    this(repositoryUrl, commit, entryPoint, workingDirectory, unpushed, List.of());
  }

  /** The same reference with {@code argv} as its recorded evaluate entry point. */
  public CodeRef withEvaluateEntryPoint(List<String> argv) {
    return new CodeRef(repositoryUrl, commit, entryPoint, workingDirectory, unpushed, argv);
  }

  /** The code as an evaluation runs it: the evaluate entry point in place of the training's. */
  public CodeRef forEvaluation() {
    if (evaluateEntryPoint.isEmpty()) {
      throw TimemachineException.invalidInput("no evaluate entry point was recorded for commit " + commit
          + " (register --evaluate-entry-point)");
    }
    return new CodeRef(repositoryUrl, commit, evaluateEntryPoint, workingDirectory, unpushed, List.of());
  }

  /** A code reference whose commit was reachable from its repository when it was registered. */
  public CodeRef(String repositoryUrl, String commit, List<String> entryPoint, String workingDirectory) {
    this(repositoryUrl, commit, entryPoint, workingDirectory, null);
  }

  /** The same reference, marked as registered although its commit was not pushed. */
  public CodeRef asUnpushed() {
    return new CodeRef(repositoryUrl, commit, entryPoint, workingDirectory, true, evaluateEntryPoint);
  }

  /** Whether it was registered with {@code --allow-unpushed}; every report shows a warning then. */
  public boolean registeredUnpushed() {
    return Boolean.TRUE.equals(unpushed);
  }
}
