package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ConfigTest {
  @Test
  void defaults_are_an_in_process_server_a_local_store_and_a_60_second_heartbeat_timeout() {
    Config config = Config.fromEnvironment(Map.of("TIMEMACHINE_HOME", "/tmp/tm-home", "TIMEMACHINE_WORKER_ID", "host-a"));

    assertThat(config.embeddedTemporal()).isTrue();
    assertThat(config.storeUri()).isEqualTo("file:///tmp/tm-home/store");
    assertThat(config.hostQueue()).isEqualTo("timemachine-training@host-a");
    assertThat(config.heartbeatTimeoutSeconds()).isEqualTo(60);
  }

  @Test
  void the_heartbeat_timeout_is_configurable() {
    Config config = Config.fromEnvironment(Map.of("TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS", "15"));

    assertThat(config.heartbeatTimeoutSeconds()).isEqualTo(15);
    assertThat(config.withLimits(config.limits()).heartbeatTimeoutSeconds()).as("kept by withLimits").isEqualTo(15);
  }

  @Test
  void a_heartbeat_timeout_shorter_than_the_heartbeat_interval_is_a_configuration_error() {
    assertThatThrownBy(() -> Config.fromEnvironment(Map.of("TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS", "2")))
        .isInstanceOf(TimemachineException.class)
        .hasMessageContaining("TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS=2")
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.CONFIGURATION));
    assertThatThrownBy(() -> Config.fromEnvironment(Map.of("TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS", "soon")))
        .hasMessageContaining("is not a whole number");
  }

  @Test
  void the_transient_deadline_defaults_to_30_minutes_and_reads_seconds_minutes_and_hours() {
    assertThat(Config.fromEnvironment(Map.of()).transientDeadline()).isEqualTo(java.time.Duration.ofMinutes(30));
    assertThat(Config.fromEnvironment(Map.of("TIMEMACHINE_TRANSIENT_DEADLINE", "90s")).transientDeadline())
        .isEqualTo(java.time.Duration.ofSeconds(90));
    assertThat(Config.fromEnvironment(Map.of("TIMEMACHINE_TRANSIENT_DEADLINE", "2h")).transientDeadline())
        .isEqualTo(java.time.Duration.ofHours(2));
  }

  @Test
  void a_transient_deadline_without_a_unit_is_a_configuration_error_naming_the_variable() {
    assertThatThrownBy(() -> Config.fromEnvironment(Map.of("TIMEMACHINE_TRANSIENT_DEADLINE", "30")))
        .isInstanceOf(TimemachineException.class)
        .hasMessage("TIMEMACHINE_TRANSIENT_DEADLINE='30' is not a duration")
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.CONFIGURATION));
  }

  @Test
  void the_host_pickup_timeout_defaults_to_60_seconds_and_reads_the_environment() {
    assertThat(Config.fromEnvironment(Map.of()).hostPickupTimeout()).isEqualTo(java.time.Duration.ofSeconds(60));
    assertThat(Config.fromEnvironment(Map.of("TIMEMACHINE_HOST_PICKUP_TIMEOUT", "5s")).hostPickupTimeout())
        .isEqualTo(java.time.Duration.ofSeconds(5));
    assertThatThrownBy(() -> Config.fromEnvironment(Map.of("TIMEMACHINE_HOST_PICKUP_TIMEOUT", "soon")).hostPickupTimeout())
        .hasMessage("TIMEMACHINE_HOST_PICKUP_TIMEOUT='soon' is not a duration");
  }
}
