package dev.timemachine.core.model;

import dev.timemachine.core.json.Json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class OutputRulesTest {
  /** What a training that logs to MLflow leaves in /out: run-id-dependent paths, and its own files. */
  private static final List<String> MLFLOW_RUN =
      List.of(
          ".mlruns/0/meta.yaml",
          ".mlruns/0/5f0c1a/meta.yaml",
          ".mlruns/0/5f0c1a/metrics/accuracy",
          ".mlruns/0/5f0c1a/artifacts/model/model.pkl",
          ".mlruns/0/5f0c1a/artifacts/model/MLmodel",
          ".mlruns/0/5f0c1a/artifacts/metrics.json",
          "notes/run.log",
          "report.txt");

  private static List<OutputRule> rules(String... texts) {
    return java.util.Arrays.stream(texts).map(OutputRule::parse).toList();
  }

  @Test
  void without_rules_every_file_is_an_output_except_the_mlflow_scratch_store() {
    OutputRules.Selection s = OutputRules.select(MLFLOW_RUN, List.of());
    assertThat(s.files()).extracting(OutputRules.Selected::name).containsExactly("notes/run.log", "report.txt");
    assertThat(s.files()).allSatisfy(f -> assertThat(f.source()).isEqualTo(f.name()));
    assertThat(s.problems()).isEmpty();
    assertThat(OutputRules.select(MLFLOW_RUN, null).files()).hasSize(2);
  }

  @Test
  void a_double_star_glob_crosses_directories_and_a_rename_records_the_one_match_under_its_name() {
    OutputRules.Selection s =
        OutputRules.select(MLFLOW_RUN, rules(".mlruns/**/artifacts/model/model.pkl=model.pkl", "report.txt"));
    assertThat(s.files())
        .containsExactly(
            new OutputRules.Selected(".mlruns/0/5f0c1a/artifacts/model/model.pkl", "model.pkl"),
            new OutputRules.Selected("report.txt", "report.txt"));
    assertThat(s.sourceOf("model.pkl")).isEqualTo(".mlruns/0/5f0c1a/artifacts/model/model.pkl");
    assertThat(s.unmatched()).isEmpty();
    assertThat(s.problems()).isEmpty();
  }

  @Test
  void a_single_star_stays_within_one_directory_and_unmatched_files_are_ignored() {
    OutputRules.Selection s = OutputRules.select(MLFLOW_RUN, rules("*.txt", "notes/*"));
    assertThat(s.files()).extracting(OutputRules.Selected::name).containsExactly("notes/run.log", "report.txt");
    assertThat(OutputRules.select(MLFLOW_RUN, rules("*.yaml")).unmatched()).containsExactly("*.yaml");
  }

  @Test
  void a_pattern_that_matches_nothing_is_named() {
    OutputRules.Selection s = OutputRules.select(MLFLOW_RUN, rules("report.txt", "mlruns/**/model.pkl=model.pkl"));
    assertThat(s.unmatched()).containsExactly("mlruns/**/model.pkl");
    assertThat(s.files()).extracting(OutputRules.Selected::name).containsExactly("report.txt");
  }

  @Test
  void a_rename_whose_pattern_matches_several_files_is_a_problem_and_selects_none_of_them() {
    OutputRules.Selection s = OutputRules.select(MLFLOW_RUN, rules(".mlruns/**/meta.yaml=meta.yaml"));
    assertThat(s.files()).isEmpty();
    assertThat(s.problems()).singleElement().asString()
        .contains("'.mlruns/**/meta.yaml=meta.yaml'", "matched 2", ".mlruns/0/5f0c1a/meta.yaml", ".mlruns/0/meta.yaml");
  }

  @Test
  void two_files_recorded_under_one_name_are_a_problem() {
    OutputRules.Selection s = OutputRules.select(MLFLOW_RUN, rules("report.txt", "notes/run.log=report.txt"));
    assertThat(s.problems()).singleElement().asString().contains("two files would be recorded as 'report.txt'");
    // The same file selected by two rules under its own name is simply one output.
    assertThat(OutputRules.select(MLFLOW_RUN, rules("*.txt", "report.txt")).problems()).isEmpty();
  }

  @Test
  void the_command_line_form_is_parsed_and_unsafe_patterns_or_names_are_refused() {
    assertThat(OutputRule.parse("metrics.json")).isEqualTo(new OutputRule("metrics.json", null));
    assertThat(OutputRule.parse("a/**/m.pkl=model/m.pkl")).isEqualTo(new OutputRule("a/**/m.pkl", "model/m.pkl"));
    assertThat(OutputRule.parse("a/**/m.pkl=model/m.pkl")).hasToString("a/**/m.pkl=model/m.pkl");
    assertThatThrownBy(() -> OutputRule.parse("/out/model.pkl")).hasMessageContaining("relative");
    assertThatThrownBy(() -> OutputRule.parse("../x")).hasMessageContaining("'..'");
    assertThatThrownBy(() -> OutputRule.parse("x=../model.pkl")).hasMessageContaining("not a safe relative path");
    assertThatThrownBy(() -> OutputRule.parse("x=")).hasMessageContaining("nothing after '='");
    assertThatThrownBy(() -> OutputRule.parse("")).hasMessageContaining("glob pattern");
  }

  @Test
  void a_manifest_written_before_rules_existed_reads_with_no_rules_and_is_written_back_the_same() {
    String old = """
        {
          "artifacts" : [ {
            "path" : "model.pkl",
            "sha256" : "%s",
            "size" : 2
          } ],
          "metrics" : {
            "f1" : 0.5
          },
          "metricsFile" : "metrics.json",
          "tolerances" : { }
        }
        """.formatted("c".repeat(64));
    RecordedOutputs read = Json.parse(old.getBytes(StandardCharsets.UTF_8), RecordedOutputs.class, "old manifest");
    assertThat(read.outputRules()).isEmpty();
    assertThat(read.metrics()).isEqualTo(Map.of("f1", 0.5));
    // No "outputRules" key without rules: an old version registered again is the same document as before.
    assertThat(new String(Json.toBytes(read), StandardCharsets.UTF_8)).doesNotContain("outputRules");
    assertThat(read).isEqualTo(new RecordedOutputs(read.artifacts(), "metrics.json", Map.of("f1", 0.5), Map.of()));
  }

  @Test
  void rules_are_recorded_in_the_manifest_and_read_back() {
    RecordedOutputs recorded =
        new RecordedOutputs(List.of(new FileEntry("model.pkl", 2, "c".repeat(64))), "metrics.json", Map.of("f1", 0.5),
            Map.of(), rules(".mlruns/**/model.pkl=model.pkl", "metrics.json"));
    byte[] json = Json.toBytes(recorded);
    assertThat(new String(json, StandardCharsets.UTF_8)).contains("\"pattern\" : \".mlruns/**/model.pkl\"", "\"rename\" : \"model.pkl\"");
    assertThat(Json.parse(json, RecordedOutputs.class, "manifest")).isEqualTo(recorded);
  }
}
