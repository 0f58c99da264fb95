package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.regex.Pattern;

/** A model version's name and version, written {@code name@version} on the command line. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ModelRef(String name, String version) {
  private static final Pattern PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  public ModelRef {
    if (name == null || !PART.matcher(name).matches()) {
      throw TimemachineException.invalidInput(
          "model name '" + name + "' must be 1-128 of letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    if (version == null || !PART.matcher(version).matches()) {
      throw TimemachineException.invalidInput(
          "model version '" + version + "' must be 1-128 of letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
  }

  /** Parses {@code name@version}. */
  public static ModelRef parse(String text) {
    int at = text == null ? -1 : text.lastIndexOf('@');
    if (at <= 0 || at == text.length() - 1) {
      throw TimemachineException.invalidInput("expected <name>@<version>, got '" + text + "'");
    }
    return new ModelRef(text.substring(0, at), text.substring(at + 1));
  }

  @Override
  public String toString() {
    return name + "@" + version;
  }
}
