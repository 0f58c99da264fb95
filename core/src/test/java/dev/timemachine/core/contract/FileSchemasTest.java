package dev.timemachine.core.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.contract.FileSchema.Column;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class FileSchemasTest {
  static final List<Column> SHARD = List.of(new Column("id", "int"), new Column("value", "int"));
  static final FileSchema CUSTOMERS = ContractCheckTest.CUSTOMERS;

  /** The churn data plus {@code dirs} x {@code perDir} shards, as bench/replay.sh's data-20k has them. */
  static List<FileSchema> sharded(int dirs, int perDir) {
    List<FileSchema> files = new ArrayList<>(List.of(CUSTOMERS));
    for (int d = 0; d < dirs; d++) {
      for (int i = 0; i < perDir; i++) {
        files.add(new FileSchema(String.format("shards/%03d/part-%05d.csv", d, d * perDir + i), "csv", SHARD));
      }
    }
    return files;
  }

  @Test
  void twenty_thousand_shards_of_one_shape_become_one_group_and_the_contract_stays_small() {
    List<FileSchema> files = sharded(100, 200);

    List<FileSchema> compact = FileSchemas.compact(files, FileSchemas.MAX_LISTED);

    assertThat(compact).containsExactly(CUSTOMERS, FileSchema.group("shards", "csv", SHARD, 20_000));
    assertThat(Json.toBytes(new ModelContract(compact, List.of())).length).isLessThan(1_000);
    assertThat(compact.get(1).label()).isEqualTo("shards/ (20000 csv files)");
  }

  @Test
  void a_contract_of_few_files_names_each_one() {
    List<FileSchema> files = sharded(2, 10);

    assertThat(FileSchemas.compact(files, FileSchemas.MAX_LISTED)).isSameAs(files);
  }

  @Test
  void a_directory_whose_files_differ_is_split_to_the_directories_that_agree_and_an_odd_file_stays_alone() {
    List<FileSchema> files = sharded(3, 50);
    List<Column> other = List.of(new Column("id", "string"));
    files.add(new FileSchema("shards/002/odd.csv", "csv", other));
    files.add(new FileSchema("shards/002/notes.txt", "other", List.of()));

    List<FileSchema> compact = FileSchemas.compact(files, 100);

    assertThat(compact.subList(0, 4)).containsExactly(
        CUSTOMERS,
        FileSchema.group("shards/000", "csv", SHARD, 50),
        FileSchema.group("shards/001", "csv", SHARD, 50),
        new FileSchema("shards/002/part-00100.csv", "csv", SHARD));
    assertThat(compact).as("shards/002 holds odd.csv, so its 50 parts cannot be one group").hasSize(1 + 2 + 50 + 2)
        .contains(new FileSchema("shards/002/odd.csv", "csv", other), new FileSchema("shards/002/notes.txt", "other", List.of()));
  }

  @Test
  void files_all_alike_at_the_root_are_one_group_of_the_whole_snapshot() {
    List<FileSchema> files = new ArrayList<>();
    for (int i = 0; i < 150; i++) {
      files.add(new FileSchema("part-" + i + ".jsonl", "jsonl", SHARD));
    }

    List<FileSchema> compact = FileSchemas.compact(files, 100);

    assertThat(compact).containsExactly(FileSchema.group(".", "jsonl", SHARD, 150));
    assertThat(compact.get(0).label()).isEqualTo("(150 jsonl files)");
    assertThat(compact.get(0).covers(new FileSchema("sub/x.jsonl", "jsonl", List.of()))).isTrue();
    assertThat(compact.get(0).covers(new FileSchema("x.csv", "csv", List.of()))).isFalse();
  }

  @Test
  void a_group_is_read_back_from_json_and_an_empty_or_unsafe_one_is_refused() {
    FileSchema group = FileSchema.group("shards", "csv", SHARD, 3);

    assertThat(Json.parse(Json.toBytes(group), FileSchema.class, "a file schema")).isEqualTo(group);
    assertThat(new String(Json.toBytes(new FileSchema("a.csv", "csv", SHARD)), java.nio.charset.StandardCharsets.UTF_8))
        .doesNotContain("files");
    assertThatThrownBy(() -> FileSchema.group("shards", "csv", SHARD, 0)).isInstanceOf(TimemachineException.class);
    assertThatThrownBy(() -> FileSchema.group("../etc", "csv", SHARD, 2)).isInstanceOf(TimemachineException.class);
  }
}
