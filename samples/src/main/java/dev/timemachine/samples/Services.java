package dev.timemachine.samples;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The real services the integration tests need. A missing one fails the test with how to start it:
 * integration tests are never skipped.
 */
public final class Services {
  public static final String S3_ENDPOINT = "http://127.0.0.1:9000";
  public static final String S3_ACCESS_KEY = "timemachine";
  public static final String S3_SECRET_KEY = "timemachine-secret";

  private Services() {}

  public static void requireAll() {
    require(Files.exists(Path.of("/var/run/docker.sock")), "Docker engine (unix:///var/run/docker.sock)");
    require(listening(5000), "image registry on 127.0.0.1:5000");
    require(listening(9000), "S3-compatible server on 127.0.0.1:9000");
  }

  public static boolean listening(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void require(boolean up, String what) {
    if (!up) {
      throw new IllegalStateException(what + " is not running: start it with scripts/services.sh up");
    }
  }
}
