package dev.timemachine.app;

import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.fleet.FleetSummary;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.ports.FleetAlerts;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fleet alerts as a JSON POST to {@code TIMEMACHINE_ALERT_WEBHOOK}: the fleet, its summary, and each
 * {@code NEW_FAILURE} with its verdict, reason, report URI and previous verdict (schema {@code
 * timemachine.fleet-alert/v1}). A 5xx or an unreachable receiver is {@code UNAVAILABLE} (Temporal
 * retries it); any other non-2xx is {@code CONFIGURATION}.
 */
public final class WebhookAlerts implements FleetAlerts {
  public static final String VARIABLE = "TIMEMACHINE_ALERT_WEBHOOK";
  public static final String SCHEMA = "timemachine.fleet-alert/v1";

  private final URI webhook;
  private final String summaryRoot;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  /**
   * @param summaryRoot the store's root URI, to name the summary in the message
   */
  public WebhookAlerts(URI webhook, String summaryRoot) {
    this.webhook = webhook;
    this.summaryRoot = summaryRoot;
  }

  /** The alerts the environment configures: none without {@code TIMEMACHINE_ALERT_WEBHOOK}. */
  public static FleetAlerts from(Map<String, String> env, String storeRoot) {
    return from(env.get(VARIABLE), storeRoot);
  }

  /** The alerts to the webhook at {@code value} (the setting's text), none if it is unset. */
  public static FleetAlerts from(String value, String storeRoot) {
    if (value == null || value.isBlank()) {
      return FleetAlerts.NONE;
    }
    URI uri;
    try {
      uri = URI.create(value.trim());
    } catch (IllegalArgumentException e) {
      throw TimemachineException.configuration(VARIABLE + "='" + value + "' is not a URL", "e.g. https://hooks.example.com/timemachine");
    }
    if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
      throw TimemachineException.configuration(VARIABLE + "='" + value + "' is not an http(s) URL", "e.g. https://hooks.example.com/timemachine");
    }
    return new WebhookAlerts(uri, storeRoot);
  }

  /** The message, as posted. */
  public Map<String, Object> message(FleetSummary summary) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("schema", SCHEMA);
    body.put("fleetId", summary.fleetId());
    body.put("name", summary.name());
    body.put("night", summary.night());
    body.put("summary", summaryRoot + "/fleets/" + summary.fleetId() + ".json");
    int newOnes = summary.newFailures().size();
    int firstRuns = summary.firstRunFailures().size();
    body.put("text", newOnes + " model version(s) stopped reproducing"
        + (firstRuns == 0 ? "" : " and " + firstRuns + " new version(s) did not reproduce on their first night")
        + " in fleet " + summary.fleetId());
    body.put("newFailures", summary.newFailures().stream().map(WebhookAlerts::failure).toList());
    body.put("firstRunFailures", summary.firstRunFailures().stream().map(WebhookAlerts::failure).toList());
    body.put("verdicts", summary.verdicts());
    return body;
  }

  private static Map<String, Object> failure(FleetSummary.Entry e) {
    Map<String, Object> f = new LinkedHashMap<>();
    f.put("spec", e.spec());
    f.put("verdict", e.verdict());
    f.put("reason", e.reason());
    f.put("report", e.reportUri());
    f.put("previousVerdict", e.previousVerdict());
    return f;
  }

  @Override
  public void newFailures(FleetSummary summary) {
    HttpRequest request = HttpRequest.newBuilder(webhook)
        .timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Json.toBytes(message(summary))))
        .build();
    HttpResponse<String> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw TimemachineException.unavailable("the alert webhook " + webhook + " is unreachable: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw TimemachineException.unavailable("interrupted while posting the alert", e);
    }
    int status = response.statusCode();
    if (status >= 500) {
      throw TimemachineException.unavailable("the alert webhook " + webhook + " answered " + status, null);
    }
    if (status < 200 || status >= 300) {
      throw TimemachineException.configuration("the alert webhook " + webhook + " refused the alert (" + status + ")",
          "check " + VARIABLE);
    }
  }
}
