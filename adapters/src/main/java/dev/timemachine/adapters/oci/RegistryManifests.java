package dev.timemachine.adapters.oci;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.ports.ImageRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link ImageRegistry} over the OCI distribution API: {@code HEAD} and {@code GET
 * /v2/<name>/manifests/<digest>}, no layer pulled. A registry that asks for a token ({@code WWW-Authenticate: Bearer}) gets the anonymous
 * one from its realm, as {@code docker pull} of a public image does. Loopback registries ({@code
 * localhost}, {@code 127.0.0.1}) are spoken to over plain HTTP, all others over HTTPS; a repository
 * without a registry host is on Docker Hub.
 */
public final class RegistryManifests implements ImageRegistry {
  private static final String ACCEPT = String.join(", ",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.distribution.manifest.v2+json");
  private static final Pattern PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");
  private static final Duration TIMEOUT = Duration.ofSeconds(20);

  private final java.util.function.Supplier<HttpClient> client;
  private HttpClient http;

  /**
   * The HTTP client is made at the first request: it starts a selector thread, and a process that holds
   * one in a native wait takes 300 ms longer to exit (the JVM waits for threads in native code), which
   * every CLI run that builds this port but never asks a registry (a replay, a backtest) would pay.
   */
  public RegistryManifests() {
    this(() -> HttpClient.newBuilder().connectTimeout(TIMEOUT).followRedirects(HttpClient.Redirect.NORMAL).build());
  }

  RegistryManifests(HttpClient http) {
    this(() -> http);
  }

  private RegistryManifests(java.util.function.Supplier<HttpClient> client) {
    this.client = client;
  }

  private synchronized HttpClient http() {
    if (http == null) {
      http = client.get();
    }
    return http;
  }

  /** Where a repository lives: the registry's base URI and the repository's name in it. */
  record Location(URI base, String name) {
    static Location of(String repository) {
      int slash = repository.indexOf('/');
      String first = slash < 0 ? "" : repository.substring(0, slash);
      if (slash < 0 || !(first.contains(".") || first.contains(":") || first.equals("localhost"))) {
        String name = slash < 0 ? "library/" + repository : repository;
        return new Location(URI.create("https://registry-1.docker.io"), name);
      }
      String host = first.contains(":") ? first.substring(0, first.lastIndexOf(':')) : first;
      boolean loopback = host.equals("localhost") || host.equals("127.0.0.1") || host.equals("[::1]");
      return new Location(URI.create((loopback ? "http://" : "https://") + first), repository.substring(slash + 1));
    }
  }

  @Override
  public boolean hasManifest(ImageRef image) {
    return ask(image, "HEAD", HttpResponse.BodyHandlers.discarding()).isPresent();
  }

  @Override
  public Optional<byte[]> manifest(ImageRef image) {
    return ask(image, "GET", HttpResponse.BodyHandlers.ofByteArray()).map(HttpResponse::body);
  }

  /** The registry's answer for the manifest: present on 200, empty on 404, thrown otherwise. */
  private <T> Optional<HttpResponse<T>> ask(ImageRef image, String method, HttpResponse.BodyHandler<T> body) {
    Location location = Location.of(image.repository());
    URI uri = location.base().resolve("/v2/" + location.name() + "/manifests/" + image.digest());
    HttpResponse<T> response = send(uri, method, null, image, body);
    if (response.statusCode() == 401) {
      Optional<String> token = token(response, image);
      if (token.isPresent()) {
        response = send(uri, method, "Bearer " + token.get(), image, body);
      }
    }
    int status = response.statusCode();
    if (status == 200) {
      return Optional.of(response);
    }
    if (status == 404) {
      return Optional.empty();
    }
    if (status == 401 || status == 403) {
      throw new TimemachineException(ErrorType.CONFIGURATION,
          "the registry " + location.base() + " refuses to say whether it has " + image + " (HTTP " + status + ")",
          "the check asks anonymously; a private registry's images cannot be checked without a pull", null);
    }
    throw TimemachineException.unavailable(
        "the registry " + location.base() + " answered HTTP " + status + " for " + image + "; try again later", null);
  }

  private <T> HttpResponse<T> send(
      URI uri, String method, String authorization, ImageRef image, HttpResponse.BodyHandler<T> body) {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(TIMEOUT).header("Accept", ACCEPT)
        .method(method, HttpRequest.BodyPublishers.noBody());
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    try {
      return http().send(request.build(), body);
    } catch (IOException e) {
      throw TimemachineException.unavailable(
          "cannot reach the image registry at " + uri.getScheme() + "://" + uri.getAuthority() + " to look up " + image + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw TimemachineException.unavailable("interrupted while looking up " + image, e);
    }
  }

  /** The anonymous bearer token a 401's challenge points to, if it names a realm. */
  private Optional<String> token(HttpResponse<?> challenge, ImageRef image) {
    String header = challenge.headers().firstValue("WWW-Authenticate").orElse("");
    if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return Optional.empty();
    }
    Map<String, String> params = new LinkedHashMap<>();
    Matcher m = PARAM.matcher(header);
    while (m.find()) {
      params.put(m.group(1), m.group(2));
    }
    String realm = params.remove("realm");
    if (realm == null) {
      return Optional.empty();
    }
    StringBuilder query = new StringBuilder();
    params.forEach((k, v) -> query.append(query.isEmpty() ? "?" : "&").append(k).append('=')
        .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
    try {
      HttpResponse<String> response = http().send(HttpRequest.newBuilder(URI.create(realm + query)).timeout(TIMEOUT).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        return Optional.empty();
      }
      Matcher token = Pattern.compile("\"(?:token|access_token)\"\\s*:\\s*\"([^\"]+)\"").matcher(response.body());
      return token.find() ? Optional.of(token.group(1)) : Optional.empty();
    } catch (IOException e) {
      throw TimemachineException.unavailable("cannot get a token from " + realm + " to look up " + image + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw TimemachineException.unavailable("interrupted while looking up " + image, e);
    }
  }
}
