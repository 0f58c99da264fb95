package dev.timemachine.core.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.contract.FileSchema;
import dev.timemachine.core.contract.FileSchema.Column;
import dev.timemachine.core.errors.TimemachineException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class SchemaInferenceTest {
  @Test
  void a_csv_gets_its_header_and_the_narrowest_type_of_every_column() {
    FileSchema schema = SchemaInference.infer("customers.csv",
        "id,tenure,charges,active,note\nC1,12,18.5,true,x\nC2,7,20,False,\nC3,-3,1e3,TRUE,\"a, b\"\n");

    assertThat(schema.format()).isEqualTo("csv");
    assertThat(schema.columns()).containsExactly(
        new Column("id", "string"), new Column("tenure", "int"), new Column("charges", "float"),
        new Column("active", "bool"), new Column("note", "string"));
  }

  @Test
  void a_value_in_the_last_row_widens_its_column() {
    FileSchema schema = SchemaInference.infer("a.csv", "n,m\n1,1\n2,2\n3.5,x\n");

    assertThat(schema.typesByName()).containsEntry("n", "float").containsEntry("m", "string");
  }

  @Test
  void quoted_fields_may_hold_commas_quotes_and_line_breaks() {
    FileSchema schema = SchemaInference.infer("q.csv", "a,b\r\n\"x,\"\"y\"\"\nz\",5\r\n\"w\",6\r\n");

    assertThat(schema.columns()).containsExactly(new Column("a", "string"), new Column("b", "int"));
  }

  @Test
  void an_empty_column_is_a_string_and_empty_cells_say_nothing() {
    FileSchema schema = SchemaInference.infer("e.csv", "a,b\n,1\n,\n");

    assertThat(schema.typesByName()).containsEntry("a", "string").containsEntry("b", "int");
  }

  @Test
  void json_lines_get_the_union_of_their_keys_with_types() {
    FileSchema schema = SchemaInference.infer("events.jsonl",
        "{\"id\": 1, \"score\": 2, \"tag\": \"a\"}\n\n{\"id\": 2, \"score\": 2.5, \"ok\": true, \"tag\": null}\n");

    assertThat(schema.format()).isEqualTo("jsonl");
    assertThat(schema.columns()).containsExactly(
        new Column("id", "int"), new Column("score", "float"), new Column("tag", "string"), new Column("ok", "bool"));
  }

  @Test
  void a_json_lines_file_with_a_broken_line_is_refused_naming_the_line() {
    assertThatThrownBy(() -> SchemaInference.infer("e.jsonl", "{\"a\": 1}\nnot json\n"))
        .isInstanceOf(TimemachineException.class).hasMessageContaining("e.jsonl line 2");
  }

  @Test
  void other_formats_are_recorded_by_path_alone() {
    assertThat(SchemaInference.infer("weights.npy", "\u0093NUMPY...")).isEqualTo(new FileSchema("weights.npy", "other", null));
  }

  @Test
  void files_are_read_from_a_directory_by_their_manifest_paths(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("sub"));
    Files.writeString(dir.resolve("sub/x.csv"), "a\n1\n");
    var entry = new dev.timemachine.core.model.FileEntry("sub/x.csv", 4, Digests.sha256Hex("a\n1\n".getBytes()));

    assertThat(SchemaInference.inferAll(dir, java.util.List.of(entry)))
        .containsExactly(new FileSchema("sub/x.csv", "csv", java.util.List.of(new Column("a", "int"))));
  }
}
