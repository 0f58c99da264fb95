package dev.timemachine.registries.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.adapters.store.ObjectStores;
import dev.timemachine.adapters.store.S3Settings;
import dev.timemachine.core.contract.FileSchema;
import dev.timemachine.core.contract.MetricThreshold;
import dev.timemachine.core.data.Snapshots;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.core.ports.Reachability;
import dev.timemachine.core.ports.SourceCheckout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Registration records the model contract: schemas it infers itself, and the thresholds it is given. */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class RegistrationContractTest {
  @TempDir Path tmp;
  private ObjectStores stores;
  private ManifestRegistry registry;
  private Registration registration;
  private Path data;
  private Path output;

  private static final SourceCheckout PUSHED = new SourceCheckout() {
    @Override
    public String checkout(CodeRef code, Path target, Progress progress) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Reachability reachable(String repositoryUrl, String commit) {
      return Reachability.via("refs/heads/main");
    }

    @Override
    public Optional<byte[]> readFile(String repositoryUrl, String commit, String path) {
      return Optional.empty();
    }
  };

  @BeforeEach
  void setUp() throws Exception {
    stores = new ObjectStores(S3Settings.defaults());
    String root = tmp.resolve("store").toUri().toString();
    registry = new ManifestRegistry(stores.open(root));
    registration = new Registration(registry, new Snapshots(stores), root, PUSHED, Clock.systemUTC());
    data = Files.createDirectories(tmp.resolve("data"));
    Files.writeString(data.resolve("customers.csv"), "customer_id,tenure_months,monthly_charges\nC1,3,18.5\nC2,12,20\n");
    Files.writeString(data.resolve("README.txt"), "synthetic\n");
    output = Files.createDirectories(tmp.resolve("out"));
    Files.writeString(output.resolve("model.pkl"), "model");
    Files.writeString(output.resolve("metrics.json"), "{\"accuracy\": 0.9}");
  }

  @AfterEach
  void close() {
    stores.close();
  }

  private Registration.Request request(String model, String dataArgument, List<MetricThreshold> thresholds) {
    return new Registration.Request(ModelRef.parse(model), "file:///repo", "1".repeat(40), List.of("python3", "train.py"), ".",
        ImageRef.parse("reg/env@sha256:" + "a".repeat(64)), dataArgument, output, "metrics.json", Map.of(), List.of(),
        thresholds);
  }

  @Test
  void the_schema_of_every_data_file_and_the_thresholds_are_recorded_in_the_manifest() {
    registration.register(request("churn@1", data.toString(), List.of(MetricThreshold.parse("accuracy>=0.85"))), Progress.NONE);

    ModelVersion stored = registry.resolve("churn@1");
    assertThat(stored.contract()).as("contract").isNotNull();
    assertThat(stored.contract().files()).containsExactlyInAnyOrder(
        new FileSchema("README.txt", "other", List.of()),
        new FileSchema("customers.csv", "csv", List.of(new FileSchema.Column("customer_id", "string"),
            new FileSchema.Column("tenure_months", "int"), new FileSchema.Column("monthly_charges", "float"))));
    assertThat(stored.contract().thresholds()).containsExactly(new MetricThreshold("accuracy", ">=", 0.85));
  }

  @Test
  void data_given_as_a_snapshot_uri_is_restored_verified_and_read_for_its_schema() {
    ModelVersion first = registration.register(request("churn@1", data.toString(), List.of()), Progress.NONE);

    ModelVersion second =
        registration.register(request("churn@2", first.triplet().data().snapshotUri(), List.of()), Progress.NONE);

    assertThat(second.contract().files()).isEqualTo(first.contract().files());
  }

  @Test
  void a_threshold_on_a_metric_that_was_not_recorded_is_refused() {
    assertThatThrownBy(() -> registration.register(
            request("churn@1", data.toString(), List.of(MetricThreshold.parse("auc>=0.8"))), Progress.NONE))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("--threshold auc>=0.8 names metric 'auc', which was not recorded");
    assertThat(registry.list()).isEmpty();
  }

  @Test
  void a_dataset_of_many_shards_registers_with_one_group_for_them_that_replays_carry() throws Exception {
    // More than FileSchemas.MAX_LISTED files; FileSchemasTest shows 20,000 of them stay under 1 kB.
    for (int i = 0; i < 300; i++) {
      Path dir = Files.createDirectories(data.resolve("shards").resolve(String.format("%03d", i / 100)));
      Files.writeString(dir.resolve(String.format("part-%05d.csv", i)), "id,value\n" + i + "," + (i * 7 % 1000) + "\n");
    }

    ModelVersion version = registration.register(request("churn@1", data.toString(), List.of()), Progress.NONE);

    assertThat(version.contract().files()).contains(
        FileSchema.group("shards", "csv",
            List.of(new FileSchema.Column("id", "int"), new FileSchema.Column("value", "int")), 300),
        new FileSchema("README.txt", "other", List.of())).hasSize(3);
    assertThat(dev.timemachine.core.json.Json.toBytes(version.forWorkflow()).length)
        .isLessThan(Registration.MAX_WORKFLOW_PAYLOAD_BYTES);
    assertThat(registry.resolve("churn@1").contract()).isEqualTo(version.contract());
  }

  /** Written by real pyarrow: core/src/test/resources/contract/make_parquet.py. */
  private static final Path PARQUET = Path.of("../core/src/test/resources/contract/customers.parquet");

  @Test
  void a_parquet_file_is_registered_with_the_schema_of_its_footer_from_a_directory_and_from_a_snapshot() throws Exception {
    Files.createDirectories(data.resolve("q3"));
    Files.copy(PARQUET, data.resolve("q3/customers.parquet"));

    ModelVersion first = registration.register(request("churn@1", data.toString(), List.of()), Progress.NONE);
    ModelVersion second =
        registration.register(request("churn@2", first.triplet().data().snapshotUri(), List.of()), Progress.NONE);

    FileSchema parquet = registry.resolve("churn@1").contract().files().stream()
        .filter(f -> f.path().equals("q3/customers.parquet")).findFirst().orElseThrow();
    assertThat(parquet.format()).isEqualTo("parquet");
    assertThat(parquet.typesByName())
        .containsEntry("tenure_months", "int").containsEntry("monthly_charges", "float").containsEntry("churned", "bool")
        .containsEntry("segment", "string").containsEntry("signed_up", "timestamp[us]").containsEntry("address.city", "string")
        .hasSize(12);
    assertThat(registry.resolve("churn@2").contract().files()).isEqualTo(first.contract().files());
  }

  @Test
  void a_truncated_parquet_file_refuses_the_registration_naming_it() throws Exception {
    byte[] whole = Files.readAllBytes(PARQUET);
    Files.write(data.resolve("customers.parquet"), java.util.Arrays.copyOf(whole, 1000));

    assertThatThrownBy(() -> registration.register(request("churn@1", data.toString(), List.of()), Progress.NONE))
        .isInstanceOf(TimemachineException.class)
        .hasMessageStartingWith("customers.parquet is not a readable Parquet file: it does not end with PAR1");
    assertThat(registry.list()).isEmpty();
  }
}
