package dev.timemachine.adapters.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.ImageRef;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class RegistryManifestsTest {
  @Test
  void a_loopback_registry_is_spoken_to_over_http_and_keeps_the_rest_as_the_name() {
    var location = RegistryManifests.Location.of("127.0.0.1:5000/timemachine/churn-env");
    assertThat(location.base()).hasToString("http://127.0.0.1:5000");
    assertThat(location.name()).isEqualTo("timemachine/churn-env");
    assertThat(RegistryManifests.Location.of("localhost/x").base()).hasToString("http://localhost");
  }

  @Test
  void another_registry_host_is_spoken_to_over_https() {
    var location = RegistryManifests.Location.of("ghcr.io/acme/train");
    assertThat(location.base()).hasToString("https://ghcr.io");
    assertThat(location.name()).isEqualTo("acme/train");
  }

  @Test
  void a_repository_without_a_host_is_on_docker_hub_and_a_bare_name_is_an_official_image() {
    assertThat(RegistryManifests.Location.of("python").name()).isEqualTo("library/python");
    assertThat(RegistryManifests.Location.of("acme/train").name()).isEqualTo("acme/train");
    assertThat(RegistryManifests.Location.of("acme/train").base()).hasToString("https://registry-1.docker.io");
  }

  @Test
  void a_registry_that_asks_for_a_token_gets_the_anonymous_one_from_its_realm_for_head_and_get() throws Exception {
    byte[] manifest = "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8);
    List<String> asked = new CopyOnWriteArrayList<>();
    HttpServer server = server(exchange -> {
      String path = exchange.getRequestURI().getPath();
      String auth = exchange.getRequestHeaders().getFirst("Authorization");
      asked.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + (auth == null ? "" : " " + auth));
      if (path.equals("/token")) {
        reply(exchange, 200, "{\"token\":\"t0k3n\"}".getBytes(StandardCharsets.UTF_8));
      } else if (!"Bearer t0k3n".equals(auth)) {
        exchange.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"http://127.0.0.1:"
            + exchange.getLocalAddress().getPort() + "/token\",service=\"reg\",scope=\"repository:acme/train:pull\"");
        reply(exchange, 401, new byte[0]);
      } else if (path.endsWith("/" + DIGEST)) {
        reply(exchange, 200, manifest);
      } else {
        reply(exchange, 404, new byte[0]);
      }
    });
    try {
      String repository = "127.0.0.1:" + server.getAddress().getPort() + "/acme/train";
      RegistryManifests registry = new RegistryManifests();

      assertThat(registry.manifest(new ImageRef(repository, DIGEST))).hasValueSatisfying(b -> assertThat(b).isEqualTo(manifest));
      assertThat(registry.hasManifest(new ImageRef(repository, DIGEST))).isTrue();
      assertThat(registry.hasManifest(new ImageRef(repository, OTHER))).isFalse();
      assertThat(asked).contains(
          "GET /v2/acme/train/manifests/" + DIGEST,
          "GET /token?service=reg&scope=repository%3Aacme%2Ftrain%3Apull",
          "GET /v2/acme/train/manifests/" + DIGEST + " Bearer t0k3n",
          "HEAD /v2/acme/train/manifests/" + DIGEST + " Bearer t0k3n");
    } finally {
      server.stop(0);
    }
  }

  @Test
  void refusals_outages_and_oversized_answers_are_told_apart() throws Exception {
    HttpServer server = server(exchange -> {
      String path = exchange.getRequestURI().getPath();
      if (path.contains("forbidden")) {
        reply(exchange, 403, new byte[0]);
      } else if (path.contains("broken")) {
        reply(exchange, 503, new byte[0]);
      } else {
        reply(exchange, 200, new byte[RegistryManifests.MAX_BODY + 1]);
      }
    });
    try {
      String base = "127.0.0.1:" + server.getAddress().getPort();
      RegistryManifests registry = new RegistryManifests();
      assertThatThrownBy(() -> registry.manifest(new ImageRef(base + "/forbidden", DIGEST)))
          .isInstanceOfSatisfying(TimemachineException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.CONFIGURATION))
          .hasMessageContaining("HTTP 403");
      assertThatThrownBy(() -> registry.manifest(new ImageRef(base + "/broken", DIGEST)))
          .isInstanceOfSatisfying(TimemachineException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.UNAVAILABLE))
          .hasMessageContaining("HTTP 503");
      assertThatThrownBy(() -> registry.manifest(new ImageRef(base + "/huge", DIGEST)))
          .isInstanceOfSatisfying(TimemachineException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.INVALID_INPUT))
          .hasMessageContaining("more than " + RegistryManifests.MAX_BODY + " bytes");
    } finally {
      server.stop(0);
    }
    String gone = "127.0.0.1:" + server.getAddress().getPort() + "/acme/train";
    assertThatThrownBy(() -> new RegistryManifests().manifest(new ImageRef(gone, DIGEST)))
        .isInstanceOfSatisfying(TimemachineException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.UNAVAILABLE))
        .hasMessageContaining("cannot reach the image registry at http://" + gone.substring(0, gone.indexOf('/')));
  }

  private static final String DIGEST = "sha256:" + "a".repeat(64);
  private static final String OTHER = "sha256:" + "b".repeat(64);

  private static HttpServer server(HttpHandler handler) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", handler);
    server.start();
    return server;
  }

  private static void reply(HttpExchange exchange, int status, byte[] body) throws IOException {
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head || body.length == 0 ? -1 : body.length);
    if (!head && body.length > 0) {
      try (var out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
    exchange.close();
  }
}
