package dev.timemachine.adapters.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.data.Snapshots;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.data.Digests;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.ports.Progress;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The S3 store and snapshots against a real S3-compatible server (s3proxy) on 127.0.0.1:9000. */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class S3ObjectStoreIT {
  static final String ENDPOINT = "http://127.0.0.1:9000";
  static final String BUCKET = "tm-store-it-" + System.currentTimeMillis();

  static ObjectStores stores;
  @TempDir static Path tmp;

  @BeforeAll
  static void server() {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", 9000), 1000);
    } catch (IOException e) {
      throw new IllegalStateException(
          "S3-compatible server not reachable at " + ENDPOINT + ": start it with scripts/services.sh up", e);
    }
    stores = new ObjectStores(S3Settings.compatible(ENDPOINT, "us-east-1", "timemachine", "timemachine-secret"));
    ((S3ObjectStore) stores.open("s3://" + BUCKET)).createBucketIfMissing();
  }

  @AfterAll
  static void close() {
    stores.close();
  }

  @Test
  void a_large_object_goes_up_in_parts_and_comes_down_whole_by_ranges_or_one_get() throws Exception {
    S3ObjectStore store = ((S3ObjectStore) stores.open("s3://" + BUCKET + "/large"))
        .withTransfer(new S3ObjectStore.Transfer(6L << 20, 5L << 20, 3));
    Path big = tmp.resolve("big.bin");
    byte[] content = new byte[(12 << 20) + 12345];
    new java.util.Random(42).nextBytes(content);
    Files.write(big, content);

    store.put("objects/big.bin", big);

    assertThat(store.size("objects/big.bin")).contains((long) content.length);
    try (S3ClientHolder client = new S3ClientHolder()) {
      String etag = client.s3.headObject(b -> b.bucket(BUCKET).key("large/objects/big.bin")).eTag();
      assertThat(etag).as("the ETag of a multipart upload of 3 parts").endsWith("-3\"");
    }
    Path back = tmp.resolve("back.bin");
    store.download("objects/big.bin", back);
    assertThat(Digests.sha256Hex(Files.readAllBytes(back))).as("downloaded content (ranges refused: %s)", store.rangesRefused())
        .isEqualTo(Digests.sha256Hex(content));
    assertThat(Files.list(tmp).filter(f -> f.getFileName().toString().contains(".part-"))).as("no partial files left").isEmpty();
    // s3proxy 4.1 refuses per-part GETs (partNumber) but serves byte ranges, so the ranged path ran here;
    // S3RangeFallbackTest covers a server that refuses or ignores them.
    assertThat(store.rangesRefused()).as("s3proxy served the ranged GETs").isFalse();

    Path small = Files.writeString(tmp.resolve("small.txt"), "one part");
    store.put("objects/small.txt", small);
    try (S3ClientHolder client = new S3ClientHolder()) {
      assertThat(client.s3.headObject(b -> b.bucket(BUCKET).key("large/objects/small.txt")).eTag())
          .as("below the threshold: one PUT").doesNotContain("-");
    }
  }

  @Test
  void the_configured_threshold_decides_between_parts_and_one_put() throws Exception {
    Path file = tmp.resolve("seventeen.bin");
    byte[] content = new byte[17 << 20];
    new java.util.Random(7).nextBytes(content);
    Files.write(file, content);
    for (long threshold : new long[] {16L << 20, Long.MAX_VALUE}) {
      S3Settings settings = new S3Settings(ENDPOINT, null, "us-east-1", "timemachine", "timemachine-secret", null, true, threshold);
      try (ObjectStores configured = new ObjectStores(settings)) {
        configured.open("s3://" + BUCKET + "/threshold").put("t" + threshold + ".bin", file);
      }
      try (S3ClientHolder client = new S3ClientHolder()) {
        String etag = client.s3.headObject(b -> b.bucket(BUCKET).key("threshold/t" + threshold + ".bin")).eTag();
        if (threshold == Long.MAX_VALUE) {
          assertThat(etag).as("multipart off: one PUT").doesNotContain("-");
        } else {
          assertThat(etag).as("17 MiB from a 16 MiB threshold: 2 parts of 16 MiB").endsWith("-2\"");
        }
      }
    }
  }

  /** A client of its own, to ask the server what the store's ObjectStore API does not expose (the ETag). */
  static final class S3ClientHolder implements AutoCloseable {
    final software.amazon.awssdk.services.s3.S3Client s3 = software.amazon.awssdk.services.s3.S3Client.builder()
        .endpointOverride(java.net.URI.create(ENDPOINT)).region(software.amazon.awssdk.regions.Region.US_EAST_1)
        .forcePathStyle(true)
        .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
            software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create("timemachine", "timemachine-secret")))
        .build();

    @Override
    public void close() {
      s3.close();
    }
  }

  @Test
  void objects_round_trip_under_a_prefix_and_write_once_holds() {
    ObjectStore store = stores.open("s3://" + BUCKET + "/team-a");
    assertThat(store.rootUri()).isEqualTo("s3://" + BUCKET + "/team-a");
    assertThat(store.putIfAbsent("reports/r1.json", "first".getBytes(StandardCharsets.UTF_8))).isTrue();
    assertThat(store.putIfAbsent("reports/r1.json", "second".getBytes(StandardCharsets.UTF_8))).isFalse();
    assertThat(new String(store.getBytes("reports/r1.json"), StandardCharsets.UTF_8)).isEqualTo("first");
    assertThat(store.list("reports/")).containsExactly("reports/r1.json");
    assertThat(stores.open("s3://" + BUCKET + "/team-b").list("")).as("prefixes isolate stores").isEmpty();
    assertThatThrownBy(() -> store.getBytes("reports/none.json"))
        .isInstanceOf(TimemachineException.class)
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.NOT_FOUND));
  }

  @Test
  void wrong_credentials_are_a_configuration_error_saying_what_to_check() throws Exception {
    Path big = bigFile("upload.bin");
    try (ObjectStores bad = new ObjectStores(S3Settings.compatible(ENDPOINT, "us-east-1", "timemachine", "wrong"))) {
      assertThatThrownBy(() -> bad.open("s3://" + BUCKET).put("files/upload.bin", big))
          .isInstanceOf(TimemachineException.class)
          .hasMessageContaining("access to s3://" + BUCKET + " at " + ENDPOINT + " was refused (HTTP 403 SignatureDoesNotMatch")
          .satisfies(e -> {
            assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.CONFIGURATION);
            assertThat(((TimemachineException) e).hint()).contains("AWS_SECRET_ACCESS_KEY");
          });
    }
    try (ObjectStores unknown = new ObjectStores(S3Settings.compatible(ENDPOINT, "us-east-1", "nobody", "wrong"))) {
      assertThatThrownBy(() -> unknown.open("s3://" + BUCKET).exists("anything"))
          .hasMessageContaining("InvalidAccessKeyId")
          .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.CONFIGURATION))
          .satisfies(e -> assertThat(((TimemachineException) e).hint()).contains("AWS_ACCESS_KEY_ID"));
    }
  }

  @Test
  void a_snapshot_into_a_missing_bucket_names_the_bucket_and_how_to_create_it() throws Exception {
    String missing = "no-such-bucket-" + System.nanoTime();
    Path data = Files.createDirectories(tmp.resolve("missing-bucket-data"));
    Files.copy(bigFile("big.bin"), data.resolve("big.bin"));
    long start = System.nanoTime();

    assertThatThrownBy(() -> new Snapshots(stores).create(data, "s3://" + missing + "/tm", Progress.NONE))
        .isInstanceOf(TimemachineException.class)
        .hasMessage("bucket " + missing + " does not exist at endpoint " + ENDPOINT)
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.CONFIGURATION))
        .satisfies(e -> assertThat(((TimemachineException) e).hint())
            .contains("aws s3 mb s3://" + missing + " --endpoint-url " + ENDPOINT).contains("fix the store URI"));
    assertThat(System.nanoTime() - start).as("no upload retried into the missing bucket").isLessThan(5_000_000_000L);
    assertThatThrownBy(() -> stores.open("s3://" + missing).exists("manifest.json"))
        .as("a missing bucket is not a missing key")
        .hasMessageContaining("bucket " + missing + " does not exist");
  }

  @Test
  void an_endpoint_that_is_down_is_unavailable_and_retryable_naming_the_endpoint() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    String down = "http://127.0.0.1:" + port;
    try (ObjectStores closed = new ObjectStores(S3Settings.compatible(down, "us-east-1", "timemachine", "timemachine-secret"))) {
      assertThatThrownBy(() -> closed.open("s3://" + BUCKET).getBytes("anything"))
          .isInstanceOf(TimemachineException.class)
          .hasMessageStartingWith("S3 endpoint " + down + " is down: it refused the connection")
          .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.UNAVAILABLE))
          .satisfies(e -> assertThat(((TimemachineException) e).type().retryable()).isTrue())
          .satisfies(e -> assertThat(((TimemachineException) e).hint()).contains("TIMEMACHINE_S3_ENDPOINT"));
    }
  }

  @Test
  void re_creating_a_snapshot_over_s3_catches_a_same_size_edit_by_sha256_and_repairs_it() throws Exception {
    Path data = Files.createDirectories(tmp.resolve("tamper-data"));
    Files.writeString(data.resolve("customers.csv"), "id,churned\n1,0\n2,1\n");
    Snapshots snapshots = new Snapshots(stores);
    DataRef ref = snapshots.create(data, "s3://" + BUCKET + "/tamper", Progress.NONE);
    ObjectStore stored = stores.open("s3://" + BUCKET + "/tamper");
    String key = dev.timemachine.core.data.SnapshotManifest.objectKey(ref.files().get(0).sha256());
    stored.put(key, Files.writeString(tmp.resolve("same-size.csv"), "id,churned\n1,1\n2,1\n"));
    assertThat(stored.size(key)).as("same size as the original").contains(ref.files().get(0).size());

    assertThatThrownBy(() -> snapshots.create(data, "s3://" + BUCKET + "/tamper", Progress.NONE))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("its file 'customers.csv' was altered: stored sha256 "
            + dev.timemachine.core.data.Digests.sha256Hex("id,churned\n1,1\n2,1\n".getBytes(StandardCharsets.UTF_8))
            + ", expected " + ref.files().get(0).sha256())
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.CONFLICT))
        .satisfies(e -> assertThat(((TimemachineException) e).hint()).contains("--repair"));
    assertThat(new String(stored.getBytes(key), StandardCharsets.UTF_8))
        .as("the evidence is left in the bucket").isEqualTo("id,churned\n1,1\n2,1\n");

    Snapshots.Created repaired = snapshots.create(data, "s3://" + BUCKET + "/tamper", true, Progress.NONE);
    assertThat(repaired.repaired()).containsExactly(key);
    assertThat(new String(stored.getBytes(key), StandardCharsets.UTF_8)).isEqualTo("id,churned\n1,0\n2,1\n");
    snapshots.restore(ref, tmp.resolve("tamper-restored"), Progress.NONE);
  }

  /** 2 MB: above the size at which s3proxy's early refusal of an upload turns into "Broken pipe". */
  private static Path bigFile(String name) throws IOException {
    Path file = tmp.resolve(name);
    if (!Files.exists(file)) {
      Files.write(file, new byte[2_000_000]);
    }
    return file;
  }

  @Test
  void a_snapshot_round_trips_through_s3_and_a_tampered_object_is_named() throws Exception {
    Path data = Files.createDirectories(tmp.resolve("data"));
    Files.writeString(data.resolve("customers.csv"), "id,churned\n1,0\n2,1\n");
    Files.writeString(data.resolve("README.txt"), "sample\n");
    Snapshots snapshots = new Snapshots(stores);
    DataRef ref = snapshots.create(data, "s3://" + BUCKET + "/snap", Progress.NONE);
    assertThat(ref.snapshotUri()).startsWith("s3://" + BUCKET + "/snap/snapshots/");

    Path restored = tmp.resolve("restored");
    snapshots.restore(ref.withoutFiles(), restored, Progress.NONE);
    assertThat(restored.resolve("customers.csv")).hasSameTextualContentAs(data.resolve("customers.csv"));

    Path altered = Files.writeString(tmp.resolve("altered.csv"), "id,churned\n1,1\n2,1\n");
    stores.open("s3://" + BUCKET + "/snap").put(
        dev.timemachine.core.data.SnapshotManifest.objectKey(ref.files().stream()
            .filter(f -> f.path().equals("customers.csv")).findFirst().orElseThrow().sha256()), altered);
    assertThatThrownBy(() -> snapshots.restore(ref, tmp.resolve("again"), Progress.NONE))
        .isInstanceOf(InputUnverifiableException.class)
        .hasMessageContaining("data file 'customers.csv'");
  }

  @Test
  void a_snapshot_over_s3_uploads_only_the_objects_the_bucket_lacks_and_an_old_layout_snapshot_still_restores()
      throws Exception {
    Path data = Files.createDirectories(tmp.resolve("incremental"));
    for (int i = 0; i < 40; i++) {
      Files.writeString(data.resolve("part-" + i + ".csv"), "row," + i + "\n".repeat(i + 1));
    }
    Snapshots snapshots = new Snapshots(stores);
    String root = "s3://" + BUCKET + "/incremental";
    Snapshots.Created first = snapshots.create(data, root, false, Progress.NONE);
    assertThat(first.uploadedObjects()).isEqualTo(40);
    Files.writeString(data.resolve("part-7.csv"), "changed\n");

    Snapshots.Created second = snapshots.create(data, root, false, Progress.NONE);

    assertThat(second.uploadedObjects()).as("one file changed, one object uploaded").isEqualTo(1);
    assertThat(second.uploadedBytes()).isEqualTo(8);
    assertThat(stores.open(root).list("objects/sha256/")).hasSize(41);
    snapshots.restore(first.data().withoutFiles(), tmp.resolve("incremental-1"), Progress.NONE);
    snapshots.restore(second.data().withoutFiles(), tmp.resolve("incremental-2"), Progress.NONE);
    assertThat(tmp.resolve("incremental-1/part-7.csv")).hasContent("row,7" + "\n".repeat(8));
    assertThat(tmp.resolve("incremental-2/part-7.csv")).hasContent("changed\n");

    // A snapshot of the first layout (files/<path> under the snapshot, manifest v1), as older versions wrote it.
    var files = second.data().files();
    String v1Uri = "s3://" + BUCKET + "/legacy/snapshots/" + second.data().rootDigest().substring(7);
    ObjectStore v1 = stores.open(v1Uri);
    for (var file : files) {
      v1.put("files/" + file.path(), data.resolve(file.path()));
    }
    v1.putIfAbsent("manifest.json", dev.timemachine.core.json.Json.toBytes(new dev.timemachine.core.data.SnapshotManifest(
        dev.timemachine.core.data.SnapshotManifest.SCHEMA_V1, second.data().rootDigest(), files.size(),
        second.data().totalBytes(), files)));
    DataRef legacy = DataRef.of(v1Uri, files);
    assertThat(snapshots.restore(legacy.withoutFiles(), tmp.resolve("legacy"), Progress.NONE)).contains("every sha256 verified");
    assertThat(tmp.resolve("legacy/part-7.csv")).hasContent("changed\n");
    v1.put("files/part-7.csv", Files.writeString(tmp.resolve("legacy-altered.csv"), "chang3d\n"));
    assertThatThrownBy(() -> snapshots.restore(legacy, tmp.resolve("legacy-2"), Progress.NONE))
        .isInstanceOf(InputUnverifiableException.class)
        .hasMessageContaining("data file 'part-7.csv'");
  }
}
