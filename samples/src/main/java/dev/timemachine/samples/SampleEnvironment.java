package dev.timemachine.samples;

import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.errors.TimemachineException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The sample environment image in the local registry. Its digest is whatever the registry holds (the
 * image is built on each machine), so it is looked up, never hard-coded: a triplet must name the
 * digest the registry will serve.
 */
public final class SampleEnvironment {
  public static final String REGISTRY = "127.0.0.1:5000";
  public static final String REPOSITORY = REGISTRY + "/timemachine/churn-env";
  public static final String TAG = "bookworm";

  private static final String MANIFEST_TYPES =
      String.join(
          ",",
          "application/vnd.docker.distribution.manifest.v2+json",
          "application/vnd.oci.image.manifest.v1+json",
          "application/vnd.docker.distribution.manifest.list.v2+json",
          "application/vnd.oci.image.index.v1+json");

  private SampleEnvironment() {}

  /** The sample image pinned by the digest the local registry serves for its tag. */
  public static ImageRef pinned() {
    return pin(REGISTRY, "timemachine/churn-env", TAG);
  }

  /** Asks a registry (plain HTTP on loopback) for the digest of {@code repository:tag}. */
  public static ImageRef pin(String registry, String repository, String tag) {
    URI uri = URI.create("http://" + registry + "/v2/" + repository + "/manifests/" + tag);
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpRequest request =
        HttpRequest.newBuilder(uri).method("HEAD", HttpRequest.BodyPublishers.noBody())
            .header("Accept", MANIFEST_TYPES).timeout(Duration.ofSeconds(10)).build();
    try {
      HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
      String digest = response.headers().firstValue("Docker-Content-Digest").orElse(null);
      if (response.statusCode() != 200 || digest == null) {
        throw TimemachineException.configuration(
            "the registry " + registry + " has no image " + repository + ":" + tag + " (HTTP " + response.statusCode() + ")",
            "build and push it with scripts/services.sh up");
      }
      return ImageRef.parse(registry + "/" + repository + "@" + digest);
    } catch (IOException e) {
      throw TimemachineException.configuration(
          "the image registry at " + registry + " is not reachable (" + e.getClass().getSimpleName() + ")",
          "start it with scripts/services.sh up");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw TimemachineException.unavailable("interrupted while asking " + registry, e);
    }
  }
}
