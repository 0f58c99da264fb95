package dev.timemachine.adapters.store;

import dev.timemachine.core.ports.ObjectStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The contract against s3proxy on 127.0.0.1:9000: one bucket per run, one prefix per test. */
class S3ObjectStoreContractIT extends ObjectStoreContract {
  static final String BUCKET = "tm-contract-it-" + System.currentTimeMillis();
  static ObjectStores stores;

  @BeforeAll
  static void server() {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", 9000), 1000);
    } catch (IOException e) {
      throw new IllegalStateException(
          "S3-compatible server not reachable at " + S3ObjectStoreIT.ENDPOINT + ": start it with scripts/services.sh up", e);
    }
    stores = new ObjectStores(S3Settings.compatible(S3ObjectStoreIT.ENDPOINT, "us-east-1", "timemachine", "timemachine-secret"));
    ((S3ObjectStore) stores.open("s3://" + BUCKET)).createBucketIfMissing();
  }

  @AfterAll
  static void close() {
    stores.close();
  }

  @Override
  ObjectStore newStore() {
    return stores.open("s3://" + BUCKET + "/" + UUID.randomUUID());
  }
}
