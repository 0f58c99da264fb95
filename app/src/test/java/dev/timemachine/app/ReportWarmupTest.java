package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.activities.ControlActivitiesImpl;
import dev.timemachine.adapters.store.InMemoryObjectStore;
import dev.timemachine.core.evidence.Signer;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.report.ReplayReport;
import java.security.KeyPairGenerator;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

/**
 * The report path's warm-up (ControlActivitiesImpl.warmUp): what it writes and where. Whether it saves
 * time is for bench/replay.sh to say, not a test.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ReportWarmupTest {
  private final InMemoryObjectStore reports = new InMemoryObjectStore();
  private final List<InMemoryObjectStore> scratches = new ArrayList<>();

  @Test
  void the_warm_up_signs_and_records_a_sample_report_in_scratch_once_and_never_touches_the_report_store()
      throws Exception {
    ControlActivitiesImpl activities = activities(() -> {
      InMemoryObjectStore scratch = new InMemoryObjectStore();
      scratches.add(scratch);
      return scratch;
    });

    var first = activities.warmUp();
    first.get(60, TimeUnit.SECONDS);

    assertThat(activities.warmUp()).as("a second call").isSameAs(first);
    assertThat(scratches).hasSize(1);
    List<String> written = scratches.get(0).list("");
    assertThat(written).as("what the warm-up wrote")
        .anyMatch(k -> k.startsWith("reports/") && k.endsWith(".intoto.json"))
        .anyMatch(k -> k.startsWith("reports/") && k.endsWith(".json") && !k.endsWith(".intoto.json"))
        .anyMatch(k -> k.startsWith("history/churn/"));
    assertThat(reports.list("")).as("the real report store").isEmpty();
  }

  @Test
  void a_warm_up_that_fails_says_so_in_its_future_and_writes_nothing_real() {
    ControlActivitiesImpl activities = activities(() -> {
      throw new IllegalStateException("no scratch today");
    });

    assertThatThrownBy(() -> activities.warmUp().get(60, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class).hasRootCauseMessage("no scratch today");
    assertThat(reports.list("")).isEmpty();
  }

  @Test
  void a_worker_without_a_scratch_store_does_not_warm_up() {
    assertThat(new ControlActivitiesImpl(null, reports).warmUp()).isNull();
  }

  @Test
  void the_sample_is_a_report_of_the_current_schema() throws Exception {
    byte[] sample;
    try (var in = ControlActivitiesImpl.class.getResourceAsStream("warmup-report.json")) {
      sample = in.readAllBytes();
    }
    ReplayReport report = Json.parse(sample, ReplayReport.class, "warmup-report.json");

    assertThat(report.schema()).as("refresh activities' warmup-report.json from a replay's --json").isEqualTo(ReplayReport.SCHEMA);
    assertThat(report.model()).isNotNull();
    assertThat(report.artifacts()).isNotEmpty();
    assertThat(report.metrics()).isNotEmpty();
  }

  private ControlActivitiesImpl activities(java.util.function.Supplier<ObjectStore> scratch) {
    try {
      Signer signer = Signer.ed25519(KeyPairGenerator.getInstance("Ed25519").generateKeyPair());
      return new ControlActivitiesImpl(null, reports, signer, "test", () -> "sha256:test", scratch);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
