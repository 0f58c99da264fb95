package dev.timemachine.registries.mlflow;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A scripted stand-in for an MLflow server on loopback, for error mapping and request shapes only:
 * what the adapter does against a real MLflow is checked by {@code MlflowRegistryIT}. Unscripted paths
 * answer 404 with an HTML page, as MLflow's Flask app does.
 *
 * <p>Handlers run on the server's thread, where a failed assertion would only turn into an answer the
 * client sees: it is answered 500 and kept, and {@link #close()} (the test's {@code @AfterEach}) throws
 * it, so that it fails the test that scripted the handler.
 */
final class FakeMlflow implements AutoCloseable {
  record Request(String method, String path, Map<String, String> query, String authorization, byte[] body) {
    String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  record Response(int status, String contentType, byte[] body, Map<String, String> headers) {
    Response(int status, String contentType, byte[] body) {
      this(status, contentType, body, Map.of());
    }

    static Response redirect(String location) {
      return new Response(302, "text/html", new byte[0], Map.of("Location", location));
    }

    static Response json(int status, String json) {
      return new Response(status, "application/json", json.getBytes(StandardCharsets.UTF_8));
    }

    static Response bytes(byte[] body) {
      return new Response(200, "application/octet-stream", body);
    }
  }

  private final HttpServer server;
  private final Map<String, Function<Request, Response>> routes = new ConcurrentHashMap<>();
  final List<Request> requests = new CopyOnWriteArrayList<>();
  private final List<Throwable> handlerFailures = new CopyOnWriteArrayList<>();

  FakeMlflow() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  /** Answers {@code METHOD path} (path without query) with the handler's response. */
  FakeMlflow on(String method, String path, Function<Request, Response> handler) {
    routes.put(method + " " + path, handler);
    return this;
  }

  FakeMlflow json(String method, String path, int status, String json) {
    return on(method, path, r -> Response.json(status, json));
  }

  /** Forgets every scripted route and answers every request with {@code status} and {@code json}. */
  FakeMlflow always(int status, String json) {
    routes.clear();
    return on("*", "*", r -> Response.json(status, json));
  }

  List<Request> requests(String method, String path) {
    return requests.stream().filter(r -> r.method().equals(method) && r.path().equals(path)).toList();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      URI uri = exchange.getRequestURI();
      Map<String, String> query = new ConcurrentHashMap<>();
      if (uri.getRawQuery() != null) {
        for (String pair : uri.getRawQuery().split("&")) {
          String[] kv = pair.split("=", 2);
          query.put(
              URLDecoder.decode(kv[0], StandardCharsets.UTF_8),
              kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
        }
      }
      Request request =
          new Request(
              exchange.getRequestMethod(),
              uri.getPath(),
              query,
              exchange.getRequestHeaders().getFirst("Authorization"),
              exchange.getRequestBody().readAllBytes());
      requests.add(request);
      Function<Request, Response> handler = routes.get(request.method() + " " + request.path());
      if (handler == null) {
        handler = routes.get("* *");
      }
      Response response;
      try {
        response =
            handler != null
                ? handler.apply(request)
                : new Response(404, "text/html; charset=utf-8", "<!doctype html><title>404 Not Found</title>".getBytes(StandardCharsets.UTF_8));
      } catch (Throwable t) {
        handlerFailures.add(t);
        response = new Response(500, "text/plain", ("handler of " + request.method() + " " + request.path() + " failed: " + t).getBytes(StandardCharsets.UTF_8));
      }
      exchange.getResponseHeaders().set("Content-Type", response.contentType());
      response.headers().forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
      exchange.sendResponseHeaders(response.status(), response.body().length == 0 ? -1 : response.body().length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(response.body());
      }
    }
  }

  /** The handler failures so far, as one error; null when every handler returned. */
  AssertionError handlerFailure() {
    if (handlerFailures.isEmpty()) {
      return null;
    }
    AssertionError error = new AssertionError("a handler of the fake MLflow failed: " + handlerFailures.get(0), handlerFailures.get(0));
    handlerFailures.subList(1, handlerFailures.size()).forEach(error::addSuppressed);
    return error;
  }

  /** Stops the server, then throws what any handler threw. */
  @Override
  public void close() {
    server.stop(0);
    AssertionError failure = handlerFailure();
    if (failure != null) {
      throw failure;
    }
  }
}
