package dev.timemachine.core.data;

import dev.timemachine.core.grading.MetricsFiles;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.OutputRule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class OutputCollectionTest {
  @TempDir Path out;

  private void write(String path, String content) throws IOException {
    Files.createDirectories(out.resolve(path).getParent());
    Files.writeString(out.resolve(path), content);
  }

  @Test
  void renamed_outputs_are_hashed_under_their_recorded_names_and_the_metrics_file_is_found_after_renaming()
      throws IOException {
    write(".mlruns/0/ab12/artifacts/model/model.pkl", "model");
    write(".mlruns/0/ab12/artifacts/eval/metrics.json", "{\"f1\": 0.75}");
    write(".mlruns/0/ab12/meta.yaml", "start_time: 1764000000\n");
    write("scratch.tmp", "ignored");

    OutputCollection.Collected c =
        OutputCollection.collect(
            out, List.of(OutputRule.parse(".mlruns/**/model.pkl=model.pkl"), OutputRule.parse(".mlruns/**/metrics.json=metrics.json")));

    assertThat(c.files()).extracting(FileEntry::path).containsExactly("metrics.json", "model.pkl");
    assertThat(c.files().get(1).sha256()).isEqualTo(FileHashing.sha256(out.resolve(".mlruns/0/ab12/artifacts/model/model.pkl")));
    assertThat(c.fileNamed("model.pkl")).isEqualTo(out.resolve(".mlruns/0/ab12/artifacts/model/model.pkl"));
    assertThat(c.fileNamed("scratch.tmp")).as("unmatched files are not outputs").isNull();
    MetricsFiles.Parsed metrics = MetricsFiles.readFile(c.fileNamed("metrics.json"), "metrics.json");
    assertThat(metrics.problem()).isNull();
    assertThat(metrics.values()).isEqualTo(Map.of("f1", 0.75));
  }

  @Test
  void without_rules_the_whole_directory_is_collected_as_before_except_the_mlflow_store() throws IOException {
    write("model.pkl", "model");
    write("metrics.json", "{}");
    write("sub/extra.bin", "x");
    write(".mlruns/0/ab12/meta.yaml", "start_time: 1764000000\n");

    OutputCollection.Collected c = OutputCollection.collect(out, List.of());

    assertThat(c.files()).extracting(FileEntry::path).containsExactly("metrics.json", "model.pkl", "sub/extra.bin");
    assertThat(FileHashing.hashTree(out)).as("the same entries hashTree gives, but for the store")
        .filteredOn(f -> !f.path().startsWith(".mlruns/")).isEqualTo(c.files());
  }

  @Test
  void a_metrics_file_no_rule_selects_is_not_written_as_far_as_the_outputs_go() throws IOException {
    write("model.pkl", "model");
    write("metrics.json", "{\"f1\": 1}");

    OutputCollection.Collected c = OutputCollection.collect(out, List.of(OutputRule.parse("model.pkl")));

    assertThat(MetricsFiles.readFile(c.fileNamed("metrics.json"), "metrics.json").problem()).contains("was not written");
  }
}
