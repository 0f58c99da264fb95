package dev.timemachine.core.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.ports.ContainerEngine;
import dev.timemachine.core.ports.ImageRegistry;
import dev.timemachine.core.ports.Progress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator.ReplaceUnderscores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The offline content check of a local image, against a registry held in memory (ImageContentIT runs
 * it on the real registry and Docker engine). The manifests are the shapes the distribution API
 * serves: a Docker schema 2 manifest, an OCI index, a schema 1 manifest.
 */
@DisplayNameGeneration(ReplaceUnderscores.class)
class ImageContentCheckTest {
  private static final String CONFIG = "sha256:" + "c".repeat(64);
  private static final String OTHER = "sha256:" + "d".repeat(64);

  @TempDir Path tmp;
  private final FakeRegistry registry = new FakeRegistry();
  private final List<String> progress = new ArrayList<>();
  private final Progress report = progress::add;

  private static byte[] manifest(String config) {
    return ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        + "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":1234,\"digest\":\""
        + config + "\"},\"layers\":[]}").getBytes(StandardCharsets.UTF_8);
  }

  private static String digestOf(byte[] bytes) {
    return "sha256:" + Digests.sha256Hex(bytes);
  }

  private ImageRef published(byte[] manifest) {
    String digest = digestOf(manifest);
    registry.manifests.put(digest, manifest);
    return new ImageRef("127.0.0.1:5000/acme/train", digest);
  }

  private ImageContentCheck check() {
    return new ImageContentCheck(registry, tmp.resolve("images"), "amd64");
  }

  @Test
  void an_image_whose_id_is_the_configuration_its_manifest_names_passes_and_the_next_check_asks_nobody() throws Exception {
    ImageRef image = published(manifest(CONFIG));

    assertThat(check().check(image, CONFIG, report)).startsWith("content checked: ").contains("fetched from the registry");
    assertThat(registry.asked).isEqualTo(1);

    registry.down = true;
    assertThat(check().check(image, CONFIG, report))
        .isEqualTo("content checked: manifest " + image.digest() + " from this host's cache;"
            + " image id equals the configuration digest the manifest names");
    assertThat(registry.asked).isEqualTo(1);
    Path entry = tmp.resolve("images").resolve(image.digest().substring(7, 9)).resolve(image.digest().substring(7));
    assertThat(Files.getPosixFilePermissions(entry)).isEqualTo(PosixFilePermissions.fromString("r--r--r--"));
  }

  @Test
  void a_local_image_that_is_not_the_one_the_digest_names_is_unverifiable_naming_both_ids() {
    ImageRef image = published(manifest(CONFIG));

    assertThatThrownBy(() -> check().check(image, OTHER, report))
        .isInstanceOfSatisfying(InputUnverifiableException.class, e -> assertThat(e.input()).isEqualTo(InputKind.ENVIRONMENT))
        .hasMessageContaining("holds it as image " + OTHER)
        .hasMessageContaining("names the image configuration " + CONFIG)
        .hasMessageContaining("docker rmi " + OTHER);
    // Warm, from the cache: still caught.
    registry.down = true;
    assertThatThrownBy(() -> check().check(image, OTHER, report)).isInstanceOf(InputUnverifiableException.class);
  }

  @Test
  void a_cached_manifest_altered_on_the_host_is_dropped_and_fetched_again() throws Exception {
    ImageRef image = published(manifest(CONFIG));
    check().check(image, CONFIG, report);
    Path entry = tmp.resolve("images").resolve(image.digest().substring(7, 9)).resolve(image.digest().substring(7));
    // Someone swaps the cached manifest for one that names another configuration (the id of an image they planted).
    Files.setPosixFilePermissions(entry, PosixFilePermissions.fromString("rw-r--r--"));
    Files.write(entry, manifest(OTHER));

    assertThatThrownBy(() -> check().check(image, OTHER, report)).isInstanceOf(InputUnverifiableException.class);
    assertThat(progress).anyMatch(p -> p.contains("dropping the cached manifest " + image.digest()));
    assertThat(registry.asked).isEqualTo(2);
    assertThat(Files.readAllBytes(entry)).isEqualTo(manifest(CONFIG));
    assertThat(check().check(image, CONFIG, report)).contains("from this host's cache");
  }

  @Test
  void a_registry_that_serves_other_bytes_for_the_digest_is_refused_and_nothing_is_cached() {
    ImageRef image = published(manifest(CONFIG));
    registry.manifests.put(image.digest(), manifest(OTHER));

    assertThatThrownBy(() -> check().check(image, OTHER, report))
        .isInstanceOf(InputUnverifiableException.class)
        .hasMessageContaining("whose bytes hash to " + digestOf(manifest(OTHER)) + ", not to the digest");
    assertThat(tmp.resolve("images")).doesNotExist();
  }

  @Test
  void an_index_is_resolved_to_the_manifest_of_this_platform_that_names_the_engine_s_image() {
    String third = "sha256:" + "e".repeat(64);
    byte[] arm = manifest(OTHER);
    byte[] amdV3 = manifest(third);
    byte[] amd = manifest(CONFIG);
    for (byte[] m : List.of(arm, amdV3, amd)) {
      registry.manifests.put(digestOf(m), m);
    }
    byte[] index = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
        + "{\"digest\":\"" + digestOf(arm) + "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
        + "{\"digest\":\"" + digestOf(amdV3) + "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\",\"variant\":\"v3\"}},"
        + "{\"digest\":\"" + digestOf(amd) + "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}")
        .getBytes(StandardCharsets.UTF_8);
    ImageRef image = published(index);

    assertThat(check().check(image, CONFIG, report)).contains("index entry linux/amd64 " + digestOf(amd));
    assertThat(check().check(image, third, report)).contains("index entry linux/amd64 " + digestOf(amdV3));
    assertThatThrownBy(() -> check().check(image, OTHER, report))
        .isInstanceOf(InputUnverifiableException.class)
        .hasMessageContaining("none of the linux/amd64 manifests of the index " + image.digest() + " names that configuration")
        .hasMessageContaining(digestOf(amd) + " names " + CONFIG);
    assertThatThrownBy(() -> new ImageContentCheck(registry, tmp.resolve("images"), "s390x").check(image, CONFIG, report))
        .hasMessageContaining("has no manifest for linux/s390x");
  }

  @Test
  void without_a_cached_manifest_a_registry_that_cannot_say_leaves_the_image_on_the_engine_s_word_and_says_so() {
    ImageRef image = published(manifest(CONFIG));
    registry.down = true;
    assertThat(check().check(image, CONFIG, report))
        .isEqualTo("content not checked offline: no manifest cached and the registry is down");

    registry.down = false;
    registry.manifests.clear();
    assertThat(check().check(image, CONFIG, report))
        .isEqualTo("content not checked offline: no manifest cached and the registry no longer has " + image);
  }

  @Test
  void a_schema_1_manifest_names_no_configuration_and_is_said_to_be_unchecked() {
    ImageRef image = published("{\"schemaVersion\":1,\"name\":\"acme/train\",\"fsLayers\":[]}".getBytes(StandardCharsets.UTF_8));
    assertThat(check().check(image, CONFIG, report)).contains("names no sha256 image configuration (schema 1)");
  }

  @Test
  void the_layer_check_wants_the_configuration_to_hash_to_the_id_and_every_layer_to_its_diff_id() {
    String one = "sha256:" + "1".repeat(64);
    String two = "sha256:" + "2".repeat(64);
    byte[] config = ("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + one + "\",\"" + two + "\"]}}")
        .getBytes(StandardCharsets.UTF_8);
    String id = digestOf(config);
    ImageRef image = published(manifest(id));

    assertThat(ImageContentCheck.checkLayers(image, id, new ContainerEngine.ImageContents(config, List.of(one, two), 4096)))
        .isEqualTo("layers checked: 2 layers, 4096 bytes hashed, each the sha256 its configuration names");
    assertThatThrownBy(() -> ImageContentCheck.checkLayers(image, id, new ContainerEngine.ImageContents(config, List.of(one, OTHER), 4096)))
        .isInstanceOfSatisfying(InputUnverifiableException.class, e -> assertThat(e.input()).isEqualTo(InputKind.ENVIRONMENT))
        .hasMessageContaining("layer 2 of 2 of image " + id + " as the Docker engine holds it hashes to " + OTHER
            + ", but the image's configuration names " + two);
    assertThatThrownBy(() -> ImageContentCheck.checkLayers(image, id, new ContainerEngine.ImageContents(config, List.of(one), 4096)))
        .hasMessageContaining("layer 2 of 2").hasMessageContaining("hashes to (none)");
    assertThatThrownBy(() -> ImageContentCheck.checkLayers(image, OTHER, new ContainerEngine.ImageContents(config, List.of(one, two), 4096)))
        .hasMessageContaining("exports image " + OTHER + " with a configuration whose bytes hash to " + id);

    // Through check(): the manifest first, then the engine's export.
    ContainerEngine exporting = (ContainerEngine) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {ContainerEngine.class}, (proxy, method, args) -> {
          assertThat(method.getName()).isEqualTo("exportImage");
          return new ContainerEngine.ImageContents(config, List.of(one, two), 4096);
        });
    assertThat(new ImageContentCheck(registry, tmp.resolve("images"), "amd64", exporting).check(image, id, report))
        .startsWith("content checked: ").endsWith("; layers checked: 2 layers, 4096 bytes hashed, each the sha256 its configuration names");
  }

  @Test
  void the_jvm_s_architecture_names_map_to_oci_s() {
    assertThat(ImageContentCheck.ociArchitecture("x86_64")).isEqualTo("amd64");
    assertThat(ImageContentCheck.ociArchitecture("amd64")).isEqualTo("amd64");
    assertThat(ImageContentCheck.ociArchitecture("aarch64")).isEqualTo("arm64");
  }

  private static final class FakeRegistry implements ImageRegistry {
    final Map<String, byte[]> manifests = new HashMap<>();
    boolean down;
    int asked;

    @Override
    public boolean hasManifest(ImageRef image) {
      return manifest(image).isPresent();
    }

    @Override
    public Optional<byte[]> manifest(ImageRef image) {
      asked++;
      if (down) {
        throw TimemachineException.unavailable("the registry is down", null);
      }
      return Optional.ofNullable(manifests.get(image.digest()));
    }
  }
}
