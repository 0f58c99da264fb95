package dev.timemachine.adapters.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.Progress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator.ReplaceUnderscores;
import org.junit.jupiter.api.Test;

/** The parts of the Docker adapter that need no engine: error translation and the log tail. */
@DisplayNameGeneration(ReplaceUnderscores.class)
class DockerContainerEngineTest {
  private static final ImageRef IMAGE = ImageRef.parse("127.0.0.1:5000/timemachine/churn-env@sha256:" + "a".repeat(64));

  @Test
  void an_engine_that_is_not_running_is_unavailable_with_a_hint() {
    String host = "unix:///nonexistent/docker.sock";
    try (DockerContainerEngine engine = new DockerContainerEngine(host)) {
      assertThatThrownBy(() -> engine.pull(IMAGE, Progress.NONE))
          .as("pull from an engine that is not there")
          .isInstanceOfSatisfying(
              TimemachineException.class, e -> assertThat(e.type()).as("error type").isEqualTo(ErrorType.UNAVAILABLE))
          .hasMessageStartingWith("Docker engine not reachable at " + host + ": start dockerd or set DOCKER_HOST");
      assertThatThrownBy(() -> engine.containersWithLabel("k", "v"))
          .as("listing containers of an engine that is not there")
          .hasMessageStartingWith("Docker engine not reachable at " + host + ": start dockerd or set DOCKER_HOST");
    }
  }

  @Test
  void a_tcp_engine_that_refuses_connections_is_unavailable() {
    try (DockerContainerEngine engine = new DockerContainerEngine("tcp://127.0.0.1:1")) {
      assertThatThrownBy(() -> engine.remove("some-container"))
          .as("remove on an engine that refuses connections")
          .isInstanceOfSatisfying(
              TimemachineException.class, e -> assertThat(e.type()).as("error type").isEqualTo(ErrorType.UNAVAILABLE))
          .hasMessageStartingWith("Docker engine not reachable at tcp://127.0.0.1:1: ");
    }
  }

  @Test
  void a_malformed_docker_host_is_a_configuration_error() {
    assertThatThrownBy(() -> new DockerContainerEngine("ftp://example.invalid"))
        .as("an engine at an unsupported scheme")
        .isInstanceOfSatisfying(
            TimemachineException.class, e -> assertThat(e.type()).as("error type").isEqualTo(ErrorType.CONFIGURATION))
        .hasMessageContaining("ftp://example.invalid");
  }

  @Test
  void the_engines_message_is_taken_from_its_json_body() {
    NotFoundException e = new NotFoundException("Status 404: {\"message\":\"No such container: x\"}\n");

    assertThat(DockerContainerEngine.dockerMessage(e)).as("message").isEqualTo("No such container: x");
  }

  @Test
  void the_registry_host_follows_dockers_naming_rule() {
    assertThat(DockerContainerEngine.registryHost("127.0.0.1:5000/timemachine/churn-env")).as("host with port").isEqualTo("127.0.0.1:5000");
    assertThat(DockerContainerEngine.registryHost("ghcr.io/org/image")).as("host with a dot").isEqualTo("ghcr.io");
    assertThat(DockerContainerEngine.registryHost("localhost/image")).as("localhost").isEqualTo("localhost");
    assertThat(DockerContainerEngine.registryHost("library/python")).as("Docker Hub namespace").isEqualTo("docker.io");
    assertThat(DockerContainerEngine.registryHost("python")).as("Docker Hub official image").isEqualTo("docker.io");
  }

  @Test
  void the_log_tail_keeps_the_last_lines_each_cut_to_a_limit() {
    LogTail tail = new LogTail();
    IntStream.range(0, 60).forEach(i -> tail.onNext(frame(StreamType.STDOUT, "line " + i + "\n")));
    tail.onNext(frame(StreamType.STDERR, "x".repeat(2000) + "\r\n"));

    List<String> lines = tail.lines();

    assertThat(lines).as("tail").hasSize(LogTail.MAX_LINES);
    assertThat(lines.get(0)).as("oldest line kept").isEqualTo("line 11");
    assertThat(lines.get(LogTail.MAX_LINES - 1)).as("long line").isEqualTo("x".repeat(LogTail.MAX_LINE_CHARS));
  }

  @Test
  void the_log_tail_reassembles_lines_split_across_frames_per_stream() {
    LogTail tail = new LogTail();
    byte[] accented = "café au lait\n".getBytes(StandardCharsets.UTF_8);
    int inside = "caf".length() + 1; // between the two bytes of 'é'
    tail.onNext(new Frame(StreamType.STDOUT, Arrays.copyOfRange(accented, 0, inside)));
    tail.onNext(frame(StreamType.STDERR, "warning: x\n"));
    tail.onNext(new Frame(StreamType.STDOUT, Arrays.copyOfRange(accented, inside, accented.length)));
    tail.onNext(frame(StreamType.STDOUT, "no newline at the end"));

    assertThat(tail.lines()).as("tail").containsExactly("warning: x", "café au lait", "no newline at the end");
  }

  @Test
  void the_log_tail_puts_stdout_and_stderr_back_in_the_order_the_engine_stamped_them() {
    AtomicLong now = new AtomicLong();
    LogTail tail = new LogTail(now::get);
    // The engine delivered stderr's line2 before stdout's line1 although line1 was written first.
    tail.onNext(frame(StreamType.STDERR, "2026-12-02T14:00:00.000000200Z line2\n"));
    tail.onNext(frame(StreamType.STDOUT, "2026-12-02T14:00:00.000000100Z line1\n2026-12-02T14:00:00.000000300Z line3\n"));

    assertThat(tail.last()).as("last line while the lines are still held back").isNull();
    now.addAndGet(1_000_000_000L);
    assertThat(tail.last()).as("last line once they were held long enough").isEqualTo("line3");
    assertThat(tail.lines()).as("tail, in the order written").containsExactly("line1", "line2", "line3");
    assertThat(tail.totalLines()).as("lines counted").isEqualTo(3);
    assertThat(tail.totalBytes()).as("bytes counted, without the timestamps").isEqualTo("line1\nline2\nline3\n".length());
  }

  private static Frame frame(StreamType stream, String text) {
    return new Frame(stream, text.getBytes(StandardCharsets.UTF_8));
  }
}
