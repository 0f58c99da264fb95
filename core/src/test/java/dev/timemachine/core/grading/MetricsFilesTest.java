package dev.timemachine.core.grading;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class MetricsFilesTest {
  private static MetricsFiles.Parsed parse(String json) {
    return MetricsFiles.parse(json.getBytes(StandardCharsets.UTF_8), "metrics.json");
  }

  @Test
  void numbers_are_read_and_other_values_skipped_and_named() {
    MetricsFiles.Parsed parsed = parse("{\"accuracy\": 0.9, \"f1\": 1, \"note\": \"text\"}");
    assertThat(parsed.values()).isEqualTo(Map.of("accuracy", 0.9, "f1", 1.0));
    assertThat(parsed.problem()).isEqualTo("non-numeric metrics ignored: [note]");
    assertThat(parsed.unreadable()).isFalse();
  }

  @Test
  void a_file_that_is_not_a_json_object_is_unreadable() {
    assertThat(parse("[1, 2]").unreadable()).isTrue();
    assertThat(parse("[1, 2]").problem()).isEqualTo("the metrics file metrics.json is not a JSON object");
    assertThat(parse("{not json").unreadable()).isTrue();
    assertThat(parse("").unreadable()).isTrue();
  }

  @Test
  void a_file_on_disk_reads_as_its_bytes_parse_and_a_missing_one_was_not_written(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("metrics.json"), "{\"f1\": 0.5}");
    assertThat(MetricsFiles.read(dir, "metrics.json")).isEqualTo(parse("{\"f1\": 0.5}"));
    MetricsFiles.Parsed missing = MetricsFiles.read(dir, "other.json");
    assertThat(missing.unreadable()).isTrue();
    assertThat(missing.problem()).isEqualTo("the metrics file other.json was not written");
  }
}
