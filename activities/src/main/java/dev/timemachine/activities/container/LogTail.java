package dev.timemachine.activities.container;

import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The last lines a container printed, kept while its log stream is followed. Only a bounded tail is
 * kept because it travels in heartbeats and in the report; the full log stays with the caller's own
 * outputs if it wants one. Frames are reassembled into lines per stream, as bytes, so that a line or a
 * multi-byte character split across frames comes out whole.
 */
final class LogTail extends DockerStream<Frame> {
  static final int MAX_LINES = 50;
  static final int MAX_LINE_CHARS = 500;
  private static final int MAX_LINE_BYTES = MAX_LINE_CHARS * 4;

  private final ArrayDeque<String> lines = new ArrayDeque<>();
  private final Map<StreamType, ByteArrayOutputStream> partial = new EnumMap<>(StreamType.class);

  @Override
  public synchronized void onNext(Frame frame) {
    ByteArrayOutputStream line = partial.computeIfAbsent(frame.getStreamType(), t -> new ByteArrayOutputStream());
    for (byte b : frame.getPayload()) {
      if (b == '\n') {
        add(line);
      } else if (line.size() < MAX_LINE_BYTES) {
        line.write(b);
      }
    }
  }

  /** The last complete line, or null if none yet. */
  synchronized String last() {
    return lines.peekLast();
  }

  /** The tail, including any unterminated last lines. */
  synchronized List<String> lines() {
    partial.values().forEach(line -> {
      if (line.size() > 0) {
        add(line);
      }
    });
    return List.copyOf(lines);
  }

  private void add(ByteArrayOutputStream bytes) {
    String line = bytes.toString(StandardCharsets.UTF_8);
    bytes.reset();
    if (line.endsWith("\r")) {
      line = line.substring(0, line.length() - 1);
    }
    if (line.length() > MAX_LINE_CHARS) {
      line = line.substring(0, MAX_LINE_CHARS);
    }
    if (lines.size() == MAX_LINES) {
      lines.removeFirst();
    }
    lines.addLast(line);
  }
}
