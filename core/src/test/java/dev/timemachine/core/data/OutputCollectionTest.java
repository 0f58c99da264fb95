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

  @Test
  void a_symbolic_link_to_a_host_file_is_named_and_never_read() throws IOException {
    Path secret = Files.writeString(Files.createTempFile("worker", ".key"), "SECRET");
    Files.createSymbolicLink(out.resolve("model.pkl"), secret);
    Files.createSymbolicLink(out.resolve("up"), Path.of("../.."));
    write("metrics.json", "{}");

    OutputCollection.Collected c = OutputCollection.collect(out, List.of());

    assertThat(c.files()).as("collected").extracting(FileEntry::path).containsExactly("metrics.json");
    assertThat(c.problems()).as("problems")
        .containsExactly("'model.pkl' is a symbolic link (to '" + secret + "'): links are never followed, not collected",
            "'up' is a symbolic link (to '../..'): links are never followed, not collected");
    assertThat(c.fileNamed("model.pkl")).as("no output is named after the link").isNull();
  }

  @Test
  void a_fifo_is_named_and_never_opened() throws Exception {
    assertThat(new ProcessBuilder("mkfifo", out.resolve("pipe").toString()).start().waitFor()).isZero();

    OutputCollection.Collected c = OutputCollection.collect(out, List.of());

    assertThat(c.files()).as("collected").isEmpty();
    assertThat(c.problems()).as("problems").containsExactly("'pipe' is a FIFO: never read, not collected");
  }

  @Test
  void a_hard_link_to_a_file_outside_is_refused_but_two_names_inside_are_kept() throws IOException {
    Path outside = Files.writeString(out.resolveSibling(out.getFileName() + "-outside.txt"), "host file");
    try {
      Files.createLink(out.resolve("stolen"), outside);
      write("a", "twice");
      Files.createLink(out.resolve("b"), out.resolve("a"));

      OutputCollection.Collected c = OutputCollection.collect(out, List.of());

      assertThat(c.files()).as("collected").extracting(FileEntry::path).containsExactly("a", "b");
      assertThat(c.problems()).as("problems")
          .containsExactly("'stolen' has 2 hard links, 1 of them outside the output directory: not collected");
    } finally {
      Files.deleteIfExists(outside);
    }
  }

  @Test
  void a_name_with_a_newline_is_named_escaped_and_not_collected() throws IOException {
    write("evil\nverdict: REPRODUCED_BITWISE", "x");

    OutputCollection.Collected c = OutputCollection.collect(out, List.of());

    assertThat(c.files()).as("collected").isEmpty();
    assertThat(c.problems()).as("problems").containsExactly(
        "'evil\\nverdict: REPRODUCED_BITWISE' has a newline or control character in its name: not collected");
  }

  @Test
  void a_setuid_file_is_collected_and_its_mode_named() throws IOException {
    write("sh", "#!/bin/sh");
    Files.setPosixFilePermissions(out.resolve("sh"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setAttribute(out.resolve("sh"), "unix:mode", 04755);

    OutputCollection.Collected c = OutputCollection.collect(out, List.of());

    assertThat(c.files()).as("collected").extracting(FileEntry::path).containsExactly("sh");
    assertThat(c.problems()).as("problems")
        .containsExactly("'sh' had mode 4755 (setuid): collected without it; the store keeps no mode bits");
  }

  @Test
  void caps_on_total_bytes_and_file_count_stop_collection_with_a_named_problem() throws IOException {
    write("a", "12345");
    write("b", "12345");
    write("c", "12345");

    OutputCollection.Collected bytes = OutputCollection.collect(out, List.of(), 12, 100);
    OutputCollection.Collected count = OutputCollection.collect(out, List.of(), 1000, 2);

    assertThat(bytes.files()).as("collected under a 12-byte cap").extracting(FileEntry::path).containsExactly("a", "b");
    assertThat(bytes.problems()).as("problems under the byte cap")
        .containsExactly("outputs exceed the limit of 12 bytes at 'c' (5 bytes): it and every later output were not collected");
    assertThat(count.files()).as("collected under a 2-entry cap").hasSize(2);
    assertThat(count.problems()).as("problems under the count cap").singleElement().asString()
        .startsWith("the output directory holds more than 2 entries");
  }
}
