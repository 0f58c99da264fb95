package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.activities.TrainingActivitiesImpl;
import dev.timemachine.core.ports.ObjectStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing stays in the store that no report names: a replay's cleanup (on the real Docker engine and a
 * local store) removes kept outputs its report does not point at, keeps those it does, and touches
 * nothing while there is no report to tell.
 */
class OutputPruningIT {
  @TempDir Path home;

  private static void output(ObjectStore store, String id) {
    store.putIfAbsent("replays/" + id + "/outputs/model.pkl", "partial".getBytes(StandardCharsets.UTF_8));
    store.putIfAbsent("replays/" + id + "/training.log", "log".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void cleanup_removes_only_the_outputs_no_report_points_at() {
    dev.timemachine.samples.Services.requireAll();
    Config config = Config.fromEnvironment(Map.of("TIMEMACHINE_HOME", home.toString()));
    try (Components components = new Components(config)) {
      ObjectStore store = components.store();
      TrainingActivitiesImpl training = components.trainingActivities();
      // An ERROR report written after a cut-off upload: it names no outputs.
      output(store, "prune-error");
      store.putIfAbsent("reports/prune-error.json", "{\"verdict\": \"ERROR\"}".getBytes(StandardCharsets.UTF_8));
      // A finished replay whose report points at its outputs.
      output(store, "prune-ok");
      store.putIfAbsent("reports/prune-ok.json",
          ("{\"outputs\": \"" + store.uriOf("replays/prune-ok/outputs") + "\"}").getBytes(StandardCharsets.UTF_8));
      // No report (yet, or the store was down for it): nothing can tell, so nothing goes.
      output(store, "prune-none");

      for (String id : new String[] {"prune-error", "prune-ok", "prune-none"}) {
        training.cleanup(id);
      }
      assertThat(store.list("replays/prune-error/")).as("unreported outputs removed, the log kept")
          .containsExactly("replays/prune-error/training.log");
      assertThat(store.list("replays/prune-ok/")).as("reported outputs kept")
          .containsExactly("replays/prune-ok/outputs/model.pkl", "replays/prune-ok/training.log");
      assertThat(store.list("replays/prune-none/")).as("no report: untouched").hasSize(2);
    }
  }
}
