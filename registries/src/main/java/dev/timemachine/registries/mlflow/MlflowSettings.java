package dev.timemachine.registries.mlflow;

import dev.timemachine.core.errors.TimemachineException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Map;

/**
 * Where the MLflow server is and how to authenticate to it, read from the same environment variables
 * MLflow's own clients read, so a team's existing setup works unchanged. TLS uses the JVM truststore
 * ({@code -Djavax.net.ssl.trustStore=…}); MLflow's {@code MLFLOW_TRACKING_INSECURE_TLS} is deliberately
 * not honoured.
 *
 * <p>When both are set, basic auth wins over the token, as in MLflow's Python client.
 *
 * @param trackingUri the server's base URL, {@code http(s)://host[:port][/prefix]}, without a trailing slash
 * @param token a bearer token, or null
 * @param username a basic-auth user name, or null
 * @param password the basic-auth password, or null
 * @param requestTimeout how long to wait for the headers of one response
 */
public record MlflowSettings(URI trackingUri, String token, String username, String password, Duration requestTimeout) {
  public static final String TRACKING_URI = "MLFLOW_TRACKING_URI";
  public static final String TRACKING_TOKEN = "MLFLOW_TRACKING_TOKEN";
  public static final String TRACKING_USERNAME = "MLFLOW_TRACKING_USERNAME";
  public static final String TRACKING_PASSWORD = "MLFLOW_TRACKING_PASSWORD";
  /** MLflow's own request timeout variable, in seconds. */
  public static final String REQUEST_TIMEOUT = "MLFLOW_HTTP_REQUEST_TIMEOUT";

  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);

  public MlflowSettings {
    if (trackingUri == null) {
      throw TimemachineException.configuration(
          TRACKING_URI + " is not set: point it at your MLflow server",
          "e.g. export " + TRACKING_URI + "=http://127.0.0.1:5050 (scripts/mlflow.sh up starts one there)");
    }
    String scheme = trackingUri.getScheme();
    if (!"http".equals(scheme) && !"https".equals(scheme) || trackingUri.getHost() == null) {
      throw TimemachineException.configuration(
          TRACKING_URI + "='" + trackingUri + "' is not an http(s) URL of an MLflow server",
          "timemachine talks to MLflow over its REST API: start `mlflow server` and set " + TRACKING_URI + " to its URL");
    }
    String text = trackingUri.toString();
    while (text.endsWith("/")) {
      text = text.substring(0, text.length() - 1);
    }
    trackingUri = URI.create(text);
    token = blankToNull(token);
    username = blankToNull(username);
    password = blankToNull(password);
    if ((username == null) != (password == null)) {
      throw TimemachineException.configuration(
          "only one of " + TRACKING_USERNAME + " and " + TRACKING_PASSWORD + " is set",
          "set both for basic auth, or neither");
    }
    requestTimeout = requestTimeout == null ? DEFAULT_TIMEOUT : requestTimeout;
    if (requestTimeout.isNegative() || requestTimeout.isZero()) {
      throw TimemachineException.configuration("the MLflow request timeout must be positive, got " + requestTimeout, null);
    }
  }

  /** Settings for an unauthenticated server at {@code trackingUri}. */
  public static MlflowSettings of(String trackingUri) {
    return new MlflowSettings(parseUri(trackingUri), null, null, null, null);
  }

  /**
   * Reads {@code MLFLOW_TRACKING_URI}, {@code _TOKEN}, {@code _USERNAME}, {@code _PASSWORD}, {@code
   * MLFLOW_HTTP_REQUEST_TIMEOUT} from {@code env}; the app hands it the environment it read once.
   */
  public static MlflowSettings fromEnvironment(Map<String, String> env) {
    String uri = blankToNull(env.get(TRACKING_URI));
    Duration timeout = null;
    String seconds = blankToNull(env.get(REQUEST_TIMEOUT));
    if (seconds != null) {
      try {
        timeout = Duration.ofSeconds(Long.parseLong(seconds.trim()));
      } catch (NumberFormatException e) {
        throw TimemachineException.configuration(
            REQUEST_TIMEOUT + "='" + seconds + "' is not a whole number of seconds", "e.g. " + REQUEST_TIMEOUT + "=120");
      }
    }
    return new MlflowSettings(
        uri == null ? null : parseUri(uri),
        env.get(TRACKING_TOKEN),
        env.get(TRACKING_USERNAME),
        env.get(TRACKING_PASSWORD),
        timeout);
  }

  public MlflowSettings withToken(String newToken) {
    return new MlflowSettings(trackingUri, newToken, username, password, requestTimeout);
  }

  public MlflowSettings withBasicAuth(String newUsername, String newPassword) {
    return new MlflowSettings(trackingUri, token, newUsername, newPassword, requestTimeout);
  }

  public MlflowSettings withRequestTimeout(Duration timeout) {
    return new MlflowSettings(trackingUri, token, username, password, timeout);
  }

  /** Which credentials requests carry, named by their environment variables, for error messages. */
  String credentialsDescription() {
    if (username != null) {
      return "the user " + username + " from " + TRACKING_USERNAME + "/" + TRACKING_PASSWORD;
    }
    if (token != null) {
      return "the token in " + TRACKING_TOKEN;
    }
    return "no credentials";
  }

  private static URI parseUri(String text) {
    try {
      return new URI(text.trim());
    } catch (URISyntaxException e) {
      throw TimemachineException.configuration(
          TRACKING_URI + "='" + text + "' is not a URL: " + e.getReason(), "e.g. http://127.0.0.1:5050");
    }
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value;
  }

  /** Never prints secrets. */
  @Override
  public String toString() {
    return "MlflowSettings[trackingUri=" + trackingUri + ", auth=" + credentialsDescription() + ", requestTimeout=" + requestTimeout + "]";
  }
}
