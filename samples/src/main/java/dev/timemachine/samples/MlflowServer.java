package dev.timemachine.samples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The real MLflow server the integration tests use (scripts/mlflow.sh up, started by
 * scripts/services.sh up), and a plain REST client to look at it independently of the adapter under
 * test. A server that does not answer fails the test: integration tests are never skipped.
 */
public final class MlflowServer {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private final String uri;
  private final HttpClient client = HttpClient.newHttpClient();

  private MlflowServer(String uri) {
    this.uri = uri;
  }

  /** The server at {@code TIMEMACHINE_IT_MLFLOW_URI} (default {@code http://127.0.0.1:5050}), which must answer. */
  public static MlflowServer require() {
    MlflowServer server =
        new MlflowServer(System.getenv().getOrDefault("TIMEMACHINE_IT_MLFLOW_URI", "http://127.0.0.1:5050"));
    try {
      HttpResponse<String> health =
          server.client.send(
              HttpRequest.newBuilder(URI.create(server.uri + "/health")).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.ofString());
      if (health.statusCode() == 200) {
        return server;
      }
    } catch (IOException e) {
      // Reported below.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    throw new IllegalStateException("MLflow is not running at " + server.uri + ": start it with scripts/services.sh up");
  }

  public String uri() {
    return uri;
  }

  /**
   * The environment a timemachine process needs to use this server and record into it: the tracking
   * URI, and where the Python with mlflow is if the caller's environment says so.
   */
  public Map<String, String> environment() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("MLFLOW_TRACKING_URI", uri);
    for (String name : new String[] {"TIMEMACHINE_MLFLOW_PYTHON", "TIMEMACHINE_CACHE_DIR"}) {
      String value = System.getenv(name);
      if (value != null) {
        env.put(name, value);
      }
    }
    return env;
  }

  public JsonNode get(String endpoint, String... query) throws IOException, InterruptedException {
    StringBuilder url = new StringBuilder(uri + "/api/2.0/mlflow/" + endpoint + "?");
    for (int i = 0; i < query.length; i += 2) {
      url.append(i == 0 ? "" : "&").append(query[i]).append('=').append(URLEncoder.encode(query[i + 1], StandardCharsets.UTF_8));
    }
    return json(client.send(HttpRequest.newBuilder(URI.create(url.toString())).build(), HttpResponse.BodyHandlers.ofByteArray()), endpoint);
  }

  public JsonNode post(String endpoint, Object body) throws IOException, InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(uri + "/api/2.0/mlflow/" + endpoint))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(MAPPER.writeValueAsBytes(body)))
            .build();
    return json(client.send(request, HttpResponse.BodyHandlers.ofByteArray()), endpoint);
  }

  /** A file of a run's artifacts, through the server's artifact proxy ({@code --serve-artifacts}). */
  public byte[] artifact(JsonNode runInfo, String path) throws IOException, InterruptedException {
    String root = URI.create(runInfo.path("artifact_uri").asText()).getPath().replaceAll("^/+", "");
    HttpResponse<byte[]> response =
        client.send(
            HttpRequest.newBuilder(URI.create(uri + "/api/2.0/mlflow-artifacts/artifacts/" + root + "/" + path)).build(),
            HttpResponse.BodyHandlers.ofByteArray());
    if (response.statusCode() != 200) {
      throw new IllegalStateException(
          "artifact " + path + " of run " + runInfo.path("run_id").asText() + ": HTTP " + response.statusCode());
    }
    return response.body();
  }

  /** The tags of a model version, by key. */
  public Map<String, String> versionTags(String name, String version) throws IOException, InterruptedException {
    return tags(get("model-versions/get", "name", name, "version", version).path("model_version").path("tags"));
  }

  public static Map<String, String> tags(JsonNode list) {
    Map<String, String> tags = new HashMap<>();
    list.forEach(t -> tags.put(t.path("key").asText(), t.path("value").asText()));
    return tags;
  }

  private static JsonNode json(HttpResponse<byte[]> response, String endpoint) throws IOException {
    if (response.statusCode() != 200) {
      throw new IllegalStateException(
          endpoint + ": HTTP " + response.statusCode() + ": " + new String(response.body(), StandardCharsets.UTF_8));
    }
    return MAPPER.readTree(response.body());
  }
}
