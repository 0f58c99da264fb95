package dev.timemachine.adapters.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A server that refuses ranged GETs (501) or ignores them (the whole object with 200): the store falls
 * back to one GET, once, and the download is whole. A scripted HTTP server, because s3proxy serves
 * ranges; {@code S3ObjectStoreIT} downloads by ranges from s3proxy itself.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class S3RangeFallbackTest {
  @TempDir Path tmp;
  private HttpServer server;
  private S3Client s3;

  @AfterEach
  void stop() {
    if (s3 != null) {
      s3.close();
    }
    if (server != null) {
      server.stop(0);
    }
  }

  @ParameterizedTest(name = "a server that {0} ranges")
  @ValueSource(strings = {"refuses", "ignores"})
  void a_download_falls_back_to_one_get_and_is_whole(String behaviour) throws Exception {
    byte[] content = new byte[(11 << 20) + 7];
    new Random(7).nextBytes(content);
    AtomicInteger rangedGets = new AtomicInteger();
    AtomicInteger wholeGets = new AtomicInteger();
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/bucket/tm/objects/big", exchange -> {
      boolean ranged = exchange.getRequestHeaders().getFirst("Range") != null;
      exchange.getResponseHeaders().add("ETag", "\"abc\"");
      if (exchange.getRequestMethod().equals("HEAD")) {
        exchange.getResponseHeaders().add("Content-Length", String.valueOf(content.length));
        exchange.sendResponseHeaders(200, -1);
      } else if (ranged && behaviour.equals("refuses")) {
        rangedGets.incrementAndGet();
        byte[] error = ("<?xml version=\"1.0\"?><Error><Code>NotImplemented</Code><Message>ranges are not supported"
            + "</Message></Error>").getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(501, error.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(error);
        }
      } else {
        (ranged ? rangedGets : wholeGets).incrementAndGet();
        exchange.sendResponseHeaders(200, content.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(content);
        } catch (IOException closedEarly) {
          // The store stops reading a response it cannot use.
        }
      }
      exchange.close();
    });
    server.start();
    s3 = S3Client.builder().endpointOverride(URI.create("http://127.0.0.1:" + server.getAddress().getPort()))
        .region(Region.US_EAST_1).forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("k", "s"))).build();
    Set<String> checked = ConcurrentHashMap.newKeySet();
    checked.add("bucket");
    S3ObjectStore store = new S3ObjectStore(s3, "bucket", "tm", S3Settings.compatible("http://127.0.0.1", "us-east-1", "k", "s"),
        checked).withTransfer(new S3ObjectStore.Transfer(5L << 20, 5L << 20, 2));

    Path target = tmp.resolve("big");
    store.download("objects/big", target);

    assertThat(Files.readAllBytes(target)).as("the downloaded content").isEqualTo(content);
    assertThat(store.rangesRefused()).as("the store noted the server's refusal").isTrue();
    assertThat(wholeGets.get()).as("whole GETs").isEqualTo(1);
    int ranged = rangedGets.get();

    store.download("objects/big", tmp.resolve("again"));
    assertThat(rangedGets.get()).as("no ranged GET is tried again").isEqualTo(ranged);
    assertThat(wholeGets.get()).isEqualTo(2);
  }
}
