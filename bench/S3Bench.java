// Run by bench/s3.sh with the packaged CLI on the class path (java's source-file mode):
//   java -cp cli/target/timemachine.jar bench/S3Bench.java put|get ENDPOINT BUCKET KEY FILE [single]
//   java -cp cli/target/timemachine.jar bench/S3Bench.java snapshot ENDPOINT BUCKET PREFIX DIR REF
//   java -cp cli/target/timemachine.jar bench/S3Bench.java restore ENDPOINT BUCKET PREFIX REF TARGET
// Times one upload (put) or download (get) of FILE through timemachine's S3 store and prints seconds.
// snapshot writes DIR as a snapshot under s3://BUCKET/PREFIX and its DataRef to REF (not timed); restore
// times a snapshot restore of REF into TARGET, every file verified (one GET per object, hashed as it is written).
// "single" sets the multipart/ranged threshold above the file's size: one PUT or one GET, as before.
import dev.timemachine.adapters.store.ObjectStores;
import dev.timemachine.adapters.store.S3ObjectStore;
import dev.timemachine.adapters.store.S3Settings;
import dev.timemachine.core.data.Snapshots;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.ports.Progress;
import java.nio.file.Files;
import java.nio.file.Path;

public class S3Bench {
  public static void main(String[] args) throws Exception {
    String op = args[0], endpoint = args[1], bucket = args[2], key = args[3];
    Path file = Path.of(args[4]);
    boolean single = args[args.length - 1].equals("single");
    S3Settings settings = S3Settings.compatible(endpoint, "us-east-1",
        System.getenv().getOrDefault("AWS_ACCESS_KEY_ID", "timemachine"),
        System.getenv().getOrDefault("AWS_SECRET_ACCESS_KEY", "timemachine-secret"));
    if (op.equals("snapshot") || op.equals("restore")) {
      try (ObjectStores stores = new ObjectStores(settings)) {
        Snapshots snapshots = new Snapshots(stores);
        if (op.equals("snapshot")) {
          ((S3ObjectStore) stores.open("s3://" + bucket)).createBucketIfMissing();
          DataRef ref = snapshots.create(file, "s3://" + bucket + "/" + key, Progress.NONE);
          Files.write(Path.of(args[5]), Json.toBytes(ref.withoutFiles()));
          return;
        }
        DataRef ref = Json.parse(Files.readAllBytes(file), DataRef.class, "data ref");
        long t0 = System.nanoTime();
        snapshots.restore(ref, Path.of(args[5]), Progress.NONE);
        System.out.printf("%.3f%n", (System.nanoTime() - t0) / 1e9);
      }
      return;
    }
    try (ObjectStores stores = new ObjectStores(settings)) {
      S3ObjectStore store = (S3ObjectStore) stores.open("s3://" + bucket);
      store.createBucketIfMissing();
      if (single) {
        store.withTransfer(new S3ObjectStore.Transfer(Long.MAX_VALUE / 2, 16L << 20, 1));
      }
      long t0 = System.nanoTime();
      if (op.equals("put")) {
        store.put(key, file);
      } else {
        store.download(key, file);
      }
      System.out.printf("%.3f%s%n", (System.nanoTime() - t0) / 1e9, store.rangesRefused() ? " ranges-refused" : "");
    }
  }
}
