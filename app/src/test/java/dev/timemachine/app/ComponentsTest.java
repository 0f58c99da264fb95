package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.errors.TimemachineException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ComponentsTest {
  @TempDir Path tmp;

  @Test
  void a_report_is_read_by_the_uri_the_replay_answered_with_in_this_store_or_another() throws Exception {
    Path elsewhere = Files.createDirectories(tmp.resolve("other/reports"));
    Files.writeString(elsewhere.resolve("r-2.json"), "{\"b\":2}");
    Config config = Config.fromEnvironment(Map.of(
        "TEMPORAL_CONFIG_FILE", "", "TIMEMACHINE_STORE", tmp.resolve("store").toUri().toString()));
    try (Components components = new Components(config)) {
      components.store().putIfAbsent("reports/r-1.json", "{\"a\":1}".getBytes(StandardCharsets.UTF_8));

      assertThat(components.readReport(components.store().uriOf("reports/r-1.json"))).asString().isEqualTo("{\"a\":1}");
      assertThat(components.readReport(elsewhere.resolve("r-2.json").toUri().toString())).asString().isEqualTo("{\"b\":2}");
      assertThatThrownBy(() -> components.readReport(" ")).isInstanceOf(TimemachineException.class);
    }
  }

  @Test
  void the_docker_client_made_in_the_background_is_the_one_the_workers_get() throws Exception {
    Config config = Config.fromEnvironment(Map.of(
        "TEMPORAL_CONFIG_FILE", "", "TIMEMACHINE_STORE", tmp.resolve("store").toUri().toString()));
    try (Components components = new Components(config)) {
      assertThat(components.engineIfMade()).isNull();

      components.prepareEngineInBackground();
      Thread init = Thread.getAllStackTraces().keySet().stream()
          .filter(t -> t.getName().equals("timemachine-engine-init")).findFirst().orElse(null);
      if (init != null) {
        assertThat(init.isDaemon()).as("it must never hold up the CLI's exit").isTrue();
        init.join(30_000);
      }

      var made = components.engineIfMade();
      assertThat(made).as("made on the background thread, without anyone asking").isNotNull();
      assertThat(components.engine()).isSameAs(made);
    }
  }
}
