package dev.timemachine.registries.mlflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

/** The fake's own promise: an assertion inside a handler fails the test instead of vanishing on the server thread. */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class FakeMlflowTest {
  @Test
  void an_assertion_that_fails_in_a_handler_is_thrown_by_close() throws IOException, InterruptedException {
    FakeMlflow mlflow = new FakeMlflow();
    mlflow.on("GET", "/x", r -> {
      assertThat(r.query()).as("the query the test expected").containsKey("run_id");
      return FakeMlflow.Response.json(200, "{}");
    });
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(HttpRequest.newBuilder(mlflow.uri().resolve("/x")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as("the client sees a server error").isEqualTo(500);
    assertThatThrownBy(mlflow::close)
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("a handler of the fake MLflow failed")
        .hasMessageContaining("the query the test expected");
  }

  @Test
  void handlers_that_return_leave_close_quiet() throws IOException, InterruptedException {
    FakeMlflow mlflow = new FakeMlflow();
    mlflow.json("GET", "/x", 200, "{}");
    HttpClient.newHttpClient()
        .send(HttpRequest.newBuilder(mlflow.uri().resolve("/x")).build(), HttpResponse.BodyHandlers.ofString());
    mlflow.close();
  }
}
