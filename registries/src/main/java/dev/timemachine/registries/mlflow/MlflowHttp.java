package dev.timemachine.registries.mlflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.Causes;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.StringJoiner;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MLflow's REST API over the JDK's HTTP client, with every failure turned into one line: a server
 * that cannot be reached or refuses the credentials is {@code CONFIGURATION}, a 5xx or a timeout is
 * {@code UNAVAILABLE}, and an API error that MLflow explains in its JSON error body is an {@link
 * ApiError}, which callers may catch to say what was not found.
 *
 * <p>A GET answered 5xx or 429 is sent again, {@value #ATTEMPTS} times in all with a doubling pause,
 * as MLflow's own clients do, because a busy server's SQLite ("database is locked") answers 503 for a
 * moment. Other requests are not repeated here: the write-back is made idempotent one level up, and
 * the activity retries whatever is still {@code UNAVAILABLE}.
 */
final class MlflowHttp {
  private static final Logger log = LoggerFactory.getLogger(MlflowHttp.class);
  static final String API = "/api/2.0/mlflow/";
  static final String ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts/";

  /** Tries of one GET that the server answers 5xx or 429. */
  static final int ATTEMPTS = 3;
  private static final Duration FIRST_PAUSE = Duration.ofMillis(500);

  private final MlflowSettings settings;
  private final HttpClient client;
  private final Duration firstPause;
  private final String authorization;

  MlflowHttp(MlflowSettings settings, HttpClient client) {
    this(settings, client, FIRST_PAUSE);
  }

  /** With the pause before the second try (doubled before each later one); tests pass zero. */
  MlflowHttp(MlflowSettings settings, HttpClient client, Duration firstPause) {
    this.settings = settings;
    this.client = client;
    this.firstPause = firstPause;
    if (settings.username() != null) {
      String pair = settings.username() + ":" + settings.password();
      this.authorization = "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
    } else if (settings.token() != null) {
      this.authorization = "Bearer " + settings.token();
    } else {
      this.authorization = null;
    }
  }

  /**
   * Redirects are not followed: the client would resend the credentials to wherever the redirect
   * points, and a tracking URI that redirects is better fixed than followed, which the error for a 3xx says.
   */
  static HttpClient defaultClient() {
    return HttpClient.newBuilder()
        .connectTimeout(Duration.ofSeconds(10))
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
  }

  URI baseUri() {
    return settings.trackingUri();
  }

  /** An MLflow API error with its {@code error_code}; typed like the domain error it amounts to. */
  static final class ApiError extends TimemachineException {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final String errorCode;

    ApiError(ErrorType type, int status, String errorCode, String message) {
      super(type, message);
      this.status = status;
      this.errorCode = errorCode;
    }

    int status() {
      return status;
    }

    String errorCode() {
      return errorCode;
    }

    boolean notFound() {
      return status == 404 || "RESOURCE_DOES_NOT_EXIST".equals(errorCode);
    }
  }

  /** GET {@code /api/2.0/mlflow/<endpoint>?<query>}. */
  JsonNode get(String endpoint, Map<String, String> query) {
    URI uri = URI.create(settings.trackingUri() + API + endpoint + queryString(query));
    return json(send(request(uri).GET(), "GET " + endpoint), "GET " + endpoint);
  }

  /** GET {@code /api/2.0/mlflow/<endpoint>?<query>}, read as {@code type}. */
  <T> T get(String endpoint, Map<String, String> query, Class<T> type) {
    return as(get(endpoint, query), type, "GET " + endpoint);
  }

  /** POST {@code /api/2.0/mlflow/<endpoint>} with a JSON body, the answer read as {@code type}. */
  <T> T post(String endpoint, Object body, Class<T> type) {
    return as(post(endpoint, body), type, "POST " + endpoint);
  }

  private <T> T as(JsonNode node, Class<T> type, String what) {
    try {
      return Json.mapper().treeToValue(node, type);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      throw TimemachineException.configuration(
          settings.trackingUri() + " does not look like an MLflow server: " + what + " answered with "
              + oneLine(e.getMessage()),
          "is " + MlflowSettings.TRACKING_URI + " the server's base URL?");
    }
  }

  /** POST {@code /api/2.0/mlflow/<endpoint>} with a JSON body. */
  JsonNode post(String endpoint, Object body) {
    byte[] bytes;
    try {
      bytes = Json.mapper().writeValueAsBytes(body);
    } catch (IOException e) {
      throw new IllegalStateException("cannot serialize a request to " + endpoint, e);
    }
    URI uri = URI.create(settings.trackingUri() + API + endpoint);
    HttpRequest.Builder request =
        request(uri).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(bytes));
    return json(send(request, "POST " + endpoint), "POST " + endpoint);
  }

  /** The SHA-256 and size of a downloaded artifact, and its bytes if it was small enough to keep. */
  record Download(String sha256, long size, byte[] content) {}

  /**
   * Streams the file at {@code path} (relative to the server's base URL) through SHA-256, keeping the
   * bytes when there are at most {@code keepUpTo} of them, and telling {@code downloaded} how many bytes
   * have come so far about once a second (a model of gigabytes takes minutes).
   */
  Download download(String path, String what, int keepUpTo, java.util.function.LongConsumer downloaded) {
    URI uri = URI.create(settings.trackingUri() + path);
    HttpResponse<InputStream> response = exchange(request(uri).GET(), HttpResponse.BodyHandlers.ofInputStream(), "download " + what);
    try (InputStream body = response.body()) {
      if (response.statusCode() / 100 != 2) {
        throw failure(response, body.readNBytes(64 * 1024), "download " + what);
      }
      Kept kept = new Kept(keepUpTo);
      long[] lastReport = {System.nanoTime()};
      Digests.Streamed streamed =
          Digests.sha256(body, kept, size -> {
            if (System.nanoTime() - lastReport[0] > 1_000_000_000L) {
              lastReport[0] = System.nanoTime();
              downloaded.accept(size);
            }
          });
      return new Download(streamed.sha256(), streamed.size(), kept.overflowed ? null : kept.toByteArray());
    } catch (IOException e) {
      throw TimemachineException.unavailable(
          "download of " + what + " from MLflow at " + settings.trackingUri() + " broke off: " + oneLine(e), e);
    }
  }

  /** Keeps what is written while it stays within {@code limit} bytes, and then nothing. */
  private static final class Kept extends java.io.ByteArrayOutputStream {
    private final int limit;
    private boolean overflowed;

    Kept(int limit) {
      this.limit = limit;
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      if (overflowed || count + len > limit) {
        overflowed = true;
        reset();
        return;
      }
      super.write(b, off, len);
    }
  }

  /** PUT the bytes at {@code path} (relative to the server's base URL). */
  void upload(String path, byte[] content, String contentType, String what) {
    URI uri = URI.create(settings.trackingUri() + path);
    HttpRequest.Builder request =
        request(uri).header("Content-Type", contentType).PUT(HttpRequest.BodyPublishers.ofByteArray(content));
    send(request, "upload " + what);
  }

  static String encodePath(String relative) {
    StringJoiner joined = new StringJoiner("/");
    for (String segment : relative.split("/", -1)) {
      joined.add(URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20"));
    }
    return joined.toString();
  }

  private HttpRequest.Builder request(URI uri) {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(uri).timeout(settings.requestTimeout()).header("Accept", "application/json");
    if (authorization != null) {
      builder.header("Authorization", authorization);
    }
    builder.header("User-Agent", "timemachine-mlflow");
    return builder;
  }

  private HttpResponse<byte[]> send(HttpRequest.Builder request, String what) {
    HttpResponse<byte[]> response = exchange(request, HttpResponse.BodyHandlers.ofByteArray(), what);
    if (response.statusCode() / 100 != 2) {
      throw failure(response, response.body(), what);
    }
    return response;
  }

  private <T> HttpResponse<T> exchange(HttpRequest.Builder builder, HttpResponse.BodyHandler<T> handler, String what) {
    HttpRequest request = builder.build();
    Duration pause = firstPause;
    for (int attempt = 1; ; attempt++) {
      HttpResponse<T> response = exchangeOnce(request, handler, what);
      if (attempt >= ATTEMPTS || !request.method().equals("GET") || !retryable(response.statusCode())) {
        return response;
      }
      if (response.body() instanceof InputStream body) {
        try (body) {
          body.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (IOException e) {
          // the next try opens a new stream
        }
      }
      log.info("MLflow at {} answered {} to {}; trying again in {} ms ({}/{})",
          settings.trackingUri(), response.statusCode(), what, pause.toMillis(), attempt + 1, ATTEMPTS);
      try {
        Thread.sleep(pause.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw TimemachineException.unavailable("interrupted while waiting for MLflow (" + what + ")", e);
      }
      pause = pause.multipliedBy(2);
    }
  }

  private static boolean retryable(int status) {
    return status / 100 == 5 || status == 429;
  }

  private <T> HttpResponse<T> exchangeOnce(HttpRequest request, HttpResponse.BodyHandler<T> handler, String what) {
    log.debug("{} {}", request.method(), request.uri());
    try {
      return client.send(request, handler);
    } catch (HttpConnectTimeoutException | ConnectException e) {
      throw unreachable(e);
    } catch (HttpTimeoutException e) {
      throw TimemachineException.unavailable(
          "MLflow at " + settings.trackingUri() + " did not answer " + what + " within "
              + settings.requestTimeout().toSeconds() + " s", e);
    } catch (SSLException e) {
      throw new TimemachineException(
          ErrorType.CONFIGURATION,
          "TLS with MLflow at " + settings.trackingUri() + " failed: " + oneLine(e)
              + " (add the server's CA certificate to the JVM truststore, -Djavax.net.ssl.trustStore=FILE)",
          null,
          e);
    } catch (IOException e) {
      if (rootCause(e) instanceof ConnectException || rootCause(e) instanceof java.nio.channels.UnresolvedAddressException) {
        throw unreachable(e);
      }
      throw TimemachineException.unavailable(
          "MLflow at " + settings.trackingUri() + " failed during " + what + ": " + oneLine(e), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw TimemachineException.unavailable("interrupted while waiting for MLflow (" + what + ")", e);
    }
  }

  private TimemachineException unreachable(Exception e) {
    return new TimemachineException(
        ErrorType.CONFIGURATION,
        "MLflow not reachable at " + settings.trackingUri() + ": start it or set " + MlflowSettings.TRACKING_URI,
        "scripts/mlflow.sh up starts a local server at http://127.0.0.1:5050",
        e);
  }

  private TimemachineException failure(HttpResponse<?> response, byte[] body, String what) {
    URI base = settings.trackingUri();
    int status = response.statusCode();
    String contentType = contentType(response);
    if (status / 100 == 3) {
      String location = response.headers().firstValue("Location").orElse("?");
      return TimemachineException.configuration(
          "MLflow at " + base + " redirects " + what + " to " + location + " (" + status + ")",
          "set " + MlflowSettings.TRACKING_URI + " to the server's final base URL (e.g. https:// instead of http://)");
    }
    if (status == 401) {
      String fix =
          settings.username() != null
              ? "check " + MlflowSettings.TRACKING_USERNAME + " and " + MlflowSettings.TRACKING_PASSWORD
              : settings.token() != null
                  ? "check " + MlflowSettings.TRACKING_TOKEN
                  : "set " + MlflowSettings.TRACKING_TOKEN + ", or " + MlflowSettings.TRACKING_USERNAME + " and "
                      + MlflowSettings.TRACKING_PASSWORD;
      String told = settings.username() != null || settings.token() != null ? "rejected " + settings.credentialsDescription() : "requires authentication";
      return TimemachineException.configuration("MLflow at " + base + " " + told + " (401 on " + what + "): " + fix, null);
    }
    if (status == 403) {
      String fix =
          settings.username() != null || settings.token() != null
              ? "grant that identity the permission, or set " + MlflowSettings.TRACKING_USERNAME + "/"
                  + MlflowSettings.TRACKING_PASSWORD + " (or " + MlflowSettings.TRACKING_TOKEN + ") to one that has it"
              : "set " + MlflowSettings.TRACKING_USERNAME + "/" + MlflowSettings.TRACKING_PASSWORD + " (or "
                  + MlflowSettings.TRACKING_TOKEN + ") to an identity that has the permission";
      return TimemachineException.configuration(
          "MLflow at " + base + " denied " + what + " to " + settings.credentialsDescription() + " (403): " + fix, null);
    }
    JsonNode error = contentType.contains("json") ? parseQuietly(body) : null;
    String errorCode = error == null ? null : error.path("error_code").asText(null);
    String message = error == null ? null : error.path("message").asText(null);
    if (errorCode == null) {
      if (status / 100 == 5 || status == 429) {
        return TimemachineException.unavailable(
            "MLflow at " + base + " answered " + status + " to " + what + snippet(body), null);
      }
      return TimemachineException.configuration(
          base + " does not look like an MLflow server: " + what + " answered " + status + " without an MLflow error",
          "is " + MlflowSettings.TRACKING_URI + " the server's base URL?");
    }
    String text = "MLflow at " + base + ": " + what + " failed with " + errorCode + ": " + oneLine(message);
    ErrorType type;
    if (status / 100 == 5 || status == 429) {
      type = ErrorType.UNAVAILABLE;
    } else if (status == 404 || "RESOURCE_DOES_NOT_EXIST".equals(errorCode)) {
      type = ErrorType.NOT_FOUND;
    } else if ("RESOURCE_ALREADY_EXISTS".equals(errorCode)) {
      type = ErrorType.CONFLICT;
    } else if ("PERMISSION_DENIED".equals(errorCode) || "UNAUTHENTICATED".equals(errorCode)) {
      type = ErrorType.CONFIGURATION;
    } else {
      type = ErrorType.INVALID_INPUT;
    }
    return new ApiError(type, status, errorCode, text);
  }

  private JsonNode json(HttpResponse<byte[]> response, String what) {
    JsonNode node = contentType(response).contains("json") || looksLikeJson(response.body()) ? parseQuietly(response.body()) : null;
    if (node == null || !node.isObject()) {
      throw TimemachineException.configuration(
          settings.trackingUri() + " does not look like an MLflow server: " + what + " did not answer with a JSON object",
          "is " + MlflowSettings.TRACKING_URI + " the server's base URL?");
    }
    return node;
  }

  private static boolean looksLikeJson(byte[] body) {
    for (byte b : body) {
      if (!Character.isWhitespace(b)) {
        return b == '{';
      }
    }
    return false;
  }

  private static JsonNode parseQuietly(byte[] body) {
    try {
      return Json.mapper().readTree(body);
    } catch (IOException e) {
      return null;
    }
  }

  private static String contentType(HttpResponse<?> response) {
    return response.headers().firstValue("Content-Type").orElse("").toLowerCase(java.util.Locale.ROOT);
  }

  private static String snippet(byte[] body) {
    if (body == null || body.length == 0) {
      return "";
    }
    String text = oneLine(new String(body, 0, Math.min(body.length, 300), StandardCharsets.UTF_8));
    return text.isBlank() ? "" : ": " + text;
  }

  static String oneLine(Throwable e) {
    return Causes.rootMessage(e);
  }

  /** MLflow's answers are read to their first line: a proxy's HTML error page is not a message. */
  static String oneLine(String text) {
    return text == null ? "" : Causes.oneLine(text.strip().lines().findFirst().orElse(""));
  }

  private static Throwable rootCause(Throwable e) {
    return Causes.root(e);
  }

  private static String queryString(Map<String, String> query) {
    if (query == null || query.isEmpty()) {
      return "";
    }
    StringJoiner joined = new StringJoiner("&", "?", "");
    query.forEach(
        (k, v) -> {
          if (v != null) {
            joined.add(URLEncoder.encode(k, StandardCharsets.UTF_8) + "=" + URLEncoder.encode(v, StandardCharsets.UTF_8));
          }
        });
    return joined.toString();
  }
}
