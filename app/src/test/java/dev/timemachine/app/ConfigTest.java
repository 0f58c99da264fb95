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
}
