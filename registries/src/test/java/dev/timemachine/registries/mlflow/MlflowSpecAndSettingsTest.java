package dev.timemachine.registries.mlflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class MlflowSpecAndSettingsTest {

  @Test
  void specs_name_an_alias_or_a_version_number() {
    assertThat(MlflowSpec.parse("churn@champion")).isEqualTo(new MlflowSpec("churn", "champion", null));
    assertThat(MlflowSpec.parse("churn/3")).isEqualTo(new MlflowSpec("churn", null, "3"));
    assertThat(MlflowSpec.parse("my.model-v2/12")).isEqualTo(new MlflowSpec("my.model-v2", null, "12"));
    assertThat(MlflowSpec.parse("churn@champion").toString()).isEqualTo("churn@champion");
  }

  @Test
  void malformed_specs_are_invalid_input_with_the_expected_forms() {
    for (String bad : new String[] {"churn", "churn@", "@champion", "churn/", "churn/0", "churn/v3", "a/b/3", "churn@bad alias", "models:/churn@champion", ""}) {
      assertThatThrownBy(() -> MlflowSpec.parse(bad))
          .as(bad)
          .isInstanceOf(TimemachineException.class)
          .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.INVALID_INPUT));
    }
  }

  @Test
  void settings_come_from_mlflows_own_environment_variables() {
    MlflowSettings settings =
        MlflowSettings.fromEnvironment(
            Map.of(
                "MLFLOW_TRACKING_URI", "https://mlflow.example/prefix/",
                "MLFLOW_TRACKING_TOKEN", "tok",
                "MLFLOW_HTTP_REQUEST_TIMEOUT", "30"));
    assertThat(settings.trackingUri()).isEqualTo(URI.create("https://mlflow.example/prefix"));
    assertThat(settings.token()).isEqualTo("tok");
    assertThat(settings.requestTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(settings.toString()).doesNotContain("tok\"").contains("the token in MLFLOW_TRACKING_TOKEN");
  }

  @Test
  void a_missing_or_unusable_tracking_uri_is_a_configuration_error() {
    assertThatThrownBy(() -> MlflowSettings.fromEnvironment(Map.of()))
        .hasMessage("MLFLOW_TRACKING_URI is not set: point it at your MLflow server")
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.CONFIGURATION));
    assertThatThrownBy(() -> MlflowSettings.fromEnvironment(Map.of("MLFLOW_TRACKING_URI", "./mlruns")))
        .hasMessageContaining("is not an http(s) URL of an MLflow server");
    assertThatThrownBy(() -> MlflowSettings.fromEnvironment(Map.of("MLFLOW_TRACKING_URI", "databricks")))
        .hasMessageContaining("is not an http(s) URL");
  }

  @Test
  void a_user_name_without_a_password_is_a_configuration_error_and_secrets_never_print() {
    assertThatThrownBy(
            () -> MlflowSettings.fromEnvironment(Map.of("MLFLOW_TRACKING_URI", "http://x:5000", "MLFLOW_TRACKING_USERNAME", "alice")))
        .hasMessage("only one of MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD is set");
    MlflowSettings basic = MlflowSettings.of("http://x:5000").withBasicAuth("alice", "s3cret");
    assertThat(basic.toString()).contains("alice").doesNotContain("s3cret");
  }
}
