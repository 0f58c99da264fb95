package dev.timemachine.core.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.adapters.store.InMemoryObjectStore;
import dev.timemachine.core.data.Digests;
import dev.timemachine.core.data.SnapshotManifest;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.FileEntry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

/**
 * The mark logic of {@code timemachine gc} on the in-memory store (which passes the same contract
 * test as the local and S3 stores); {@code GarbageCollectionIT} runs it on both with real replays.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class RetentionTest {
  private static final Instant OLD = Instant.parse("2026-01-01T00:00:00Z");
  private static final Instant NOW = OLD.plus(Duration.ofDays(3));
  private static final Duration GRACE = Duration.ofHours(24);

  private InMemoryObjectStore store;

  @BeforeEach
  void store() {
    store = new InMemoryObjectStore().withClock(Clock.fixed(OLD, ZoneOffset.UTC));
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Stores a v2 snapshot of {@code contents} (path=content pairs) and returns its URI. */
  private String snapshot(String... pathsAndContents) {
    List<FileEntry> files = new ArrayList<>();
    for (int i = 0; i < pathsAndContents.length; i += 2) {
      byte[] content = bytes(pathsAndContents[i + 1]);
      String sha = Digests.sha256Hex(content);
      files.add(new FileEntry(pathsAndContents[i], content.length, sha));
      store.putIfAbsent(SnapshotManifest.objectKey(sha), content);
    }
    files.sort(java.util.Comparator.comparing(FileEntry::path));
    String root = Digests.rootDigest(files);
    String hex = root.substring("sha256:".length());
    long total = files.stream().mapToLong(FileEntry::size).sum();
    store.putIfAbsent("snapshots/" + hex + "/manifest.json",
        Json.toBytes(new SnapshotManifest(SnapshotManifest.SCHEMA, root, files.size(), total, files)));
    return store.uriOf("snapshots/" + hex);
  }

  private static String object(String content) {
    return SnapshotManifest.objectKey(Digests.sha256Hex(bytes(content)));
  }

  private List<String> doomed(Retention.Plan plan) {
    return plan.doomed().stream().map(Retention.Doomed::key).toList();
  }

  @Test
  void what_a_registered_version_needs_stays_and_an_old_unreferenced_snapshot_and_its_own_objects_go() {
    String registered = snapshot("train.csv", "shared rows", "labels.txt", "registered only");
    String orphan = snapshot("train.csv", "shared rows", "extra.bin", "orphan only");
    store.putIfAbsent(object("recorded model"), bytes("recorded model"));
    store.putIfAbsent("models/churn/1.json", bytes("{\"snapshotUri\": \"" + registered + "\"}"));
    Retention.Need need = new Retention.Need("churn@1", registered, Set.of(Digests.sha256Hex(bytes("recorded model"))));

    Retention.Plan plan = Retention.plan(store, List.of(need), NOW, GRACE);

    String orphanManifest = orphan.substring(store.rootUri().length() + 1) + "/manifest.json";
    assertThat(doomed(plan)).as("what would go").containsExactly(orphanManifest, object("orphan only"));
    assertThat(plan.doomed()).extracting(Retention.Doomed::kind).containsExactly("snapshot", "object");
    assertThat(plan.doomedBytes()).isEqualTo(store.size(orphanManifest).orElseThrow() + "orphan only".length());
    assertThat(plan.keptSnapshots()).containsExactly(registered.substring(store.rootUri().length() + 1));
    assertThat(store.list("")).as("planning deletes nothing").contains(orphanManifest, object("orphan only"));

    Retention.Swept swept = Retention.sweep(store, plan);
    assertThat(swept.deletedKeys()).isEqualTo(2);
    assertThat(store.exists(object("shared rows"))).as("an object shared with the registered snapshot").isTrue();
    assertThat(store.exists(object("registered only"))).isTrue();
    assertThat(store.exists(object("recorded model"))).as("a recorded artifact kept by content").isTrue();
    assertThat(store.exists("models/churn/1.json")).isTrue();
    assertThat(Retention.plan(store, List.of(need), NOW, GRACE).doomed()).as("a second gc finds nothing").isEmpty();
  }

  @Test
  void a_snapshot_younger_than_the_grace_period_keeps_itself_and_its_old_objects() {
    store.putIfAbsent(object("old rows"), bytes("old rows"));
    store.withClock(Clock.fixed(NOW.minus(Duration.ofHours(1)), ZoneOffset.UTC));
    String young = snapshot("train.csv", "old rows");
    store.putIfAbsent(object("young orphan"), bytes("young orphan"));

    Retention.Plan plan = Retention.plan(store, List.of(), NOW, GRACE);

    assertThat(plan.doomed()).as("nothing referenced, but nothing old enough that a young snapshot does not need").isEmpty();
    assertThat(plan.keptSnapshots()).containsExactly(young.substring(store.rootUri().length() + 1));
    assertThat(Retention.plan(store, List.of(), NOW.plus(Duration.ofDays(2)), GRACE).doomed()).as("two days later")
        .hasSize(3);
  }

  @Test
  void a_report_keeps_the_outputs_and_log_it_points_at_and_unreported_old_replay_files_go() {
    store.putIfAbsent("replays/ok/outputs/model.pkl", bytes("model"));
    store.putIfAbsent("replays/ok/training.log", bytes("log"));
    store.putIfAbsent("reports/ok.json", bytes("{\"rebuiltOutputsUri\": \"" + store.uriOf("replays/ok/outputs")
        + "\", \"log\": {\"uri\": \"" + store.uriOf("replays/ok/training.log") + "\"}}"));
    store.putIfAbsent("replays/error/outputs/model.pkl", bytes("cut off"));
    store.putIfAbsent("replays/error/training.log", bytes("log"));
    store.putIfAbsent("reports/error.json",
        bytes("{\"verdict\": \"ERROR\", \"log\": {\"uri\": \"" + store.uriOf("replays/error/training.log") + "\"}}"));
    store.putIfAbsent("replays/abandoned/training.log", bytes("no report ever came"));
    store.withClock(Clock.fixed(NOW.minusSeconds(60), ZoneOffset.UTC));
    store.putIfAbsent("replays/running/outputs/model.pkl", bytes("being uploaded"));

    Retention.Plan plan = Retention.plan(store, List.of(), NOW, GRACE);

    assertThat(doomed(plan)).containsExactlyInAnyOrder("replays/error/outputs/model.pkl", "replays/abandoned/training.log");
    assertThat(plan.doomed()).extracting(Retention.Doomed::kind).containsOnly("replay");
  }

  @Test
  void a_snapshot_only_a_report_or_backtest_names_is_kept() {
    String reported = snapshot("new.csv", "backtest data");
    store.putIfAbsent("backtests/b1.json", bytes("{\"data\": {\"snapshotUri\": \"" + reported + "\"}}"));

    assertThat(Retention.plan(store, List.of(), NOW, GRACE).doomed()).isEmpty();
  }

  @Test
  void registry_reports_history_keys_and_unknown_prefixes_are_never_swept_whatever_their_age() {
    for (String key : List.of("models/churn/1.json", "models/churn/1.sha256", "reports/r.json", "reports/r.intoto.json",
        "verdicts/churn/1/r.json", "history/churn/1/0001.json", "keys/k.pub", "fleets/f.json", "backtests/b.json",
        "something-else/x", "snapshots/not-a-digest/file")) {
      store.putIfAbsent(key, bytes("{}"));
    }
    assertThat(Retention.plan(store, List.of(), NOW, Duration.ZERO).doomed()).isEmpty();
  }

  @Test
  void when_a_kept_manifest_cannot_be_read_no_object_is_swept_and_the_plan_says_why() {
    String registered = snapshot("train.csv", "rows");
    store.putIfAbsent(object("orphan"), bytes("orphan"));
    String key = registered.substring(store.rootUri().length() + 1) + "/manifest.json";
    store.delete(key);
    store.putIfAbsent(key, bytes("not json"));

    Retention.Plan plan = Retention.plan(store, List.of(new Retention.Need("churn@1", registered, Set.of())), NOW, GRACE);

    assertThat(plan.doomed()).isEmpty();
    assertThat(plan.objectsHeldBack()).contains(key).contains("cannot be read");
  }

  @Test
  void an_object_a_snapshot_written_after_the_plan_lists_is_spared_by_the_sweep() {
    store.putIfAbsent(object("reused"), bytes("reused"));
    Retention.Plan plan = Retention.plan(store, List.of(), NOW, GRACE);
    assertThat(doomed(plan)).containsExactly(object("reused"));

    // Between plan and sweep a snapshot is created that finds the old object and does not upload it again.
    store.withClock(Clock.fixed(NOW, ZoneOffset.UTC));
    snapshot("data.csv", "reused");
    Retention.Swept swept = Retention.sweep(store, plan);

    assertThat(swept.spared()).containsExactly(object("reused"));
    assertThat(store.exists(object("reused"))).isTrue();
  }

  @Test
  void a_v1_snapshot_is_one_unit_kept_when_referenced_and_swept_whole_when_not() {
    store.putIfAbsent("snapshots/" + "a".repeat(64) + "/manifest.json", bytes("{\"schema\": \"timemachine.snapshot/v1\"}"));
    store.putIfAbsent("snapshots/" + "a".repeat(64) + "/files/train.csv", bytes("v1 rows"));
    store.putIfAbsent("snapshots/" + "b".repeat(64) + "/manifest.json", bytes("{\"schema\": \"timemachine.snapshot/v1\"}"));
    store.putIfAbsent("snapshots/" + "b".repeat(64) + "/files/train.csv", bytes("v1 rows"));
    Retention.Need need = new Retention.Need("old@1", store.uriOf("snapshots/" + "a".repeat(64)), Set.of());

    assertThat(doomed(Retention.plan(store, List.of(need), NOW, GRACE))).containsExactly(
        "snapshots/" + "b".repeat(64) + "/manifest.json", "snapshots/" + "b".repeat(64) + "/files/train.csv");
  }

  @Test
  void a_grace_period_is_a_number_with_a_unit() {
    assertThat(Retention.parseGrace("24h")).isEqualTo(Duration.ofHours(24));
    assertThat(Retention.parseGrace("7d")).isEqualTo(Duration.ofDays(7));
    assertThat(Retention.parseGrace("90m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Retention.parseGrace("0")).isEqualTo(Duration.ZERO);
    assertThatThrownBy(() -> Retention.parseGrace("soon")).isInstanceOf(TimemachineException.class)
        .hasMessageContaining("--grace");
  }
}
