package dev.timemachine.workflow;

import dev.timemachine.domain.CodeRef;
import dev.timemachine.domain.DataRef;
import dev.timemachine.domain.Digests;
import dev.timemachine.domain.EnvironmentRef;
import dev.timemachine.domain.FileEntry;
import dev.timemachine.domain.ImageRef;
import dev.timemachine.domain.ModelRef;
import dev.timemachine.domain.ModelVersion;
import dev.timemachine.domain.RecordedOutputs;
import dev.timemachine.domain.Tolerance;
import dev.timemachine.domain.TrainingResult;
import dev.timemachine.domain.Triplet;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Small, valid domain objects for tests. */
final class Fixtures {
  static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
  static final ImageRef IMAGE = ImageRef.parse("127.0.0.1:5000/churn-env@sha256:" + "a".repeat(64));
  static final FileEntry DATA_FILE = new FileEntry("customers.csv", 3, Digests.sha256Hex(bytes("abc")));
  static final FileEntry MODEL = new FileEntry("model.pkl", 5, Digests.sha256Hex(bytes("model")));
  static final FileEntry METRICS = new FileEntry("metrics.json", 7, Digests.sha256Hex(bytes("metrics")));

  private Fixtures() {}

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static ModelVersion version(Map<String, Tolerance> tolerances) {
    return ModelVersion.of(
        new ModelRef("churn", "1"),
        new Triplet(
            new CodeRef("file:///repo", COMMIT, List.of("python3", "train.py"), "."),
            new EnvironmentRef(IMAGE),
            DataRef.of("file:///store/snapshots/x", List.of(DATA_FILE))),
        new RecordedOutputs(List.of(MODEL, METRICS), "metrics.json", Map.of("accuracy", 0.9, "f1", 0.7), tolerances),
        Instant.parse("2026-11-01T00:00:00Z"));
  }

  static TrainingResult rebuilt(List<FileEntry> outputs, Map<String, Double> metrics) {
    return new TrainingResult("c", 0, false, false, 1200, List.of("done"), outputs, metrics, null, "file:///store/replays/x/outputs");
  }

  static FileEntry changed(FileEntry f) {
    return new FileEntry(f.path(), f.size(), Digests.sha256Hex(bytes(f.path() + " rebuilt differently")));
  }
}
