package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.adapters.store.ObjectStores;
import dev.timemachine.adapters.store.S3ObjectStore;
import dev.timemachine.adapters.store.S3Settings;
import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.EnvironmentRef;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.registries.manifest.ManifestRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two registrations of one name@version with different content, started at the same instant, 20
 * rounds on the local store and 20 on S3 (s3proxy, {@code If-None-Match: *}): every round has exactly
 * one winner, the other is a CONFLICT, and the stored manifest is the winner's, whole, with the
 * digest written beside it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegisterRaceIT {
  private static final int ROUNDS = 20;
  private static final String BUCKET = "tm-register-race-" + System.currentTimeMillis();

  @TempDir Path tmp;
  private ObjectStores stores;
  private final ExecutorService pool = Executors.newFixedThreadPool(2);

  @BeforeAll
  void open() {
    dev.timemachine.samples.Services.requireAll();
    stores = new ObjectStores(S3Settings.compatible(dev.timemachine.samples.Services.S3_ENDPOINT, "us-east-1",
        dev.timemachine.samples.Services.S3_ACCESS_KEY, dev.timemachine.samples.Services.S3_SECRET_KEY));
    ((S3ObjectStore) stores.open("s3://" + BUCKET)).createBucketIfMissing();
  }

  @AfterAll
  void close() {
    pool.shutdownNow();
    stores.close();
  }

  private static ModelVersion version(ModelRef model, String entryPoint) {
    FileEntry file = new FileEntry("a.csv", 1, "a".repeat(64));
    return ModelVersion.of(model,
        new Triplet(new CodeRef("file:///repo", "b".repeat(40), List.of("python3", entryPoint), "."),
            new EnvironmentRef(ImageRef.parse("127.0.0.1:5000/x@sha256:" + "c".repeat(64))),
            DataRef.of("file:///snap", List.of(file))),
        new RecordedOutputs(List.of(new FileEntry("model.pkl", 2, "d".repeat(64))), "metrics.json", Map.of("acc", 0.5),
            Map.of()),
        Instant.parse("2026-12-02T00:00:00Z"));
  }

  private void race(ObjectStore store) throws Exception {
    ManifestRegistry registry = new ManifestRegistry(store);
    for (int round = 0; round < ROUNDS; round++) {
      ModelRef model = new ModelRef("race", Integer.toString(round));
      CyclicBarrier start = new CyclicBarrier(2);
      List<ModelVersion> candidates = List.of(version(model, "left.py"), version(model, "right.py"));
      List<Future<String>> outcomes = candidates.stream().map(v -> pool.submit(() -> {
        start.await();
        try {
          registry.register(v);
          return "won";
        } catch (TimemachineException e) {
          return e.type() == ErrorType.CONFLICT ? "conflict" : "error: " + e.getMessage();
        }
      })).toList();
      List<String> results = List.of(outcomes.get(0).get(), outcomes.get(1).get());
      assertThat(results).as("round %d on %s", round, store.rootUri()).containsExactlyInAnyOrder("won", "conflict");
      ModelVersion winner = candidates.get(results.indexOf("won"));
      byte[] stored = store.getBytes("models/race/" + round + ".json");
      assertThat(stored).as("the stored manifest is the winner's, whole").isEqualTo(Json.toBytes(winner));
      assertThat(new String(store.getBytes("models/race/" + round + ".sha256"), StandardCharsets.UTF_8).strip())
          .as("its digest beside it").isEqualTo(Digests.sha256Hex(stored));
      assertThat(registry.resolve("race@" + round).triplet().code().entryPoint())
          .isEqualTo(winner.triplet().code().entryPoint());
    }
    assertThat(store.list("models/race/")).as("one manifest and one digest per version").hasSize(2 * ROUNDS);
  }

  @Test
  void on_the_local_store_every_round_has_one_winner_and_an_intact_manifest() throws Exception {
    race(stores.open(tmp.resolve("store").toUri().toString()));
  }

  @Test
  void on_s3_every_round_has_one_winner_and_an_intact_manifest() throws Exception {
    race(stores.open("s3://" + BUCKET + "/race"));
  }
}
