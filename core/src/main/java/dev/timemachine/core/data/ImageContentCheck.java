package dev.timemachine.core.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.ports.ContainerEngine;
import dev.timemachine.core.ports.ImageRegistry;
import dev.timemachine.core.ports.Progress;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Whether the image the container engine holds under {@code repository@digest} is the content that
 * digest names, checked without a registry round trip once this host has seen the image's manifest.
 *
 * <p>An engine that lists the digest among an image's repo digests vouches for it only by its own
 * bookkeeping, recorded at the pull. The digest names a manifest (or an index of manifests, one per
 * platform); the manifest names the image's configuration by its sha256, and an engine's image id is
 * that sha256 (the configuration in turn names every layer by the sha256 of its contents). So the
 * check is: the manifest's bytes hash to the recorded digest (an index's to the digest, then the
 * platform's manifest to the index's entry), and the configuration digest it names equals the engine's
 * image id. A different image under the recorded reference (an engine whose reference store was edited
 * or restored from elsewhere) is {@code INPUTS_UNVERIFIABLE} for the environment, naming both ids.
 *
 * <p>The manifests are kept on the training host under {@code <dir>/<first two hex>/<hex>}, read-only,
 * content-addressed: a cached manifest is re-hashed at every use (a few kilobytes), so a corrupted entry
 * is simply dropped and fetched again. The first check of an image on a host asks the registry once;
 * every later one asks nobody. When nothing is cached and the registry cannot say (it is unreachable,
 * no longer has the manifest, or refuses to answer anonymously), the image is used on the engine's word
 * and the evidence says that the content was not checked, and why: a replay of an image the engine
 * still holds does not fail because its registry went away.
 *
 * <p>The layers on the engine's disk are checked against the configuration's {@code diff_ids} only
 * when asked ({@code TIMEMACHINE_IMAGE_CHECK=layers}): that exports and hashes the whole image at every
 * replay (about a second for the 400 MB sample image), where the manifest check costs a few milliseconds.
 */
public final class ImageContentCheck {
  private final ImageRegistry registry;
  private final Path dir;
  private final String architecture;
  private final ContainerEngine layersFrom;

  /**
   * @param dir the host's manifest cache (made when first written)
   * @param architecture the platform an index is resolved for, in OCI terms ({@code amd64}, {@code
   *     arm64}); the operating system is always {@code linux}
   */
  public ImageContentCheck(ImageRegistry registry, Path dir, String architecture) {
    this(registry, dir, architecture, null);
  }

  /**
   * @param layersFrom when not null, every check also exports the image from this engine and hashes its
   *     layers against the configuration's {@code diff_ids} ({@code TIMEMACHINE_IMAGE_CHECK=layers}): what
   *     the engine has on its disk, read in full at every replay
   */
  public ImageContentCheck(ImageRegistry registry, Path dir, String architecture, ContainerEngine layersFrom) {
    this.registry = registry;
    this.dir = dir.toAbsolutePath().normalize();
    this.architecture = architecture;
    this.layersFrom = layersFrom;
  }

  /** The OCI architecture of a JVM's {@code os.arch}. */
  public static String ociArchitecture(String osArch) {
    return switch (osArch) {
      case "x86_64", "amd64" -> "amd64";
      case "aarch64", "arm64" -> "arm64";
      default -> osArch;
    };
  }

  /**
   * Checks the engine's {@code imageId} (as {@code sha256:<hex>}) for {@code image} and returns the
   * evidence, one line; throws {@link InputUnverifiableException} when the content does not match.
   */
  public String check(ImageRef image, String imageId, Progress progress) {
    String manifest = checkManifest(image, imageId, progress);
    if (layersFrom == null) {
      return manifest;
    }
    progress.report("hashing the layers of " + imageId + " as the engine holds them");
    return manifest + "; " + checkLayers(image, imageId, layersFrom.exportImage(imageId, progress));
  }

  /**
   * Whether what the engine exported for {@code imageId} is that image: its configuration hashes to the
   * id, and each layer's tar to the {@code diff_id} the configuration lists at its place.
   */
  static String checkLayers(ImageRef image, String imageId, ContainerEngine.ImageContents contents) {
    String config = "sha256:" + Digests.sha256Hex(contents.config());
    if (!config.equals(imageId)) {
      throw unverifiable(image, "the Docker engine exports image " + imageId + " with a configuration whose bytes hash to "
          + config + ": its copy of the image is damaged; remove it (docker rmi -f " + imageId + ") and replay again");
    }
    JsonNode diffIds = parse(contents.config(), image, "configuration " + imageId).path("rootfs").path("diff_ids");
    List<String> named = new ArrayList<>();
    diffIds.forEach(d -> named.add(d.asText()));
    List<String> found = contents.layerDigests();
    for (int i = 0; i < Math.max(named.size(), found.size()); i++) {
      String want = i < named.size() ? named.get(i) : "(none)";
      String got = i < found.size() ? found.get(i) : "(none)";
      if (!want.equals(got)) {
        throw unverifiable(image, "layer " + (i + 1) + " of " + named.size() + " of image " + imageId + " as the Docker engine"
            + " holds it hashes to " + got + ", but the image's configuration names " + want
            + ": the engine's copy of that layer was altered on its disk; remove the image (docker rmi -f " + imageId
            + ") and replay again, which pulls it by digest");
      }
    }
    return "layers checked: " + found.size() + " layer" + (found.size() == 1 ? "" : "s") + ", "
        + contents.bytesHashed() + " bytes hashed, each the sha256 its configuration names";
  }

  private String checkManifest(ImageRef image, String imageId, Progress progress) {
    List<String> how = new ArrayList<>();
    Optional<byte[]> top = manifest(image, image.digest(), how, progress);
    if (top.isEmpty()) {
      return "content not checked offline: " + String.join("; ", how);
    }
    JsonNode json = parse(top.get(), image, "manifest " + image.digest());
    if (!json.path("manifests").isArray()) {
      String config = configOf(json, image.digest());
      if (config == null) {
        return "content not checked offline: the manifest " + image.digest() + " names no sha256 image configuration"
            + " (schema " + json.path("schemaVersion").asText("?") + ")";
      }
      if (!config.equals(imageId)) {
        throw unverifiable(image,
            "the Docker engine holds it as image " + imageId + ", but the manifest " + image.digest()
                + " (its bytes hash to that digest) names the image configuration " + config
                + ": the local image's content is not the recorded one; remove it (docker rmi " + imageId
                + ") and replay again, which pulls it by digest");
      }
      how.add("image id equals the configuration digest the manifest names");
      return "content checked: " + String.join("; ", how);
    }
    // An index: the engine took one of its manifests for this platform (there may be several, by variant).
    List<String> named = new ArrayList<>();
    for (String child : platformEntries(json.path("manifests"), image, image.digest())) {
      List<String> childHow = new ArrayList<>();
      Optional<byte[]> manifest = manifest(image, child, childHow, progress);
      if (manifest.isEmpty()) {
        how.addAll(childHow);
        return "content not checked offline: " + String.join("; ", how);
      }
      JsonNode childJson = parse(manifest.get(), image, "manifest " + child);
      if (childJson.path("manifests").isArray()) {
        throw unverifiable(image, "the manifest " + child + " of its index is an index itself");
      }
      String config = configOf(childJson, child);
      if (imageId.equals(config)) {
        how.add("index entry linux/" + architecture + " " + child);
        how.addAll(childHow);
        how.add("image id equals the configuration digest the manifest names");
        return "content checked: " + String.join("; ", how);
      }
      named.add(child + " names " + config);
    }
    throw unverifiable(image,
        "the Docker engine holds it as image " + imageId + ", but none of the linux/" + architecture + " manifests of the"
            + " index " + image.digest() + " names that configuration (" + String.join(", ", named)
            + "): the local image's content is not the recorded one; remove it (docker rmi " + imageId
            + ") and replay again, which pulls it by digest");
  }

  private static String configOf(JsonNode manifest, String digest) {
    String config = manifest.path("config").path("digest").asText("");
    return Digests.isPrefixedSha256(config) ? config : null;
  }

  /** The manifest {@code digest}, from this host's cache if a cached copy still hashes to it, else the registry. */
  private Optional<byte[]> manifest(ImageRef image, String digest, List<String> how, Progress progress) {
    String hex = digest.substring("sha256:".length());
    Path entry = dir.resolve(hex.substring(0, 2)).resolve(hex);
    try {
      byte[] cached = Files.readAllBytes(entry);
      if (Digests.sha256Hex(cached).equals(hex)) {
        how.add("manifest " + digest + " from this host's cache");
        return Optional.of(cached);
      }
      progress.report("dropping the cached manifest " + digest + ": its bytes no longer hash to it");
      Files.deleteIfExists(entry);
      how.add("a corrupted cached manifest dropped");
    } catch (NoSuchFileException e) {
      // Not cached yet.
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the cached image manifest " + entry, e);
    }
    Optional<byte[]> fetched;
    try {
      fetched = registry.manifest(new ImageRef(image.repository(), digest));
    } catch (TimemachineException e) {
      how.add("no manifest cached and " + e.getMessage());
      return Optional.empty();
    }
    if (fetched.isEmpty()) {
      how.add("no manifest cached and the registry no longer has " + image.repository() + "@" + digest);
      return Optional.empty();
    }
    byte[] bytes = fetched.get();
    if (!Digests.sha256Hex(bytes).equals(hex)) {
      throw unverifiable(image, "the registry served a manifest for " + digest + " whose bytes hash to sha256:"
          + Digests.sha256Hex(bytes) + ", not to the digest");
    }
    keep(entry, bytes);
    how.add("manifest " + digest + " fetched from the registry and cached");
    return Optional.of(bytes);
  }

  /** Writes a verified manifest read-only into the cache, whole or not at all. */
  private void keep(Path entry, byte[] bytes) {
    try {
      Files.createDirectories(entry.getParent());
      Path tmp = Files.createTempFile(entry.getParent(), ".manifest-", ".tmp");
      try {
        Files.write(tmp, bytes);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r--r--r--"));
        try {
          Files.move(tmp, entry, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(tmp, entry, StandardCopyOption.REPLACE_EXISTING);
        }
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      // The cache only saves the next round trip; the manifest in hand was verified.
    }
  }

  /** The digests of the index's manifests for linux on this host's architecture, in the index's order. */
  private List<String> platformEntries(JsonNode manifests, ImageRef image, String indexDigest) {
    List<String> entries = new ArrayList<>();
    for (JsonNode m : manifests) {
      JsonNode platform = m.path("platform");
      if ("linux".equals(platform.path("os").asText()) && architecture.equals(platform.path("architecture").asText())) {
        String child = m.path("digest").asText("");
        if (!Digests.isPrefixedSha256(child)) {
          throw unverifiable(image, "the index " + indexDigest + " names a linux/" + architecture
              + " manifest by '" + child + "', not by a sha256 digest");
        }
        entries.add(child);
      }
    }
    if (entries.isEmpty()) {
      throw unverifiable(image, "the index " + indexDigest + " has no manifest for linux/" + architecture
          + ", the platform of this host");
    }
    return entries;
  }

  private static JsonNode parse(byte[] bytes, ImageRef image, String what) {
    try {
      JsonNode json = Json.mapper().readTree(bytes);
      if (json == null || !json.isObject()) {
        throw unverifiable(image, "the " + what + " is not a JSON object");
      }
      return json;
    } catch (IOException e) {
      throw unverifiable(image, "the " + what + " is not JSON: " + e.getMessage());
    }
  }

  private static InputUnverifiableException unverifiable(ImageRef image, String why) {
    return new InputUnverifiableException(InputKind.ENVIRONMENT, "image " + image + " could not be verified: " + why);
  }
}
