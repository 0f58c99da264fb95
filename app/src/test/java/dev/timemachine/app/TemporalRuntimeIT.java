package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.samples.Services;
import io.temporal.api.workflowservice.v1.DescribeNamespaceRequest;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The connection to a real Temporal server (scripts/temporal.sh) leaves no thread behind when closed. */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class TemporalRuntimeIT {
  private static final String ADDRESS = "127.0.0.1:7233";

  @TempDir Path home;

  @Test
  void closing_a_remote_connection_stops_its_event_loop_threads() throws InterruptedException {
    if (!Services.listening(7233)) {
      throw new IllegalStateException("the Temporal dev server is not listening on " + ADDRESS + ": run scripts/temporal.sh up");
    }
    Config config = Config.fromEnvironment(Map.of("TEMPORAL_ADDRESS", ADDRESS, "TIMEMACHINE_HOME", home.toString()));
    TemporalRuntime temporal = TemporalRuntime.connect(config);
    // One call, so that the channel has connected and its event loop runs.
    temporal.service().blockingStub()
        .describeNamespace(DescribeNamespaceRequest.newBuilder().setNamespace(config.namespace()).build());
    assertThat(eventLoopThreads()).as("event loop threads while connected").isPositive();

    temporal.close();

    // A thread waiting in epoll_wait at exit holds the JVM up by 300 ms; close waits for the loop to end.
    for (int i = 0; i < 20 && eventLoopThreads() > 0; i++) {
      Thread.sleep(100);
    }
    assertThat(eventLoopThreads()).as("event loop threads after close").isZero();
  }

  private static long eventLoopThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith("timemachine-grpc")).count();
  }
}
