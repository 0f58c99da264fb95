package dev.timemachine.activities;

import dev.timemachine.core.check.Preflight;
import dev.timemachine.core.errors.ErrorType;
import io.temporal.activity.Activity;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.fleet.FleetIds;
import dev.timemachine.core.fleet.FleetSummary;
import dev.timemachine.core.fleet.Selection;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.ports.FleetAlerts;
import dev.timemachine.core.ports.ModelCatalog;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.workflow.FleetActivities;
import dev.timemachine.workflow.FleetResult;
import dev.timemachine.workflow.Failures;
import dev.timemachine.workflow.ReplayResult;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Selection, reuse of finished replays and the fleet summary; thin over the catalog and the store. */
public final class FleetActivitiesImpl implements FleetActivities {
  private static final com.fasterxml.jackson.core.type.TypeReference<List<FleetSummary.Entry>> ENTRIES =
      new com.fasterxml.jackson.core.type.TypeReference<>() {};

  private final ModelCatalog catalog;
  private final ObjectStore store;
  private final FleetAlerts alerts;
  private final Preflight preflight;

  public FleetActivitiesImpl(ModelCatalog catalog, ObjectStore store, FleetAlerts alerts, Preflight preflight) {
    this.catalog = catalog;
    this.store = store;
    this.alerts = alerts;
    this.preflight = preflight;
  }

  @Override
  public Map<String, String> preflight(List<String> specs) {
    Map<String, String> gone = new LinkedHashMap<>();
    var context = Activity.getExecutionContext();
    for (String spec : specs) {
      Preflight.Result result = preflight.check(spec, false, message -> context.heartbeat(spec + ": " + message));
      if (result.missing()) {
        gone.put(spec, "pre-flight check: " + result.reason());
      }
    }
    return gone;
  }

  @Override
  public Selection select(String selector) {
    return Failures.call("the model registries", () -> catalog.select(selector));
  }

  @Override
  public Map<String, ReplayResult> finishedReplays(List<String> replayIds) {
    return Failures.call("the object store",
        () -> {
          Map<String, ReplayResult> finished = new LinkedHashMap<>();
          for (String id : replayIds) {
            String key = ControlActivitiesImpl.reportKey(id);
            if (store.exists(key)) {
              ReplayReport report = Json.parse(store.getBytes(key), ReplayReport.class, store.uriOf(key));
              finished.put(id, new ReplayResult(id, report.verdict(), report.verdictReason(), store.uriOf(key)));
            }
          }
          return finished;
        });
  }

  @Override
  public void writePart(String fleetId, int part, List<FleetSummary.Entry> entries) {
    Failures.run("the object store", () -> writeOnce(FleetIds.partKey(fleetId, part), Json.toBytes(entries)));
  }

  @Override
  public FleetResult writeSummary(SummaryRequest request) {
    return Failures.call("the object store",
        () -> {
          List<FleetSummary.Entry> entries = new ArrayList<>();
          for (int part = 0; part < request.parts(); part++) {
            String key = FleetIds.partKey(request.fleetId(), part);
            try {
              entries.addAll(Json.mapper().readValue(store.getBytes(key), ENTRIES));
            } catch (java.io.IOException e) {
              throw TimemachineException.invalidInput("unreadable fleet part " + store.uriOf(key) + ": " + e.getMessage());
            }
          }
          String key = FleetIds.summaryKey(request.fleetId());
          FleetSummary summary;
          if (store.exists(key)) {
            // A retried activity: the summary is written; report what it says.
            summary = Json.parse(store.getBytes(key), FleetSummary.class, store.uriOf(key));
          } else {
            summary = FleetSummary.of(
                request.fleetId(), request.name(), request.selector(), request.night(), request.trigger(),
                Instant.ofEpochMilli(request.startedAtMillis()), Instant.ofEpochMilli(request.finishedAtMillis()),
                entries, request.excluded(), previous(request.name(), request.night()));
            writeOnce(key, Json.toBytes(summary));
          }
          return new FleetResult(
              summary.fleetId(), store.uriOf(key), summary.entries().size(),
              (int) summary.entries().stream().filter(FleetSummary.Entry::reused).count(), summary.excluded().size(),
              summary.verdicts(), summary.changes(),
              summary.alerts().stream().map(FleetSummary.Entry::spec).toList(), summary.durationMs());
        });
  }

  @Override
  public void alert(String fleetId) {
    Failures.run("the alert webhook",
        () -> {
          String key = FleetIds.summaryKey(fleetId);
          FleetSummary summary = Json.parse(store.getBytes(key), FleetSummary.class, store.uriOf(key));
          if (!summary.alerts().isEmpty()) {
            alerts.newFailures(summary);
          }
        });
  }

  /**
   * The latest summary of the same fleet name for an earlier night. Fleet ids are {@code
   * <name>-<night>-<start>}, so they sort by night and then by start time.
   */
  FleetSummary previous(String name, String night) {
    String prefix = "fleets/" + name + "-";
    String best = null;
    for (String key : store.list("fleets/")) {
      if (!key.startsWith(prefix) || !key.endsWith(".json") || key.indexOf('/', "fleets/".length()) >= 0) {
        continue;
      }
      String rest = key.substring(prefix.length());
      if (!rest.matches("\\d{8}-\\d{8}T\\d{6}\\.json") || rest.substring(0, 8).compareTo(night) >= 0) {
        continue;
      }
      if (best == null || key.compareTo(best) > 0) {
        best = key;
      }
    }
    return best == null ? null : Json.parse(store.getBytes(best), FleetSummary.class, store.uriOf(best));
  }

  private void writeOnce(String key, byte[] content) {
    if (!store.putIfAbsent(key, content) && !Arrays.equals(store.getBytes(key), content)) {
      throw new TimemachineException(ErrorType.CONFLICT, "a different object already exists at " + store.uriOf(key),
          "fleet summaries and their parts are immutable; run the fleet again (it gets a new fleet id)", null);
    }
  }
}
