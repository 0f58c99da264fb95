package dev.timemachine.core.contract;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.contract.FileSchema.Column;
import java.util.List;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class MlflowSignatureTest {
  /** As MLflow 3 writes it in MLmodel: inputs and outputs are JSON texts. */
  static final String SIGNATURE = "{\"inputs\": \"[{\\\"type\\\": \\\"long\\\", \\\"name\\\": \\\"tenure_months\\\", \\\"required\\\": true},"
      + " {\\\"type\\\": \\\"double\\\", \\\"name\\\": \\\"monthly_charges\\\", \\\"required\\\": true},"
      + " {\\\"type\\\": \\\"long\\\", \\\"name\\\": \\\"support_calls\\\", \\\"required\\\": true},"
      + " {\\\"type\\\": \\\"string\\\", \\\"name\\\": \\\"region\\\", \\\"required\\\": false}]\","
      + " \"outputs\": \"[{\\\"type\\\": \\\"long\\\", \\\"required\\\": true}]\"}";

  static final FileSchema CUSTOMERS = new FileSchema("customers.csv", "csv", List.of(
      new Column("tenure_months", "int"), new Column("monthly_charges", "float"), new Column("support_calls", "int")));

  @Test
  void the_named_inputs_of_a_signature_are_read_in_the_contracts_types() {
    assertThat(MlflowSignature.inputs(SIGNATURE)).containsExactly(
        new MlflowSignature.Input("tenure_months", "int", true), new MlflowSignature.Input("monthly_charges", "float", true),
        new MlflowSignature.Input("support_calls", "int", true), new MlflowSignature.Input("region", "string", false));
    assertThat(MlflowSignature.inputs(null)).isEmpty();
    assertThat(MlflowSignature.inputs("{\"inputs\": \"[{\\\"type\\\": \\\"tensor\\\", \\\"tensor-spec\\\": {}}]\"}")).isEmpty();
  }

  @Test
  void data_with_every_required_input_satisfies_the_signature() {
    ModelContract contract = new ModelContract(List.of(), List.of(), SIGNATURE);

    assertThat(ContractCheck.of(contract, List.of(CUSTOMERS)).satisfied()).isTrue();
  }

  @Test
  void a_column_the_signature_needs_that_the_new_data_lacks_is_a_violation_naming_it() {
    ModelContract contract = new ModelContract(List.of(), List.of(), SIGNATURE);
    FileSchema next = new FileSchema("q4/customers.parquet", "parquet", List.of(
        new Column("tenure_months", "string"), new Column("monthly_charges", "int")));

    ContractCheck check = ContractCheck.of(contract, List.of(next));

    assertThat(check.satisfied()).isFalse();
    assertThat(check.summary())
        .isEqualTo("MLflow signature: column 'tenure_months' int → string; column 'support_calls' missing");
  }

  @Test
  void file_schemas_and_the_signature_are_both_checked() {
    ModelContract contract = new ModelContract(List.of(CUSTOMERS), List.of(), SIGNATURE);
    FileSchema next = new FileSchema("customers.csv", "csv", List.of(new Column("tenure_months", "int"), new Column("monthly_charges", "float")));

    assertThat(ContractCheck.of(contract, List.of(next)).summary())
        .isEqualTo("customers.csv: column 'support_calls' missing; MLflow signature: column 'support_calls' missing");
  }

  @Test
  void new_data_without_any_columns_is_not_held_to_the_signature() {
    ModelContract contract = new ModelContract(List.of(), List.of(), SIGNATURE);

    assertThat(ContractCheck.of(contract, List.of(new FileSchema("x.npy", "other", List.of()))).satisfied()).isTrue();
  }
}
