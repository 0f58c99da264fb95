package dev.timemachine.workflow;

import static org.assertj.core.api.Assertions.assertThat;

import io.temporal.testing.WorkflowReplayer;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Replays the committed fleet histories under {@code histories/fleet/} against the current
 * {@link FleetReplayWorkflowImpl}, as {@link ReplayWorkflowReplayTest} does for single replays.
 * Recorded with {@code -Dtest=FleetReplayWorkflowTest -Dtimemachine.recordHistories=...}.
 */
class FleetReplayWorkflowReplayTest {
  static Stream<Path> histories() throws IOException, URISyntaxException {
    Path dir = Path.of(FleetReplayWorkflowReplayTest.class.getResource("/histories/fleet").toURI());
    List<Path> files;
    try (Stream<Path> list = Files.list(dir)) {
      files = list.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
    assertThat(files).as("committed fleet histories in %s", dir).isNotEmpty();
    return files.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("histories")
  void committed_fleet_history_replays_on_current_code(Path history) throws Exception {
    WorkflowReplayer.replayWorkflowExecution(Files.readString(history), FleetReplayWorkflowImpl.class);
  }
}
