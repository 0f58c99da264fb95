package dev.timemachine.registries.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.errors.TimemachineException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.exec.CommandLine;

/**
 * Turns what a user gives as {@code --entry-point} into the argv a replay runs. A replay runs no
 * shell, so the record is always an argv list, decided once at registration: a replay never parses a
 * command line or an MLproject file again, and cannot parse it differently.
 *
 * <p>Three forms:
 *
 * <ul>
 *   <li>a JSON array of strings, {@code ["python3", "train.py", "--name", "a b"]}, taken as it is;
 *   <li>words separated by spaces, where {@code 'single'} or {@code "double"} quotes keep spaces in one
 *       word: {@code python3 train.py --name 'a b'} is four words. Split by commons-exec, which knows
 *       no backslash escapes, variables or globs, and trims each word; anything it cannot say needs
 *       the JSON form. Unbalanced quotes, tabs and line breaks are refused rather than guessed at;
 *   <li>{@code mlproject:NAME}: the command of entry point NAME in the {@code MLproject} file of the
 *       working directory at the recorded commit, with its {@code {param}} placeholders filled in from
 *       the file's defaults and {@code -P name=value} (see {@link #fromMlproject}).
 * </ul>
 */
public final class EntryPoints {
  public static final String MLPROJECT_PREFIX = "mlproject:";
  public static final String MLPROJECT_FILE = "MLproject";

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^{}\\s]*)}");
  /** Words a shell would treat as operators; an argv has no shell to give them meaning. */
  private static final Set<String> SHELL_OPERATORS = Set.of("&&", "||", "|", ";", "&", ">", ">>", "<", "2>", "2>&1", "<<");

  /** Reads a file of the recorded commit by its path relative to the repository root. */
  @FunctionalInterface
  public interface SourceFiles {
    Optional<byte[]> read(String path);
  }

  private EntryPoints() {}

  /**
   * The argv for {@code --entry-point text}; {@code parameters} are the {@code -P} values, allowed
   * only with {@code mlproject:}, and {@code source} reads the MLproject file of the recorded commit.
   */
  public static List<String> resolve(
      String text, Map<String, String> parameters, String workingDirectory, SourceFiles source) {
    String trimmed = text == null ? "" : text.strip();
    if (trimmed.startsWith(MLPROJECT_PREFIX)) {
      String name = trimmed.substring(MLPROJECT_PREFIX.length()).strip();
      if (name.isEmpty()) {
        throw TimemachineException.invalidInput("--entry-point mlproject: needs an entry point name, e.g. mlproject:main");
      }
      String path = workingDirectory == null || workingDirectory.equals(".") || workingDirectory.isEmpty()
          ? MLPROJECT_FILE
          : workingDirectory.replaceAll("/+$", "") + "/" + MLPROJECT_FILE;
      byte[] yaml = source.read(path).orElseThrow(() -> TimemachineException.invalidInput(
          "--entry-point " + trimmed + ": the recorded commit has no " + path
              + " (the MLproject file must be committed in the working directory, --workdir)"));
      return fromMlproject(yaml, path, name, parameters);
    }
    if (parameters != null && !parameters.isEmpty()) {
      throw TimemachineException.invalidInput(
          "-P " + parameters.keySet().iterator().next() + "=... fills in MLproject parameters: it needs --entry-point mlproject:NAME");
    }
    return parse(trimmed);
  }

  /** A JSON array of strings, or words with quotes. */
  public static List<String> parse(String text) {
    String trimmed = text == null ? "" : text.strip();
    if (trimmed.startsWith("[")) {
      List<String> argv;
      try {
        argv = Arrays.asList(Json.mapper().readValue(trimmed, String[].class));
      } catch (IOException e) {
        throw TimemachineException.invalidInput("--entry-point is not a valid JSON array of strings: " + trimmed);
      }
      if (argv.isEmpty() || argv.contains(null)) {
        throw TimemachineException.invalidInput("--entry-point must name a command: got " + trimmed);
      }
      return argv;
    }
    return words(trimmed, "--entry-point");
  }

  /** Splits a command line into words with commons-exec; {@code what} names it in errors. */
  static List<String> words(String text, String what) {
    if (text.isBlank()) {
      throw TimemachineException.invalidInput(what + " is empty: give the command, e.g. \"python3 train.py\"");
    }
    if (text.chars().anyMatch(c -> c == '\t' || c == '\n' || c == '\r')) {
      throw TimemachineException.invalidInput(
          what + " contains a tab or a line break: separate words with spaces, or give a JSON array such as [\"python3\", \"train.py\"]");
    }
    String[] words;
    try {
      // A placeholder executable: getArguments() without quoting returns the words as they were split.
      words = new CommandLine("entry-point").addArguments(text, false).getArguments();
    } catch (IllegalArgumentException e) {
      throw TimemachineException.invalidInput(
          what + " has unbalanced quotes: " + text + " (close every ' and \", or give a JSON array)");
    }
    if (words.length == 0) {
      throw TimemachineException.invalidInput(what + " is empty: give the command, e.g. \"python3 train.py\"");
    }
    return List.of(words);
  }

  /**
   * The argv of entry point {@code name} in an MLproject file, as {@code mlflow run -e name -P ...}
   * would run it: its {@code command} split into words, then each {@code {param}} in a word replaced
   * by the parameter's value ({@code -P} over the file's {@code default}), so a value with spaces stays
   * one argument. Parameters given but not declared are appended as {@code --name value}, as MLflow
   * does. A declared parameter without a default that is not given, a placeholder that names no
   * declared parameter, a {@code float} that is not a number and shell operators in the command are
   * refused.
   */
  public static List<String> fromMlproject(byte[] yaml, String file, String name, Map<String, String> given) {
    Map<String, String> overrides = given == null ? Map.of() : given;
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (IOException e) {
      throw TimemachineException.invalidInput(file + " is not valid YAML: " + e.getMessage().lines().findFirst().orElse(""));
    }
    JsonNode entryPoints = root == null ? null : root.get("entry_points");
    if (entryPoints == null || !entryPoints.isObject() || entryPoints.isEmpty()) {
      throw TimemachineException.invalidInput(file + " declares no entry_points");
    }
    JsonNode entry = entryPoints.get(name);
    if (entry == null || !entry.isObject()) {
      Set<String> names = new TreeSet<>();
      entryPoints.fieldNames().forEachRemaining(names::add);
      throw TimemachineException.invalidInput(
          file + " has no entry point '" + name + "' (its entry points: " + String.join(", ", names) + ")");
    }
    JsonNode command = entry.get("command");
    if (command == null || !command.isTextual() || command.asText().isBlank()) {
      throw TimemachineException.invalidInput(file + ": entry point '" + name + "' has no command");
    }

    Map<String, String> values = new LinkedHashMap<>();
    JsonNode declared = entry.get("parameters");
    if (declared != null && declared.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = declared.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> parameter = it.next();
        String key = parameter.getKey();
        JsonNode spec = parameter.getValue();
        String type = spec.isObject() ? text(spec.get("type"), "string") : text(spec, "string");
        JsonNode defaultValue = spec.isObject() ? spec.get("default") : null;
        String value = overrides.containsKey(key) ? overrides.get(key)
            : defaultValue != null && !defaultValue.isNull() ? defaultValue.asText() : null;
        if (value == null) {
          throw TimemachineException.invalidInput(
              file + ": entry point '" + name + "' needs parameter '" + key + "', which has no default: pass -P " + key + "=VALUE");
        }
        if (type.equals("float") && !isNumber(value)) {
          throw TimemachineException.invalidInput(
              file + ": parameter '" + key + "' of entry point '" + name + "' is a float, got '" + value + "'");
        }
        values.put(key, value);
      }
    }

    List<String> argv = new ArrayList<>();
    for (String word : words(command.asText().strip(), file + ": the command of entry point '" + name + "'")) {
      if (SHELL_OPERATORS.contains(word)) {
        throw TimemachineException.invalidInput(
            file + ": the command of entry point '" + name + "' uses the shell operator '" + word
                + "', but a replay runs an argv without a shell: put the steps in a script and make running it the command");
      }
      Matcher placeholder = PLACEHOLDER.matcher(word);
      StringBuilder filled = new StringBuilder();
      while (placeholder.find()) {
        String key = placeholder.group(1);
        String value = values.get(key);
        if (value == null) {
          throw TimemachineException.invalidInput(
              file + ": the command of entry point '" + name + "' refers to {" + key + "}, which is not among its parameters "
                  + values.keySet());
        }
        placeholder.appendReplacement(filled, Matcher.quoteReplacement(value));
      }
      placeholder.appendTail(filled);
      argv.add(filled.toString());
    }
    for (Map.Entry<String, String> extra : overrides.entrySet()) {
      if (!values.containsKey(extra.getKey())) {
        argv.add("--" + extra.getKey());
        argv.add(extra.getValue());
      }
    }
    return List.copyOf(argv);
  }

  private static String text(JsonNode node, String otherwise) {
    return node == null || node.isNull() || !node.isValueNode() ? otherwise : node.asText();
  }

  private static boolean isNumber(String value) {
    try {
      Double.parseDouble(value);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }
}
