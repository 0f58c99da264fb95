package dev.timemachine.samples;

import dev.timemachine.core.model.ImageRef;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * The local image registry of {@code scripts/services.sh} (127.0.0.1:5000, deletes enabled) spoken to
 * through its API, for tests of what happens when an image a version recorded is deleted: a tiny image
 * pushed to a fresh repository, deleted by digest, and the sample image's digest.
 */
public final class LocalRegistry {
  public static final String ADDRESS = "127.0.0.1:5000";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private LocalRegistry() {}

  /** The digest the registry holds for the sample environment image ({@code timemachine/churn-env:bookworm}). */
  public static ImageRef sampleImage() {
    HttpResponse<String> head = send(HttpRequest.newBuilder(uri("/v2/timemachine/churn-env/manifests/bookworm"))
        .header("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), 200, "the sample image (scripts/services.sh up pushes it)");
    return new ImageRef(ADDRESS + "/timemachine/churn-env", head.headers().firstValue("Docker-Content-Digest").orElseThrow());
  }

  /** Pushes a tiny image (one config, one layer; not runnable) to {@code name}, tag v1; returns it by digest. */
  public static ImageRef pushThrowaway(String name) {
    byte[] config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{}}"
        .getBytes(StandardCharsets.UTF_8);
    byte[] layer = ("throwaway " + name).getBytes(StandardCharsets.UTF_8);
    pushBlob(name, config);
    pushBlob(name, layer);
    byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + sha256(config) + "\",\"size\":"
        + config.length + "},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" + sha256(layer)
        + "\",\"size\":" + layer.length + "}]}").getBytes(StandardCharsets.UTF_8);
    send(HttpRequest.newBuilder(uri("/v2/" + name + "/manifests/v1"))
        .header("Content-Type", "application/vnd.oci.image.manifest.v1+json").PUT(HttpRequest.BodyPublishers.ofByteArray(manifest))
        .build(), 201, "manifest push");
    return new ImageRef(ADDRESS + "/" + name, sha256(manifest));
  }

  /** Deletes an image of this registry by digest, as a retention policy would. */
  public static void delete(ImageRef image) {
    String name = image.repository().substring(ADDRESS.length() + 1);
    send(HttpRequest.newBuilder(uri("/v2/" + name + "/manifests/" + image.digest())).DELETE().build(), 202,
        "manifest delete (needs storage.delete.enabled, which scripts/services.sh sets)");
  }

  private static void pushBlob(String name, byte[] blob) {
    HttpResponse<String> started = send(HttpRequest.newBuilder(uri("/v2/" + name + "/blobs/uploads/"))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), 202, "blob upload");
    String location = started.headers().firstValue("Location").orElseThrow();
    URI upload = location.startsWith("http") ? URI.create(location) : uri(location);
    String put = upload + (upload.getQuery() == null ? "?" : "&") + "digest=" + sha256(blob);
    send(HttpRequest.newBuilder(URI.create(put)).header("Content-Type", "application/octet-stream")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(blob)).build(), 201, "blob upload");
  }

  private static URI uri(String path) {
    return URI.create("http://" + ADDRESS + path);
  }

  private static HttpResponse<String> send(HttpRequest request, int expected, String what) {
    try {
      HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != expected) {
        throw new IllegalStateException(what + " at " + request.uri() + " answered HTTP " + response.statusCode() + ": " + response.body());
      }
      return response;
    } catch (java.io.IOException e) {
      throw new IllegalStateException("the image registry on " + ADDRESS + " is not running: start it with scripts/services.sh up", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
