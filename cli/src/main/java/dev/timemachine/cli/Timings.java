package dev.timemachine.cli;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Where one CLI process spent its time, phase by phase: from the JVM's start to {@code main}, then each
 * {@link #mark} since the previous one. Printed as one line on stderr at exit when
 * {@code TIMEMACHINE_TIMINGS=1} (bench/replay.sh reads it); recording costs a clock read per phase.
 */
final class Timings {
  private static final long MAIN = System.nanoTime();
  private static final Instant MAIN_WALL = Instant.now();
  private static final List<String> PHASES = new ArrayList<>();
  private static final List<Long> ENDS = new ArrayList<>();

  private Timings() {}

  /** Called first in {@code main}: what came before is the JVM's start. */
  static void start() {
    // Loading this class took the clock readings above.
  }

  /** Ends the phase {@code name}: it ran from the previous mark (or {@code main}) until now. */
  static synchronized void mark(String name) {
    PHASES.add(name);
    ENDS.add(System.nanoTime());
  }

  /** One line, e.g. {@code timings: jvm 312 ms, setup 210 ms, workflow 1850 ms, exit 40 ms}. */
  static synchronized String line() {
    StringBuilder line = new StringBuilder("timings:");
    // Asked only when printing: the management classes it loads would otherwise count in a phase.
    long jvm = MAIN_WALL.toEpochMilli() - java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
    line.append(" jvm ").append(jvm).append(" ms");
    long previous = MAIN;
    for (int i = 0; i < PHASES.size(); i++) {
      line.append(", ").append(PHASES.get(i)).append(' ').append((ENDS.get(i) - previous) / 1_000_000).append(" ms");
      previous = ENDS.get(i);
    }
    return line.toString();
  }

  static void print(PrintWriter err) {
    err.println(line());
    err.flush();
  }
}
