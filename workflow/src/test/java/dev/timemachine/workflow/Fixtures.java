package dev.timemachine.workflow;

import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.data.Digests;
import dev.timemachine.core.model.EnvironmentRef;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.model.Tolerance;
import dev.timemachine.core.model.TrainingResult;
import dev.timemachine.core.model.Triplet;
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
