package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One rule of which files of a training's output directory are its outputs, recorded with the model
 * version so that a replay collects exactly what the original registration did: a glob over paths
 * relative to the output directory ({@link java.nio.file.PathMatcher} {@code glob:} syntax, {@code *}
 * within one directory, {@code **} across directories), and optionally the name the one file it
 * matches is recorded under. A rename is what makes a run-id-dependent path such as {@code
 * mlruns/0/5f0c…/artifacts/model/model.pkl} comparable across runs.
 *
 * @param rename the recorded path of the single matched file, or null to record every match under its own path
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record OutputRule(String pattern, String rename) {
  public OutputRule {
    if (pattern == null || pattern.isBlank()) {
      throw TimemachineException.invalidInput("an output rule needs a glob pattern, e.g. 'mlruns/**/model.pkl=model.pkl'");
    }
    if (pattern.startsWith("/") || pattern.indexOf('\\') >= 0 || ("/" + pattern + "/").contains("/../")) {
      throw TimemachineException.invalidInput(
          "output pattern '" + pattern + "' must be relative to the output directory, with '/' and no '..'");
    }
    rename = rename == null || rename.isEmpty() ? null : RelativePaths.require(rename, "renamed output of '" + pattern + "'");
  }

  /**
   * Parses the command-line form {@code GLOB} or {@code GLOB=NAME}. The last {@code =} separates the
   * name, so a recorded name cannot contain one.
   */
  public static OutputRule parse(String text) {
    if (text == null) {
      throw TimemachineException.invalidInput("an output rule needs a glob pattern");
    }
    int eq = text.lastIndexOf('=');
    if (eq < 0) {
      return new OutputRule(text.trim(), null);
    }
    String name = text.substring(eq + 1).trim();
    if (name.isEmpty()) {
      throw TimemachineException.invalidInput("output rule '" + text + "': nothing after '=' (write GLOB or GLOB=NAME)");
    }
    return new OutputRule(text.substring(0, eq).trim(), name);
  }

  @Override
  public String toString() {
    return rename == null ? pattern : pattern + "=" + rename;
  }
}
