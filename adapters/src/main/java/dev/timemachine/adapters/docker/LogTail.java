package dev.timemachine.adapters.docker;

import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The last lines a container printed, kept while its log stream is followed, and optionally its whole
 * log in a file. Only a bounded tail is kept in memory because it travels in heartbeats and in the
 * report; the file keeps everything up to {@code maxFileBytes}, the evidence an auditor reads when the
 * tail is not enough. Frames are reassembled into lines per stream, as bytes, so that a line or a
 * multi-byte character split across frames comes out whole; the stream must be requested with the
 * engine's timestamps, which order stdout and stderr lines as they were written.
 */
final class LogTail extends DockerStream<Frame> {
  static final int MAX_LINES = 50;
  static final int MAX_LINE_CHARS = 500;
  /** Default bound of the stored log: large enough for any real training's log, small enough to keep. */
  static final long DEFAULT_MAX_FILE_BYTES = 64L << 20;

  /** Longer lines are cut in the stored log too; the engine itself splits lines at 16 KiB. */
  private static final int MAX_HELD_LINE_BYTES = 1 << 20;
  private static final long HOLD_NANOS = 300_000_000L;
  private static final byte[] TRUNCATED =
      "\n[timemachine: log truncated here; later lines are counted but not stored]\n".getBytes(StandardCharsets.UTF_8);

  private final ArrayDeque<String> lines = new ArrayDeque<>();
  private final Map<StreamType, ByteArrayOutputStream> partial = new EnumMap<>(StreamType.class);
  private final List<Held> held = new ArrayList<>();
  private long sequence;
  private long lastStamp;
  private final OutputStream file;
  private final long maxFileBytes;
  private long fileBytes;
  private long totalBytes;
  private long totalLines;
  private boolean truncated;
  private IOException fileError;

  private final LongSupplier nanoClock;

  /** A tail kept in memory only. */
  LogTail() {
    this(System::nanoTime);
  }

  /** A tail kept in memory only, holding lines back by the given clock. */
  LogTail(LongSupplier nanoClock) {
    this.file = null;
    this.maxFileBytes = 0;
    this.nanoClock = nanoClock;
  }

  /** A tail that also writes the whole log, up to {@code maxFileBytes}, to {@code logFile} (replaced). */
  LogTail(Path logFile, long maxFileBytes) {
    try {
      Files.createDirectories(logFile.toAbsolutePath().getParent());
      this.file = Files.newOutputStream(logFile);
    } catch (IOException e) {
      throw new UncheckedIOException("could not create the log file " + logFile, e);
    }
    this.maxFileBytes = maxFileBytes;
    this.nanoClock = System::nanoTime;
  }

  @Override
  public synchronized void onNext(Frame frame) {
    byte[] payload = frame.getPayload();
    if (payload == null) {
      return;
    }
    ByteArrayOutputStream line = partial.computeIfAbsent(frame.getStreamType(), t -> new ByteArrayOutputStream());
    for (byte b : payload) {
      if (b == '\n') {
        hold(line);
      } else if (line.size() < MAX_HELD_LINE_BYTES) {
        line.write(b);
      }
    }
    release(false);
  }

  /**
   * A complete line as the engine sent it, {@code <RFC 3339 timestamp> <text>}, held back briefly. The
   * engine copies stdout and stderr through two pipes and may deliver them out of order; its own
   * timestamps, taken as it read each pipe, put them back in the order they were written.
   */
  private void hold(ByteArrayOutputStream bytes) {
    String raw = bytes.toString(StandardCharsets.UTF_8);
    bytes.reset();
    int space = raw.indexOf(' ');
    long stamp = lastStamp;
    String text = raw;
    if (space > 0) {
      try {
        Instant at = Instant.parse(raw.substring(0, space));
        stamp = at.getEpochSecond() * 1_000_000_000L + at.getNano();
        text = raw.substring(space + 1);
      } catch (DateTimeParseException notAStamp) {
        // A line without the engine's timestamp (a continuation of a very long line): keep it whole.
      }
    }
    lastStamp = Math.max(lastStamp, stamp);
    held.add(new Held(stamp, sequence++, nanoClock.getAsLong(), text));
  }

  /** Emits, in timestamp order, the held lines that have waited long enough (all of them if {@code all}). */
  private void release(boolean all) {
    if (held.isEmpty()) {
      return;
    }
    held.sort(Comparator.comparingLong(Held::stamp).thenComparingLong(Held::sequence));
    long now = nanoClock.getAsLong();
    int emitted = 0;
    for (Held h : held) {
      if (!all && now - h.arrived() < HOLD_NANOS) {
        break;
      }
      emit(h.text());
      emitted++;
    }
    held.subList(0, emitted).clear();
  }

  private record Held(long stamp, long sequence, long arrived, String text) {}

  /** The last complete line, or null if none yet. */
  synchronized String last() {
    release(false);
    return lines.peekLast();
  }

  /** The tail, including any unterminated last lines; call it once the stream has ended. */
  synchronized List<String> lines() {
    partial.values().forEach(line -> {
      if (line.size() > 0) {
        hold(line);
      }
    });
    release(true);
    return List.copyOf(lines);
  }

  /** Lines seen in the whole log (an unterminated last line counts once {@link #lines()} was called). */
  synchronized long totalLines() {
    return totalLines;
  }

  /** Bytes seen in the whole log. */
  synchronized long totalBytes() {
    return totalBytes;
  }

  /** True if the log file stopped at its bound. */
  synchronized boolean truncated() {
    return truncated;
  }

  /**
   * Flushes and closes the log file. Throws if writing it failed at any point: a stored log that
   * silently lacks lines would be worse than none.
   */
  synchronized void closeFile() {
    if (file == null) {
      return;
    }
    try {
      file.close();
    } catch (IOException e) {
      if (fileError == null) {
        fileError = e;
      }
    }
    if (fileError != null) {
      throw new UncheckedIOException("could not write the training log", fileError);
    }
  }

  private void write(byte[] payload) {
    if (file == null || truncated || fileError != null) {
      return;
    }
    try {
      long room = maxFileBytes - fileBytes;
      if (payload.length <= room) {
        file.write(payload);
        fileBytes += payload.length;
      } else {
        file.write(payload, 0, (int) Math.max(0, room));
        file.write(TRUNCATED);
        fileBytes = maxFileBytes;
        truncated = true;
      }
    } catch (IOException e) {
      fileError = e;
    }
  }

  private void emit(String text) {
    byte[] bytes = (text + "\n").getBytes(StandardCharsets.UTF_8);
    totalBytes += bytes.length;
    totalLines++;
    write(bytes);
    String line = text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
    if (line.length() > MAX_LINE_CHARS) {
      line = line.substring(0, MAX_LINE_CHARS);
    }
    if (lines.size() == MAX_LINES) {
      lines.removeFirst();
    }
    lines.addLast(line);
  }
}
