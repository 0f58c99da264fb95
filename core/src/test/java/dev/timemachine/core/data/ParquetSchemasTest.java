package dev.timemachine.core.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.contract.ContractCheck;
import dev.timemachine.core.contract.FileSchema;
import dev.timemachine.core.contract.FileSchema.Column;
import dev.timemachine.core.contract.ModelContract;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Parquet schemas read from the footers of files that real pyarrow wrote
 * (src/test/resources/contract/make_parquet.py), and held against a contract exactly as CSVs are.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ParquetSchemasTest {
  private static final List<Column> RECORDED = List.of(
      new Column("customer_id", "int"),
      new Column("tenure_months", "int"),
      new Column("monthly_charges", "float"),
      new Column("support_calls", "int"),
      new Column("churned", "bool"),
      new Column("segment", "string"),
      new Column("signed_up", "timestamp[us]"),
      new Column("first_bill", "date"),
      new Column("balance", "decimal(10,2)"),
      new Column("tags", "list<string>"),
      new Column("address.city", "string"),
      new Column("address.zip", "int"));

  static Path fixture(String name) throws Exception {
    return Path.of(ParquetSchemasTest.class.getResource("/contract/" + name).toURI());
  }

  @Test
  void the_schema_of_a_pyarrow_file_is_read_from_its_footer_with_nested_fields_flattened() throws Exception {
    FileSchema schema = SchemaInference.infer(fixture("customers.parquet"), "q3/customers.parquet");

    assertThat(schema).isEqualTo(new FileSchema("q3/customers.parquet", FileSchema.PARQUET, RECORDED));
  }

  @Test
  void the_same_schema_is_read_from_the_bytes_and_from_a_directory() throws Exception {
    Path file = fixture("customers.parquet");

    assertThat(SchemaInference.infer("customers.parquet", Files.readAllBytes(file)).columns()).isEqualTo(RECORDED);
    assertThat(SchemaInference.inferPaths(file.getParent(), List.of("customers.parquet")).get(0).columns()).isEqualTo(RECORDED);
  }

  @Test
  void a_missing_column_and_a_retyped_column_break_the_contract_as_in_a_csv() throws Exception {
    ModelContract contract =
        new ModelContract(List.of(SchemaInference.infer(fixture("customers.parquet"), "customers.parquet")), List.of());
    FileSchema next = SchemaInference.infer(fixture("customers_broken.parquet"), "customers.parquet");

    ContractCheck check = ContractCheck.of(contract, List.of(next));

    assertThat(check.satisfied()).isFalse();
    assertThat(check.summary())
        .isEqualTo("customers.parquet: column 'tenure_months' int → string; column 'support_calls' missing");
    assertThat(check.additions()).containsExactly("customers.parquet: column 'region' added (string)");
  }

  @Test
  void a_truncated_file_is_refused_naming_it_without_a_stack_trace(@TempDir Path dir) throws Exception {
    byte[] whole = Files.readAllBytes(fixture("customers.parquet"));
    Path cut = dir.resolve("customers.parquet");
    Files.write(cut, Arrays.copyOf(whole, whole.length / 2));

    assertThatThrownBy(() -> SchemaInference.infer(cut, "customers.parquet"))
        .isInstanceOfSatisfying(TimemachineException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.INVALID_INPUT))
        .hasMessage("customers.parquet is not a readable Parquet file: it does not end with PAR1 (truncated, or not Parquet);"
            + " replace it with a complete copy, or remove it from the data");
  }

  @Test
  void a_footer_that_is_cut_or_corrupt_is_refused_too() throws Exception {
    byte[] whole = Files.readAllBytes(fixture("customers.parquet"));
    // Keep the tail (length + PAR1) but drop the front: the footer length no longer fits.
    byte[] front = Arrays.copyOfRange(whole, whole.length - 100, whole.length);
    assertThatThrownBy(() -> SchemaInference.infer("c.parquet", front))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("c.parquet is not a readable Parquet file: its footer length");
    // Scramble the footer's bytes: Thrift cannot read it.
    byte[] scrambled = whole.clone();
    for (int i = scrambled.length - 300; i < scrambled.length - 8; i++) {
      scrambled[i] = (byte) 0xff;
    }
    assertThatThrownBy(() -> SchemaInference.infer("c.parquet", scrambled))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("c.parquet is not a readable Parquet file: its footer is not valid Parquet metadata");
    assertThatThrownBy(() -> SchemaInference.infer("tiny.parquet", "PAR1"))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("shorter than the smallest Parquet file");
  }
}
