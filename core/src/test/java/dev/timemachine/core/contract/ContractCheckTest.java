package dev.timemachine.core.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.contract.FileSchema.Column;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ContractCheckTest {
  static final FileSchema CUSTOMERS = new FileSchema("customers.csv", "csv", List.of(
      new Column("customer_id", "string"), new Column("tenure_months", "int"), new Column("monthly_charges", "float"),
      new Column("support_calls", "int")));
  static final ModelContract CONTRACT = new ModelContract(List.of(CUSTOMERS), List.of(MetricThreshold.parse("accuracy>=0.85")));

  @Test
  void the_same_schema_satisfies_the_contract() {
    ContractCheck check = ContractCheck.of(CONTRACT, List.of(CUSTOMERS));

    assertThat(check.satisfied()).isTrue();
    assertThat(check.differences()).isEmpty();
    assertThat(check.additions()).isEmpty();
  }

  @Test
  void a_missing_column_and_a_changed_type_are_named_in_one_line_per_file() {
    FileSchema now = new FileSchema("customers.csv", "csv", List.of(
        new Column("customer_id", "string"), new Column("tenure_months", "string"), new Column("monthly_charges", "float")));

    ContractCheck check = ContractCheck.of(CONTRACT, List.of(now));

    assertThat(check.satisfied()).isFalse();
    assertThat(check.summary())
        .isEqualTo("customers.csv: column 'tenure_months' int → string; column 'support_calls' missing");
    assertThat(check.differences()).extracting(ContractCheck.Difference::kind)
        .containsExactly(ContractCheck.Difference.TYPE_CHANGED, ContractCheck.Difference.COLUMN_MISSING);
  }

  @Test
  void added_columns_and_files_are_reported_and_allowed() {
    FileSchema now = new FileSchema("customers.csv", "csv", List.of(
        new Column("customer_id", "string"), new Column("region", "string"), new Column("tenure_months", "int"),
        new Column("monthly_charges", "float"), new Column("support_calls", "int")));

    ContractCheck check = ContractCheck.of(CONTRACT, List.of(now, new FileSchema("README.txt", "other", null)));

    assertThat(check.satisfied()).isTrue();
    assertThat(check.additions()).containsExactly("customers.csv: column 'region' added (string)", "README.txt: file added");
  }

  @Test
  void integral_values_in_a_float_column_are_no_difference_but_decimals_in_an_int_column_are() {
    FileSchema now = new FileSchema("customers.csv", "csv", List.of(
        new Column("customer_id", "string"), new Column("tenure_months", "float"), new Column("monthly_charges", "int"),
        new Column("support_calls", "int")));

    assertThat(ContractCheck.of(CONTRACT, List.of(now)).summary()).isEqualTo("customers.csv: column 'tenure_months' int → float");
  }

  @Test
  void a_renamed_file_is_missing_and_its_likely_new_name_is_given() {
    FileSchema renamed = new FileSchema("customers_q4.csv", "csv", CUSTOMERS.columns());

    ContractCheck check = ContractCheck.of(CONTRACT, List.of(renamed));

    assertThat(check.satisfied()).isFalse();
    assertThat(check.summary())
        .isEqualTo("customers.csv: file missing (renamed to 'customers_q4.csv'? it has the same columns)");
  }

  @Test
  void a_missing_file_without_a_look_alike_is_just_missing() {
    assertThat(ContractCheck.of(CONTRACT, List.of()).summary()).isEqualTo("customers.csv: file missing");
  }

  @Test
  void thresholds_are_checked_on_results_and_say_by_how_much_they_are_missed() {
    List<MetricThreshold> thresholds =
        List.of(MetricThreshold.parse("accuracy>=0.85"), MetricThreshold.parse("log_loss < 0.5"), MetricThreshold.parse("f1>0.6"));

    assertThat(ContractCheck.thresholdViolations(thresholds, Map.of("accuracy", 0.81, "log_loss", 0.4, "f1", 0.7)))
        .containsExactly("accuracy 0.81 < 0.85");
    assertThat(ContractCheck.thresholdViolations(thresholds, Map.of("accuracy", 0.85, "log_loss", 0.5, "f1", 0.6)))
        .containsExactly("log_loss 0.5 >= 0.5", "f1 0.6 <= 0.6");
    assertThat(ContractCheck.thresholdViolations(thresholds, Map.of("accuracy", 0.9, "log_loss", 0.1)))
        .containsExactly("f1 not reported (threshold f1>0.6)");
  }

  @Test
  void a_malformed_threshold_is_refused_with_the_expected_form() {
    assertThatThrownBy(() -> MetricThreshold.parse("accuracy=0.85"))
        .isInstanceOf(TimemachineException.class).hasMessageContaining("expected METRIC>=X");
    assertThatThrownBy(() -> MetricThreshold.parse("accuracy>=high"))
        .isInstanceOf(TimemachineException.class).hasMessageContaining("'high' is not a number");
  }

  @Test
  void a_contract_survives_its_json_form() {
    ModelContract back = Json.parse(Json.toBytes(CONTRACT), ModelContract.class, "contract");

    assertThat(back).isEqualTo(CONTRACT);
  }

  @Test
  void every_file_of_a_group_is_held_to_its_columns_and_alike_differences_are_one_line() {
    List<Column> shard = List.of(new Column("id", "int"), new Column("value", "int"));
    ModelContract contract = new ModelContract(
        List.of(CUSTOMERS, FileSchema.group("shards", "csv", shard, 20_000)), List.of());
    List<FileSchema> now = new java.util.ArrayList<>(List.of(CUSTOMERS));
    for (int i = 0; i < 300; i++) {
      // A third of the new shards lost their value column; one also gained a column; all are in the group.
      now.add(new FileSchema("shards/" + (i % 3) + "/part-" + i + ".csv", "csv",
          i % 3 == 1 ? List.of(new Column("id", "int")) : i == 0 ? List.of(shard.get(0), shard.get(1), new Column("x", "string")) : shard));
    }
    now.add(new FileSchema("shards/readme.txt", "other", List.of()));

    ContractCheck check = ContractCheck.of(contract, now);

    assertThat(check.satisfied()).isFalse();
    assertThat(check.summary()).isEqualTo("shards/ (100 of 300 csv files, e.g. shards/1/part-1.csv): column 'value' missing");
    assertThat(check.additions()).containsExactly(
        "shards/ (1 of 300 csv files, e.g. shards/0/part-0.csv): column 'x' added (string)",
        "shards/readme.txt: file added");
  }

  @Test
  void a_group_none_of_whose_files_is_left_is_a_missing_file_and_its_files_are_no_additions() {
    List<Column> shard = List.of(new Column("id", "int"));
    ModelContract contract = new ModelContract(List.of(FileSchema.group("shards", "csv", shard, 200)), List.of());

    ContractCheck moved = ContractCheck.of(contract, List.of(new FileSchema("parts/p-1.csv", "csv", shard)));
    ContractCheck kept = ContractCheck.of(contract, List.of(new FileSchema("shards/deeper/p-1.csv", "csv", shard)));

    assertThat(moved.summary()).isEqualTo("shards/ (200 csv files): file missing");
    assertThat(moved.additions()).containsExactly("parts/p-1.csv: file added");
    assertThat(kept.satisfied()).isTrue();
    assertThat(kept.additions()).isEmpty();
  }
}
