package dev.timemachine.core.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.errors.TimemachineException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class SelectionsTest {
  private static final Map<String, List<Candidate>> REGISTRIES = Map.of(
      "manifest", List.of(
          new Candidate("manifest", "churn", "1", List.of(), null),
          new Candidate("manifest", "churn", "2", List.of(), null),
          new Candidate("manifest", "churn", "10", List.of(), null),
          new Candidate("manifest", "fraud", "a", List.of(), null)),
      "mlflow", List.of(
          new Candidate("mlflow", "churn", "1", List.of(), null),
          new Candidate("mlflow", "churn", "2", List.of("champion"), null),
          new Candidate("mlflow", "churn", "3", List.of("challenger"), "run r3 has no tag timemachine.image"),
          new Candidate("mlflow", "fraud", "4", List.of("champion"), "run r4 logged no artifacts under outputs/")));

  private static Selection select(String selector) {
    return Selections.resolve(Selector.parse(selector), "manifest", REGISTRIES::get);
  }

  @Test
  void every_version_of_a_builtin_model() {
    assertThat(select("churn@*").specs()).containsExactly("churn@1", "churn@2", "churn@10");
  }

  @Test
  void latest_is_the_highest_version_by_number_not_by_text() {
    assertThat(select("*@latest").specs()).containsExactly("churn@10", "fraud@a");
  }

  @Test
  void an_mlflow_alias_selects_the_versions_carrying_it_and_says_why_one_is_left_out() {
    Selection selection = select("mlflow:*@champion");
    assertThat(selection.specs()).containsExactly("mlflow:churn/2");
    assertThat(selection.selected().get(0).because()).isEqualTo("mlflow:*@champion (alias champion)");
    assertThat(selection.excluded()).singleElement().satisfies(e -> {
      assertThat(e.spec()).isEqualTo("mlflow:fraud/4");
      assertThat(e.reason()).contains("logged no artifacts");
    });
  }

  @Test
  void every_version_of_an_mlflow_model() {
    Selection selection = select("mlflow:churn/*");
    assertThat(selection.specs()).containsExactly("mlflow:churn/1", "mlflow:churn/2");
    assertThat(selection.excluded()).extracting(Selection.Excluded::spec).containsExactly("mlflow:churn/3");
  }

  @Test
  void an_explicit_list_across_registries_without_duplicates_and_with_what_is_missing() {
    Selection selection = select("churn@2, mlflow:churn/1 churn@2,churn@9,nope@*");
    assertThat(selection.specs()).containsExactly("churn@2", "mlflow:churn/1");
    assertThat(selection.excluded()).extracting(Selection.Excluded::reason)
        .containsExactly("not found in the manifest registry", "matches no version in the manifest registry");
  }

  @Test
  void an_item_without_a_version_is_refused_with_the_forms() {
    assertThatThrownBy(() -> Selector.parse("churn")).isInstanceOf(TimemachineException.class)
        .hasMessageContaining("name@version");
  }

  @Test
  void a_glob_matches_only_what_it_says() {
    assertThat(Selector.glob("ch*n").matcher("churn").matches()).isTrue();
    assertThat(Selector.glob("ch*n").matcher("churns").matches()).isFalse();
    assertThat(Selector.glob("a.b").matcher("axb").matches()).as("a dot is a dot").isFalse();
  }
}
