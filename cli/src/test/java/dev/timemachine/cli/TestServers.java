package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** What the crash and fault tests share to run servers of their own: free ports and scripts/temporal.sh. */
final class TestServers {
  static final Path TEMPORAL_SCRIPT = Path.of("../scripts/temporal.sh").toAbsolutePath();

  private TestServers() {}

  /**
   * A loopback port free when asked: a second build on the same machine must not share (and kill) a
   * test's own server, which would make replays vanish for reasons that are not ours.
   */
  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Runs {@code scripts/temporal.sh command} with {@code env}, its output in {@code logDir}; it must succeed. */
  static void temporal(Map<String, String> env, Path logDir, String command) throws IOException, InterruptedException {
    Path log = logDir.resolve("temporal-" + command + ".log");
    ProcessBuilder pb = new ProcessBuilder("bash", TEMPORAL_SCRIPT.toString(), command).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().putAll(env);
    Process p = pb.start();
    assertThat(p.waitFor(15, TimeUnit.MINUTES)).as("temporal.sh %s finished", command).isTrue();
    assertThat(p.exitValue()).as("temporal.sh %s: %s", command, Files.readString(log)).isZero();
  }
}
