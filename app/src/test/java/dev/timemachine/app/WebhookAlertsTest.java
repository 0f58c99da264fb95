package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.fleet.FleetSummary;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.ports.FleetAlerts;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class WebhookAlertsTest {
  private final List<byte[]> received = new CopyOnWriteArrayList<>();
  private final AtomicInteger status = new AtomicInteger(200);
  private HttpServer server;

  private URI start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/hook", exchange -> {
      received.add(exchange.getRequestBody().readAllBytes());
      exchange.sendResponseHeaders(status.get(), -1);
      exchange.close();
    });
    server.start();
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook");
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  private static FleetSummary summary() {
    FleetSummary previous = FleetSummary.of("nightly-20261122-20261122T020000", "nightly", "*@latest", "20261122", "schedule",
        Instant.EPOCH, Instant.EPOCH, List.of(
            new FleetSummary.Entry("churn@3", "r1", "REPRODUCED_BITWISE", "identical", "s3://b/reports/r1.json", false, 1, null, null),
            new FleetSummary.Entry("fraud@1", "r2", "REPRODUCED_BITWISE", "identical", "s3://b/reports/r2.json", false, 1, null, null)),
        List.of(), null);
    return FleetSummary.of("nightly-20261123-20261123T020000", "nightly", "*@latest", "20261123", "schedule",
        Instant.EPOCH, Instant.EPOCH, List.of(
            new FleetSummary.Entry("churn@3", "r3", "DIVERGED", "accuracy (0.9 -> 0.88, exact)", "s3://b/reports/r3.json", false, 1, null, null),
            new FleetSummary.Entry("fraud@1", "r4", "REPRODUCED_BITWISE", "identical", "s3://b/reports/r4.json", false, 1, null, null),
            new FleetSummary.Entry("spam@1", "r5", "TRAINING_FAILED", "exit 1", "s3://b/reports/r5.json", false, 1, null, null),
            new FleetSummary.Entry("ads@1", "r6", "REPRODUCED_BITWISE", "identical", "s3://b/reports/r6.json", false, 1, null, null)),
        List.of(), previous);
  }

  @Test
  void the_webhook_gets_each_new_failure_with_its_reason_and_report() throws Exception {
    FleetAlerts alerts = WebhookAlerts.from(Map.of(WebhookAlerts.VARIABLE, start().toString()), "s3://b");

    alerts.newFailures(summary());

    assertThat(received).hasSize(1);
    JsonNode body = Json.mapper().readTree(received.get(0));
    assertThat(body.path("schema").asText()).isEqualTo(WebhookAlerts.SCHEMA);
    assertThat(body.path("summary").asText()).isEqualTo("s3://b/fleets/nightly-20261123-20261123T020000.json");
    assertThat(body.path("newFailures")).hasSize(1);
    JsonNode failure = body.path("newFailures").get(0);
    assertThat(failure.path("spec").asText()).isEqualTo("churn@3");
    assertThat(failure.path("verdict").asText()).isEqualTo("DIVERGED");
    assertThat(failure.path("reason").asText()).contains("accuracy");
    assertThat(failure.path("report").asText()).isEqualTo("s3://b/reports/r3.json");
    assertThat(failure.path("previousVerdict").asText()).isEqualTo("REPRODUCED_BITWISE");
    // A version new tonight that did not reproduce is named too; a new one that did is not.
    assertThat(body.path("firstRunFailures")).hasSize(1);
    assertThat(body.path("firstRunFailures").get(0).path("spec").asText()).isEqualTo("spam@1");
    assertThat(body.path("text").asText()).contains("1 new version(s) did not reproduce on their first night");
  }

  @Test
  void a_failing_receiver_is_retryable_and_a_refusing_one_is_a_configuration_error() throws Exception {
    FleetAlerts alerts = WebhookAlerts.from(Map.of(WebhookAlerts.VARIABLE, start().toString()), "s3://b");
    status.set(503);
    assertThatThrownBy(() -> alerts.newFailures(summary())).isInstanceOf(TimemachineException.class)
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.UNAVAILABLE));
    status.set(404);
    assertThatThrownBy(() -> alerts.newFailures(summary())).isInstanceOf(TimemachineException.class)
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.CONFIGURATION));
  }

  @Test
  void without_the_variable_nothing_is_sent() {
    assertThat(WebhookAlerts.from(Map.of(), "s3://b")).isSameAs(FleetAlerts.NONE);
  }
}
