package dev.timemachine.registries.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator.ReplaceUnderscores;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(ReplaceUnderscores.class)
class EntryPointsTest {
  private static final String MLPROJECT = """
      name: wine
      entry_points:
        main:
          parameters:
            alpha: {type: float, default: 0.5}
            l1_ratio: {type: float, default: 0.1}
            name: string
          command: "python train.py --alpha {alpha} --l1-ratio={l1_ratio} --name {name}"
        shell:
          command: "python prepare.py && python train.py"
        plain:
          command: python3 train.py
      """;

  private static final EntryPoints.SourceFiles NO_FILES = path -> Optional.empty();

  @Test
  void words_with_quotes_keep_a_quoted_space_in_one_argument() {
    assertThat(EntryPoints.parse("python3 train.py --name 'a b'")).containsExactly("python3", "train.py", "--name", "a b");
    assertThat(EntryPoints.parse("  python3   train.py --msg \"it's\" ''  ")).containsExactly("python3", "train.py", "--msg", "it's", "");
  }

  @Test
  void a_json_array_is_taken_as_it_is() {
    assertThat(EntryPoints.parse("[\"python3\", \"train.py\", \"--name\", \"a b\"]")).containsExactly("python3", "train.py", "--name", "a b");
  }

  @Test
  void unbalanced_quotes_are_invalid_input_naming_the_problem() {
    assertThatThrownBy(() -> EntryPoints.parse("python3 train.py --name 'a b"))
        .isInstanceOfSatisfying(TimemachineException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.INVALID_INPUT))
        .hasMessageStartingWith("--entry-point has unbalanced quotes: python3 train.py --name 'a b");
  }

  @Test
  void empty_tabs_and_bad_json_are_invalid_input() {
    for (String bad : List.of("", "   ", "python3\ttrain.py", "python3 train.py\nrm -rf /", "[\"python3\", 1", "[]")) {
      assertThatThrownBy(() -> EntryPoints.parse(bad)).as("'%s'", bad)
          .isInstanceOfSatisfying(TimemachineException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.INVALID_INPUT));
    }
  }

  @Test
  void parameters_without_an_mlproject_entry_point_are_refused() {
    assertThatThrownBy(() -> EntryPoints.resolve("python3 train.py", Map.of("alpha", "1"), ".", NO_FILES))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("needs --entry-point mlproject:NAME");
  }

  @Test
  void an_mlproject_entry_point_fills_in_defaults_and_given_parameters() {
    Map<String, String> given = new LinkedHashMap<>();
    given.put("name", "a b");
    given.put("alpha", "0.7");
    given.put("epochs", "3");
    List<String> read = new java.util.ArrayList<>();

    List<String> argv = EntryPoints.resolve("mlproject:main", given, "src", path -> {
      read.add(path);
      return Optional.of(MLPROJECT.getBytes(StandardCharsets.UTF_8));
    });

    assertThat(read).as("the MLproject of the working directory").containsExactly("src/MLproject");
    assertThat(argv).as("-P over defaults, a value with a space stays one word, undeclared ones appended as MLflow does")
        .containsExactly("python", "train.py", "--alpha", "0.7", "--l1-ratio=0.1", "--name", "a b", "--epochs", "3");
    assertThat(EntryPoints.resolve("mlproject:plain", Map.of(), ".", path -> {
      assertThat(path).isEqualTo("MLproject");
      return Optional.of(MLPROJECT.getBytes(StandardCharsets.UTF_8));
    })).containsExactly("python3", "train.py");
  }

  @Test
  void a_missing_required_parameter_is_invalid_input_naming_it() {
    assertThatThrownBy(() -> EntryPoints.fromMlproject(bytes(MLPROJECT), "MLproject", "main", Map.of()))
        .isInstanceOfSatisfying(TimemachineException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.INVALID_INPUT))
        .hasMessage("MLproject: entry point 'main' needs parameter 'name', which has no default: pass -P name=VALUE");
  }

  @Test
  void unknown_entry_points_non_numbers_for_floats_shell_operators_and_a_missing_file_are_refused() {
    assertThatThrownBy(() -> EntryPoints.fromMlproject(bytes(MLPROJECT), "MLproject", "train", Map.of()))
        .hasMessage("MLproject has no entry point 'train' (its entry points: main, plain, shell)");
    assertThatThrownBy(() -> EntryPoints.fromMlproject(bytes(MLPROJECT), "MLproject", "main", Map.of("name", "x", "alpha", "lots")))
        .hasMessageContaining("parameter 'alpha' of entry point 'main' is a float, got 'lots'");
    assertThatThrownBy(() -> EntryPoints.fromMlproject(bytes(MLPROJECT), "MLproject", "shell", Map.of()))
        .hasMessageContaining("uses the shell operator '&&'");
    assertThatThrownBy(() -> EntryPoints.fromMlproject(bytes("entry_points:\n  main:\n    command: python {x}\n"), "MLproject", "main", Map.of()))
        .hasMessageContaining("refers to {x}, which is not among its parameters");
    assertThatThrownBy(() -> EntryPoints.fromMlproject(bytes("entry_points: [\n"), "MLproject", "main", Map.of()))
        .hasMessageStartingWith("MLproject is not valid YAML");
    assertThatThrownBy(() -> EntryPoints.resolve("mlproject:main", Map.of(), ".", NO_FILES))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("the recorded commit has no MLproject");
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
