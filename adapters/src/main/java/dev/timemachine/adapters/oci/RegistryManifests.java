package dev.timemachine.adapters.oci;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.ports.ImageRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link ImageRegistry} over the OCI distribution API: {@code HEAD} and {@code GET
 * /v2/<name>/manifests/<digest>}, no layer pulled. A registry that asks for a token ({@code
 * WWW-Authenticate: Bearer}) gets the anonymous one from its realm, as {@code docker pull} of a public
 * image does. Loopback registries ({@code localhost}, {@code 127.0.0.1}) are spoken to over plain HTTP,
 * all others over HTTPS; a repository without a registry host is on Docker Hub.
 *
 * <p>Spoken with the JDK's {@link HttpURLConnection}, not {@code java.net.http.HttpClient}: a replay asks
 * one or two small questions per process, and on a fresh JVM the client's setup, its selector thread and
 * the exit it then delays cost about 600 ms against 50 ms (measured, docs/performance.md). A manifest
 * larger than 4 MiB (the distribution spec's limit) is refused rather than read.
 */
public final class RegistryManifests implements ImageRegistry {
  private static final String ACCEPT = String.join(", ",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.distribution.manifest.v2+json");
  private static final Pattern PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");
  private static final int TIMEOUT_MS = 20_000;
  /** The distribution spec's limit on a manifest; a token answer gets the same. */
  static final int MAX_BODY = 4 << 20;

  public RegistryManifests() {}

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
    return ask(image, "HEAD").isPresent();
  }

  @Override
  public Optional<byte[]> manifest(ImageRef image) {
    return ask(image, "GET").map(Response::body);
  }

  /** An answer: its status, its challenge header if any, and its body (empty for HEAD). */
  private record Response(int status, String challenge, byte[] body) {}

  /** The registry's answer for the manifest: present on 200, empty on 404, thrown otherwise. */
  private Optional<Response> ask(ImageRef image, String method) {
    Location location = Location.of(image.repository());
    URI uri = location.base().resolve("/v2/" + location.name() + "/manifests/" + image.digest());
    Response response = send(uri, method, null, image);
    if (response.status() == 401) {
      Optional<String> token = token(response, image);
      if (token.isPresent()) {
        response = send(uri, method, "Bearer " + token.get(), image);
      }
    }
    int status = response.status();
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

  private Response send(URI uri, String method, String authorization, ImageRef image) {
    HttpURLConnection connection = null;
    try {
      connection = (HttpURLConnection) uri.toURL().openConnection();
      connection.setRequestMethod(method);
      connection.setConnectTimeout(TIMEOUT_MS);
      connection.setReadTimeout(TIMEOUT_MS);
      connection.setInstanceFollowRedirects(true);
      connection.setRequestProperty("Accept", ACCEPT);
      if (authorization != null) {
        connection.setRequestProperty("Authorization", authorization);
      }
      int status = connection.getResponseCode();
      byte[] body = new byte[0];
      if (!"HEAD".equals(method)) {
        try (InputStream in = status < 400 ? connection.getInputStream() : connection.getErrorStream()) {
          body = in == null ? body : readAtMost(in, uri, image);
        }
      }
      return new Response(status, connection.getHeaderField("WWW-Authenticate"), body);
    } catch (IOException e) {
      throw TimemachineException.unavailable(
          "cannot reach the image registry at " + uri.getScheme() + "://" + uri.getAuthority() + " to look up " + image + ": " + e, e);
    } finally {
      if (connection != null && "HEAD".equals(method)) {
        connection.disconnect();
      }
    }
  }

  private static byte[] readAtMost(InputStream in, URI uri, ImageRef image) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[16 << 10];
    for (int n; (n = in.read(buffer)) > 0; ) {
      if (out.size() + n > MAX_BODY) {
        throw new TimemachineException(ErrorType.INVALID_INPUT,
            "the registry at " + uri.getAuthority() + " answered " + image + " with more than " + MAX_BODY
                + " bytes: no manifest is that large", "check the image reference and the registry", null);
      }
      out.write(buffer, 0, n);
    }
    return out.toByteArray();
  }

  /** The anonymous bearer token a 401's challenge points to, if it names a realm. */
  private Optional<String> token(Response challenge, ImageRef image) {
    String header = challenge.challenge() == null ? "" : challenge.challenge();
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
    URI uri;
    try {
      uri = URI.create(realm + query);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    Response response = send(uri, "GET", null, image);
    if (response.status() != 200) {
      return Optional.empty();
    }
    try {
      JsonNode json = Json.mapper().readTree(response.body());
      String token = json == null ? "" : json.path("token").asText(json.path("access_token").asText(""));
      return token.isEmpty() ? Optional.empty() : Optional.of(token);
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
