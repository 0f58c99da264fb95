// Run by bench/s3.sh with the packaged CLI on the class path (java's source-file mode):
//   java -cp cli/target/timemachine.jar bench/S3Bench.java put|get ENDPOINT BUCKET KEY FILE [single]
// Times one upload (put) or download (get) of FILE through timemachine's S3 store and prints seconds.
// "single" sets the multipart/ranged threshold above the file's size: one PUT or one GET, as before.
import dev.timemachine.adapters.store.ObjectStores;
import dev.timemachine.adapters.store.S3ObjectStore;
import dev.timemachine.adapters.store.S3Settings;
import java.nio.file.Path;

public class S3Bench {
  public static void main(String[] args) {
    String op = args[0], endpoint = args[1], bucket = args[2], key = args[3];
    Path file = Path.of(args[4]);
    boolean single = args.length > 5 && args[5].equals("single");
    try (ObjectStores stores = new ObjectStores(S3Settings.compatible(endpoint, "us-east-1",
        System.getenv().getOrDefault("AWS_ACCESS_KEY_ID", "timemachine"),
        System.getenv().getOrDefault("AWS_SECRET_ACCESS_KEY", "timemachine-secret")))) {
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
