package dev.timemachine.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.contract.FileSchema;
import dev.timemachine.core.contract.MetricThreshold;
import dev.timemachine.core.contract.ModelContract;
import dev.timemachine.core.data.Digests;
import dev.timemachine.core.json.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ModelVersionContractTest {
  static ModelVersion version() {
    FileEntry data = new FileEntry("customers.csv", 3, Digests.sha256Hex("abc".getBytes(StandardCharsets.UTF_8)));
    FileEntry model = new FileEntry("model.pkl", 3, Digests.sha256Hex("xyz".getBytes(StandardCharsets.UTF_8)));
    return ModelVersion.of(
        new ModelRef("churn", "1"),
        new Triplet(
            new CodeRef("file:///repo", "0123456789abcdef0123456789abcdef01234567", List.of("python3", "train.py"), "."),
            new EnvironmentRef(ImageRef.parse("127.0.0.1:5000/env@sha256:" + "a".repeat(64))),
            DataRef.of("file:///store/snapshots/x", List.of(data))),
        new RecordedOutputs(List.of(model), "metrics.json", Map.of("accuracy", 0.9), Map.of()),
        Instant.parse("2026-11-01T00:00:00Z"));
  }

  @Test
  void a_version_without_a_contract_writes_the_same_manifest_as_before_contracts_existed() {
    String json = Json.toString(version());

    assertThat(json).doesNotContain("contract");
    assertThat(Json.parse(json.getBytes(StandardCharsets.UTF_8), ModelVersion.class, "old manifest").contract()).isNull();
  }

  @Test
  void a_contract_is_recorded_in_the_manifest_and_read_back_and_kept_for_workflows() {
    ModelContract contract = new ModelContract(
        List.of(new FileSchema("customers.csv", "csv", List.of(new FileSchema.Column("tenure_months", "int")))),
        List.of(MetricThreshold.parse("accuracy>=0.85")));
    ModelVersion withContract = version().withContract(contract);

    ModelVersion back = Json.parse(Json.toBytes(withContract), ModelVersion.class, "manifest");

    assertThat(back.contract()).isEqualTo(contract);
    assertThat(back.forWorkflow().contract()).isEqualTo(contract);
  }
}
