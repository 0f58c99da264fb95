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
 * Replays committed workflow histories against the current workflow code. A change that would break
 * running replays (a non-deterministic change without {@code Workflow.getVersion}) fails here. See
 * docs/workflow-versioning.md for how to change workflow code and how to record new histories.
 */
class ReplayWorkflowReplayTest {
  static Stream<Path> histories() throws IOException, URISyntaxException {
    Path dir = Path.of(ReplayWorkflowReplayTest.class.getResource("/histories").toURI());
    List<Path> files;
    try (Stream<Path> list = Files.list(dir)) {
      files = list.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
    assertThat(files).as("committed histories in %s", dir).isNotEmpty();
    return files.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("histories")
  void committed_history_replays_on_current_code(Path history) throws Exception {
    WorkflowReplayer.replayWorkflowExecution(Files.readString(history), ReplayWorkflowImpl.class);
  }
}
