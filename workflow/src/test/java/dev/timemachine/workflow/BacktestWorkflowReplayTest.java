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
 * Replays the committed backtest histories ({@code histories/backtest/}, recorded by
 * {@link BacktestWorkflowTest} with {@code -Dtimemachine.recordHistories}) against the current code,
 * as {@link ReplayWorkflowReplayTest} does for replays.
 */
class BacktestWorkflowReplayTest {
  static Stream<Path> histories() throws IOException, URISyntaxException {
    Path dir = Path.of(BacktestWorkflowReplayTest.class.getResource("/histories/backtest").toURI());
    List<Path> files;
    try (Stream<Path> list = Files.list(dir)) {
      files = list.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
    assertThat(files).as("committed backtest histories in %s", dir).hasSizeGreaterThanOrEqualTo(7);
    return files.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("histories")
  void committed_backtest_history_replays_on_current_code(Path history) throws Exception {
    WorkflowReplayer.replayWorkflowExecution(Files.readString(history), BacktestWorkflowImpl.class);
  }
}
