package dev.timemachine.workflow;

import dev.timemachine.core.fleet.FleetIds;
import dev.timemachine.core.fleet.FleetSummary;
import dev.timemachine.core.fleet.Selection;
import dev.timemachine.core.grading.Verdict;
import io.temporal.failure.ApplicationFailure;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Stand-ins for a fleet test: fleet activities over maps, and a child replay that only takes time. */
final class FakeFleet {
  private FakeFleet() {}

  /**
   * A replay child whose verdict is looked up by spec: {@code ok@*} reproduces, {@code bad@*}
   * diverges, {@code ghost@*} fails with NOT_FOUND, {@code slow@*} sleeps a day. Each takes ten
   * minutes of (skipped) time, so that several are in flight at once.
   */
  public static final class Child implements ReplayWorkflow {
    static final AtomicInteger running = new AtomicInteger();
    static final AtomicInteger maxRunning = new AtomicInteger();
    static final List<String> started = Collections.synchronizedList(new ArrayList<>());

    static void reset() {
      running.set(0);
      maxRunning.set(0);
      started.clear();
    }

    @Override
    public ReplayResult replay(ReplayRequest request) {
      // Workflow code runs again when a loaded worker replays it from history: that is not a second start.
      synchronized (started) {
        if (!started.contains(request.replayId())) {
          started.add(request.replayId());
        }
      }
      maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
      try {
        String spec = request.modelSpec();
        Workflow.sleep(spec.startsWith("slow@") ? Duration.ofDays(1) : Duration.ofMinutes(10));
        if (spec.startsWith("ghost@")) {
          throw ApplicationFailure.newNonRetryableFailure("model version " + spec + " is not registered", "NOT_FOUND");
        }
        Verdict verdict = spec.startsWith("bad@") ? Verdict.DIVERGED : Verdict.REPRODUCED_BITWISE;
        return new ReplayResult(request.replayId(), verdict, verdict == Verdict.DIVERGED ? "accuracy moved" : "identical",
            "mem://reports/" + request.replayId() + ".json");
      } finally {
        running.decrementAndGet();
      }
    }

    @Override
    public ReplayProgress progress() {
      return new ReplayProgress("fake", 0, List.of());
    }
  }

  static final class Activities implements FleetActivities {
    List<String> specs = List.of();
    List<Selection.Excluded> excluded = List.of();
    final Map<String, ReplayResult> finished = new ConcurrentHashMap<>();
    final Map<String, List<FleetSummary.Entry>> parts = new TreeMap<>();
    final List<FleetSummary> summaries = Collections.synchronizedList(new ArrayList<>());
    FleetSummary previous;
    final List<String> alerts = Collections.synchronizedList(new ArrayList<>());
    RuntimeException alertFailure;
    /** What the pre-flight check says is gone, by spec; {@code gone@*} versions are always gone. */
    final Map<String, String> gone = new ConcurrentHashMap<>();
    final List<List<String>> checked = Collections.synchronizedList(new ArrayList<>());
    RuntimeException preflightFailure;

    @Override
    public Map<String, String> preflight(List<String> specs) {
      checked.add(List.copyOf(specs));
      if (preflightFailure != null) {
        throw preflightFailure;
      }
      Map<String, String> found = new TreeMap<>();
      specs.forEach(spec -> {
        if (gone.containsKey(spec)) {
          found.put(spec, gone.get(spec));
        } else if (spec.startsWith("gone@")) {
          found.put(spec, "pre-flight check: environment: image registry.test/gone@sha256:00 is gone from its registry");
        }
      });
      return found;
    }

    @Override
    public void alert(String fleetId) {
      alerts.add(fleetId);
      if (alertFailure != null) {
        throw alertFailure;
      }
    }

    @Override
    public Selection select(String selector) {
      return new Selection(selector,
          specs.stream().map(s -> new Selection.Selected(s, "manifest", s.split("@")[0], s.split("@")[1], selector)).toList(),
          excluded);
    }

    @Override
    public Map<String, ReplayResult> finishedReplays(List<String> replayIds) {
      Map<String, ReplayResult> found = new TreeMap<>();
      replayIds.forEach(id -> {
        if (finished.containsKey(id)) {
          found.put(id, finished.get(id));
        }
      });
      return found;
    }

    @Override
    public synchronized void writePart(String fleetId, int part, List<FleetSummary.Entry> entries) {
      parts.put(FleetIds.partKey(fleetId, part), entries);
    }

    @Override
    public synchronized FleetResult writeSummary(SummaryRequest request) {
      List<FleetSummary.Entry> entries = new ArrayList<>();
      for (int i = 0; i < request.parts(); i++) {
        entries.addAll(parts.get(FleetIds.partKey(request.fleetId(), i)));
      }
      FleetSummary summary = FleetSummary.of(request.fleetId(), request.name(), request.selector(), request.night(),
          request.trigger(), Instant.ofEpochMilli(request.startedAtMillis()), Instant.ofEpochMilli(request.finishedAtMillis()),
          entries, request.excluded(), previous);
      summaries.add(summary);
      return new FleetResult(summary.fleetId(), "mem://" + FleetIds.summaryKey(summary.fleetId()), entries.size(),
          (int) entries.stream().filter(FleetSummary.Entry::reused).count(), summary.excluded().size(), summary.verdicts(),
          summary.changes(), summary.alerts().stream().map(FleetSummary.Entry::spec).toList(), summary.durationMs());
    }
  }
}
