package dev.timemachine.adapters.oci;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class RegistryManifestsTest {
  @Test
  void a_loopback_registry_is_spoken_to_over_http_and_keeps_the_rest_as_the_name() {
    var location = RegistryManifests.Location.of("127.0.0.1:5000/timemachine/churn-env");
    assertThat(location.base()).hasToString("http://127.0.0.1:5000");
    assertThat(location.name()).isEqualTo("timemachine/churn-env");
    assertThat(RegistryManifests.Location.of("localhost/x").base()).hasToString("http://localhost");
  }

  @Test
  void another_registry_host_is_spoken_to_over_https() {
    var location = RegistryManifests.Location.of("ghcr.io/acme/train");
    assertThat(location.base()).hasToString("https://ghcr.io");
    assertThat(location.name()).isEqualTo("acme/train");
  }

  @Test
  void a_repository_without_a_host_is_on_docker_hub_and_a_bare_name_is_an_official_image() {
    assertThat(RegistryManifests.Location.of("python").name()).isEqualTo("library/python");
    assertThat(RegistryManifests.Location.of("acme/train").name()).isEqualTo("acme/train");
    assertThat(RegistryManifests.Location.of("acme/train").base()).hasToString("https://registry-1.docker.io");
  }

  @Test
  void no_http_client_thread_runs_until_a_registry_is_asked() {
    // A selector thread waiting in native code holds a JVM's exit up by 300 ms: a replay never asks.
    long before = selectorThreads();
    new RegistryManifests();
    assertThat(selectorThreads()).isEqualTo(before);
  }

  private static long selectorThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().endsWith("SelectorManager")).count();
  }
}
