package dev.timemachine.registries.mlflow;

import dev.timemachine.core.errors.TimemachineException;
import java.util.regex.Pattern;

/**
 * A model version in MLflow, as a replay names it: {@code churn@champion} (an alias, resolved when the
 * replay starts) or {@code churn/3} (a version number), after the {@code mlflow:} prefix that routes
 * it here. Stages ({@code churn/Production}) are deprecated in MLflow 3 and not supported: use an
 * alias.
 *
 * @param name the registered model's name
 * @param alias the alias, or null when the version is given
 * @param version the version number, or null when an alias is given
 */
public record MlflowSpec(String name, String alias, String version) {
  private static final Pattern VERSION = Pattern.compile("[1-9][0-9]{0,18}");
  private static final Pattern ALIAS = Pattern.compile("[A-Za-z0-9_-]{1,255}");
  static final String FORMS = "<name>@<alias> or <name>/<version number>, e.g. churn@champion or churn/3";

  public MlflowSpec {
    if (name == null || name.isBlank() || name.contains("/") || name.contains(":")) {
      throw TimemachineException.invalidInput("MLflow model name '" + name + "' is empty or contains '/' or ':'");
    }
    if ((alias == null) == (version == null)) {
      throw TimemachineException.invalidInput("an MLflow model spec names an alias or a version: " + FORMS);
    }
    if (alias != null && !ALIAS.matcher(alias).matches()) {
      throw TimemachineException.invalidInput(
          "MLflow alias '" + alias + "' may only contain letters, digits, '_' and '-'");
    }
    if (version != null && !VERSION.matcher(version).matches()) {
      throw TimemachineException.invalidInput(
          "MLflow model version '" + version + "' is not a version number (stages are not supported; use an alias): " + FORMS);
    }
  }

  /** Parses {@code name@alias} or {@code name/version}. */
  public static MlflowSpec parse(String spec) {
    if (spec == null || spec.isBlank()) {
      throw TimemachineException.invalidInput("an MLflow model spec is required: " + FORMS);
    }
    String text = spec.trim();
    int slash = text.lastIndexOf('/');
    int at = text.lastIndexOf('@');
    if (slash > 0 && slash > at) {
      return new MlflowSpec(text.substring(0, slash), null, text.substring(slash + 1));
    }
    if (at > 0 && slash < 0) {
      return new MlflowSpec(text.substring(0, at), text.substring(at + 1), null);
    }
    throw TimemachineException.invalidInput("'" + spec + "' is not an MLflow model spec: expected " + FORMS);
  }

  public boolean byAlias() {
    return alias != null;
  }

  @Override
  public String toString() {
    return byAlias() ? name + "@" + alias : name + "/" + version;
  }
}
