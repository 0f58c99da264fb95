package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.TrainingLimits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ConfigTest {
  @TempDir Path tmp;

  /** No Temporal profile file of this machine leaks into a test. */
  private Map<String, String> env(String... pairs) {
    Map<String, String> env = new HashMap<>();
    env.put("TEMPORAL_CONFIG_FILE", "");
    for (int i = 0; i < pairs.length; i += 2) {
      env.put(pairs[i], pairs[i + 1]);
    }
    return env;
  }

  @Test
  void defaults_are_an_in_process_server_a_local_store_and_a_60_second_heartbeat_timeout() {
    Config config = Config.fromEnvironment(env("TIMEMACHINE_HOME", "/tmp/tm-home", "TIMEMACHINE_WORKER_ID", "host-a"));

    assertThat(config.embeddedTemporal()).isTrue();
    assertThat(config.namespace()).isEqualTo("default");
    assertThat(config.storeUri()).isEqualTo("file:///tmp/tm-home/store");
    assertThat(config.workDir()).isEqualTo(Path.of("/tmp/tm-home/work"));
    assertThat(config.hostQueue()).isEqualTo("timemachine-training@host-a");
    assertThat(config.heartbeatTimeoutSeconds()).isEqualTo(60);
    assertThat(config.worker().metricsHost()).isEqualTo("127.0.0.1");
    assertThat(config.worker().metricsPort()).isEqualTo(9464);
    assertThat(config.docker().host()).isEqualTo("unix:///var/run/docker.sock");
    assertThat(config.limits()).isEqualTo(TrainingLimits.DEFAULT);
    assertThat(config.s3().endpoint()).as("AWS itself").isNull();
    assertThat(config.s3().pathStyle()).isFalse();
    assertThat(config.s3().hasStaticCredentials()).as("the SDK's default chain").isFalse();
    assertThat(config.stackTraces()).isFalse();
    assertThatThrownBy(() -> config.mlflow().require()).as("MLflow is needed only when used")
        .hasMessageContaining("MLFLOW_TRACKING_URI is not set");
  }

  @Test
  void every_variable_lands_in_its_place_in_the_tree() {
    Config config = Config.fromEnvironment(env(
        "TEMPORAL_ADDRESS", "temporal.example.com:7233",
        "TEMPORAL_NAMESPACE", "ml",
        "TIMEMACHINE_CONTROL_QUEUE", "c",
        "TIMEMACHINE_TRAINING_QUEUE", "t",
        "TIMEMACHINE_WORKER_ID", "gpu-01",
        "TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS", "15",
        "TIMEMACHINE_METRICS_HOST", "0.0.0.0",
        "TIMEMACHINE_METRICS_PORT", "0",
        "TIMEMACHINE_HOME", "/srv/tm",
        "TIMEMACHINE_STORE", "s3://bucket/prefix",
        "TIMEMACHINE_WORK_DIR", "/scratch/tm",
        "DOCKER_HOST", "tcp://10.0.0.5:2376",
        "TIMEMACHINE_IMAGE_CHECK", " Layers ",
        "TIMEMACHINE_TRAIN_CPUS", "2.5",
        "TIMEMACHINE_TRAIN_MEMORY", "512m",
        "TIMEMACHINE_TRAIN_TIMEOUT_SECONDS", "60",
        "TIMEMACHINE_TRAIN_PIDS", "64",
        "AWS_REGION", "eu-west-1",
        "AWS_ACCESS_KEY_ID", "key",
        "AWS_SECRET_ACCESS_KEY", "secret",
        "AWS_SESSION_TOKEN", "session",
        "MLFLOW_TRACKING_URI", "http://mlflow:5050/",
        "MLFLOW_TRACKING_TOKEN", "tok",
        "MLFLOW_HTTP_REQUEST_TIMEOUT", "30",
        "TIMEMACHINE_MLFLOW_PYTHON", "/opt/mlflow/bin/python",
        "TIMEMACHINE_DEBUG", "1"));

    assertThat(config.embeddedTemporal()).isFalse();
    assertThat(config.temporalAddress()).isEqualTo("temporal.example.com:7233");
    assertThat(config.namespace()).isEqualTo("ml");
    assertThat(config.controlQueue()).isEqualTo("c");
    assertThat(config.hostQueue()).isEqualTo("t@gpu-01");
    assertThat(config.heartbeatTimeoutSeconds()).isEqualTo(15);
    assertThat(config.withLimits(config.limits()).heartbeatTimeoutSeconds()).as("kept by withLimits").isEqualTo(15);
    assertThat(config.worker().metricsHost()).isEqualTo("0.0.0.0");
    assertThat(config.worker().metricsPort()).isZero();
    assertThat(config.home()).isEqualTo(Path.of("/srv/tm"));
    assertThat(config.storeUri()).isEqualTo("s3://bucket/prefix");
    assertThat(config.workDir()).isEqualTo(Path.of("/scratch/tm"));
    assertThat(config.dockerHost()).isEqualTo("tcp://10.0.0.5:2376");
    assertThat(config.docker().checksLayers()).as("TIMEMACHINE_IMAGE_CHECK=layers").isTrue();
    assertThat(Config.fromEnvironment(env()).docker().checksLayers()).as("the default checks the manifest only").isFalse();
    assertThat(config.limits()).isEqualTo(new TrainingLimits(2.5, 512L << 20, 60, 64));
    assertThat(config.s3().region()).isEqualTo("eu-west-1");
    assertThat(config.s3().sessionToken()).isEqualTo("session");
    assertThat(config.s3().toString()).as("no secrets in logs").doesNotContain("secret").doesNotContain("session");
    assertThat(config.mlflow().require().trackingUri()).hasToString("http://mlflow:5050");
    assertThat(config.mlflow().require().token()).isEqualTo("tok");
    assertThat(config.mlflow().require().requestTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.mlflow().python()).isEqualTo(Path.of("/opt/mlflow/bin/python"));
    assertThat(config.stackTraces()).isTrue();
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource(delimiter = '|', value = {
    "TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS | 2     | TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS='2' is out of range",
    "TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS | soon  | TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS='soon' is not a whole number",
    "TIMEMACHINE_METRICS_PORT              | 70000 | TIMEMACHINE_METRICS_PORT='70000' is out of range",
    "TIMEMACHINE_TRAIN_CPUS                | two   | TIMEMACHINE_TRAIN_CPUS='two' is not a number",
    "TIMEMACHINE_TRAIN_CPUS                | 0     | TIMEMACHINE_TRAIN_CPUS='0' must be greater than 0",
    "TIMEMACHINE_TRAIN_MEMORY              | lots  | TIMEMACHINE_TRAIN_MEMORY='lots' is not a size",
    "TIMEMACHINE_TRAIN_MEMORY              | 1k    | TIMEMACHINE_TRAIN_MEMORY='1k' is too small",
    "TIMEMACHINE_TRAIN_TIMEOUT_SECONDS     | 1h    | TIMEMACHINE_TRAIN_TIMEOUT_SECONDS='1h' is not a whole number",
    "TIMEMACHINE_TRAIN_TIMEOUT_SECONDS     | 0     | TIMEMACHINE_TRAIN_TIMEOUT_SECONDS='0' is out of range",
    "TIMEMACHINE_TRAIN_PIDS                | -1    | TIMEMACHINE_TRAIN_PIDS='-1' is out of range",
    "TIMEMACHINE_STORE                     | gs://b | TIMEMACHINE_STORE='gs://b' is not a store URI",
    "TIMEMACHINE_STORE                     | s3:// | TIMEMACHINE_STORE='s3://' is not a store URI",
    "DOCKER_HOST                           | /var/run/docker.sock | DOCKER_HOST='/var/run/docker.sock' is not a Docker engine address",
    "TIMEMACHINE_IMAGE_CHECK               | deep  | TIMEMACHINE_IMAGE_CHECK='deep' is not manifest or layers",
    "TIMEMACHINE_S3_ENDPOINT               | ftp://s3.local | TIMEMACHINE_S3_ENDPOINT='ftp://s3.local' is not an http(s)://host[:port] URL",
    "AWS_ENDPOINT_URL_S3                   | http://a b | AWS_ENDPOINT_URL_S3='http://a b' is not a URL",
    "TIMEMACHINE_S3_PATH_STYLE             | yes   | TIMEMACHINE_S3_PATH_STYLE='yes' is not true or false",
    "TIMEMACHINE_S3_MULTIPART_THRESHOLD    | 8m    | TIMEMACHINE_S3_MULTIPART_THRESHOLD='8m' is too small: at least 16777216 bytes",
    "TIMEMACHINE_S3_MULTIPART_THRESHOLD    | never | TIMEMACHINE_S3_MULTIPART_THRESHOLD='never' is not a size",
    "AWS_ACCESS_KEY_ID                     | key   | only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set",
    "TEMPORAL_ADDRESS                      | http://127.0.0.1:7233 | the Temporal address 'http://127.0.0.1:7233' (TEMPORAL_ADDRESS) is a URL, not host:port",
    "TEMPORAL_CONFIG_FILE                  | /nonexistent/temporal.toml | TEMPORAL_CONFIG_FILE='/nonexistent/temporal.toml' is not a file",
  })
  void a_bad_value_is_one_configuration_error_naming_the_variable(String name, String value, String message) {
    assertConfigurationError(() -> Config.fromEnvironment(env(name, value)), message);
  }

  @Test
  void a_bad_mlflow_setting_is_a_configuration_error_when_mlflow_is_used() {
    Config config = Config.fromEnvironment(env("MLFLOW_TRACKING_URI", "http://x:5000", "MLFLOW_HTTP_REQUEST_TIMEOUT", "2m"));

    assertConfigurationError(() -> config.mlflow().require(), "MLFLOW_HTTP_REQUEST_TIMEOUT='2m' is not a whole number of seconds");
  }

  @Test
  void the_multipart_threshold_is_64_MiB_a_size_of_at_least_one_part_or_off() {
    assertThat(Config.fromEnvironment(env()).s3().transfer().threshold()).isEqualTo(64L << 20);
    assertThat(Config.fromEnvironment(env("TIMEMACHINE_S3_MULTIPART_THRESHOLD", "1g")).s3().transfer().threshold())
        .isEqualTo(1L << 30);
    assertThat(Config.fromEnvironment(env("TIMEMACHINE_S3_MULTIPART_THRESHOLD", "OFF")).s3().transfer().threshold())
        .isEqualTo(Long.MAX_VALUE);
    assertThat(Config.fromEnvironment(env("TIMEMACHINE_S3_MULTIPART_THRESHOLD", "off")).s3().toString())
        .contains("multipart off");
  }

  @Test
  void the_s3_endpoint_is_the_alias_then_the_sdks_service_variable_then_its_global_one() {
    assertThat(Config.fromEnvironment(env("AWS_ENDPOINT_URL", "http://global:1")).s3())
        .satisfies(s3 -> assertThat(s3.endpoint()).isEqualTo("http://global:1"))
        .satisfies(s3 -> assertThat(s3.pathStyle()).as("path-style with an endpoint").isTrue());
    assertThat(Config.fromEnvironment(env("AWS_ENDPOINT_URL", "http://global:1", "AWS_ENDPOINT_URL_S3", "http://s3:2")).s3())
        .satisfies(s3 -> assertThat(s3.endpoint()).isEqualTo("http://s3:2"))
        .satisfies(s3 -> assertThat(s3.endpointSource()).isEqualTo("AWS_ENDPOINT_URL_S3"));
    assertThat(Config.fromEnvironment(env("AWS_ENDPOINT_URL_S3", "http://s3:2", "TIMEMACHINE_S3_ENDPOINT", "http://alias:3")).s3())
        .satisfies(s3 -> assertThat(s3.endpoint()).as("the alias wins").isEqualTo("http://alias:3"))
        .satisfies(s3 -> assertThat(s3.endpointSource()).isEqualTo("TIMEMACHINE_S3_ENDPOINT"));
    assertThat(Config.fromEnvironment(env("AWS_ENDPOINT_URL_S3", "http://s3:2", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")).s3().endpoint())
        .as("the SDK's switch to ignore configured endpoints").isNull();
    assertThat(Config.fromEnvironment(env("TIMEMACHINE_S3_ENDPOINT", "http://alias:3", "TIMEMACHINE_S3_PATH_STYLE", "false")).s3().pathStyle())
        .isFalse();
  }

  @Test
  void the_s3_region_is_aws_region_then_aws_default_region_then_the_aws_config_profile_then_us_east_1() throws Exception {
    Path awsConfig = Files.writeString(tmp.resolve("aws-config"), "[default]\nregion = ap-south-1\n[profile team]\nregion = eu-north-1\n");

    assertThat(Config.fromEnvironment(env("AWS_CONFIG_FILE", awsConfig.toString())).s3().region()).isEqualTo("ap-south-1");
    assertThat(Config.fromEnvironment(env("AWS_CONFIG_FILE", awsConfig.toString(), "AWS_PROFILE", "team")).s3().region())
        .isEqualTo("eu-north-1");
    assertThat(Config.fromEnvironment(env("AWS_CONFIG_FILE", awsConfig.toString(), "AWS_DEFAULT_REGION", "us-west-2")).s3().region())
        .isEqualTo("us-west-2");
    assertThat(Config.fromEnvironment(env("AWS_DEFAULT_REGION", "us-west-2", "AWS_REGION", "eu-west-1")).s3().region())
        .isEqualTo("eu-west-1");
    assertThat(Config.fromEnvironment(env("AWS_CONFIG_FILE", tmp.resolve("none").toString())).s3().region()).isEqualTo("us-east-1");
  }

  @Test
  void temporal_comes_from_an_envconfig_toml_profile_and_variables_override_it() throws Exception {
    Path toml = Files.writeString(tmp.resolve("temporal.toml"), """
        [profile.default]
        address = "localhost:7233"

        [profile.prod]
        address = "prod.tmprl.cloud:7233"
        namespace = "ml.a1b2c"
        api_key = "secret-key"
        """);

    TemporalSettings byDefault = Config.fromEnvironment(env("TEMPORAL_CONFIG_FILE", toml.toString())).temporal();
    assertThat(byDefault.address()).isEqualTo("localhost:7233");
    assertThat(byDefault.namespace()).isEqualTo("default");
    assertThat(byDefault.tls()).isFalse();

    TemporalSettings prod = Config.fromEnvironment(env("TEMPORAL_CONFIG_FILE", toml.toString(), "TEMPORAL_PROFILE", "prod")).temporal();
    assertThat(prod.address()).isEqualTo("prod.tmprl.cloud:7233");
    assertThat(prod.namespace()).isEqualTo("ml.a1b2c");
    assertThat(prod.tls()).as("an API key implies TLS").isTrue();
    assertThat(prod.describe()).contains("prod.tmprl.cloud:7233", "ml.a1b2c", "TLS", "API key", "profile prod of " + toml)
        .doesNotContain("secret-key");
    assertThat(prod.toString()).doesNotContain("secret-key");
    assertThat(prod.serviceStubsOptions(new com.uber.m3.tally.NoopScope()).getTarget()).isEqualTo("prod.tmprl.cloud:7233");

    TemporalSettings overridden = Config.fromEnvironment(env(
        "TEMPORAL_CONFIG_FILE", toml.toString(), "TEMPORAL_PROFILE", "prod",
        "TEMPORAL_ADDRESS", "127.0.0.1:7233", "TEMPORAL_TLS", "false", "TEMPORAL_NAMESPACE", "dev")).temporal();
    assertThat(overridden.address()).isEqualTo("127.0.0.1:7233");
    assertThat(overridden.namespace()).isEqualTo("dev");
    assertThat(overridden.tls()).isFalse();
    assertThat(overridden.source()).isEqualTo("TEMPORAL_ADDRESS");
  }

  @Test
  void a_profile_without_an_address_and_no_variable_is_the_in_process_server() throws Exception {
    Path toml = Files.writeString(tmp.resolve("temporal.toml"), "[profile.default]\nnamespace = \"ml\"\n");

    Config config = Config.fromEnvironment(env("TEMPORAL_CONFIG_FILE", toml.toString(), "TEMPORAL_ADDRESS", " "));

    assertThat(config.embeddedTemporal()).isTrue();
    assertThat(config.namespace()).isEqualTo("ml");
  }

  @Test
  void a_missing_profile_a_broken_file_and_unreadable_tls_files_are_configuration_errors() throws Exception {
    Path toml = Files.writeString(tmp.resolve("temporal.toml"), "[profile.default]\naddress = \"localhost:7233\"\n");
    assertConfigurationError(
        () -> Config.fromEnvironment(env("TEMPORAL_CONFIG_FILE", toml.toString(), "TEMPORAL_PROFILE", "staging")),
        "TEMPORAL_PROFILE='staging' is not a profile in " + toml);

    Path broken = Files.writeString(tmp.resolve("broken.toml"), "[profile.default\naddress = ");
    assertConfigurationError(
        () -> Config.fromEnvironment(env("TEMPORAL_CONFIG_FILE", broken.toString())),
        "the Temporal profile file " + broken + " cannot be read");

    TemporalSettings tls = Config.fromEnvironment(env(
        "TEMPORAL_ADDRESS", "x:7233", "TEMPORAL_TLS_CLIENT_CERT_PATH", tmp.resolve("missing.pem").toString(),
        "TEMPORAL_TLS_CLIENT_KEY_PATH", tmp.resolve("missing.key").toString())).temporal();
    assertConfigurationError(() -> tls.serviceStubsOptions(new com.uber.m3.tally.NoopScope()),
        "the Temporal TLS settings (TEMPORAL_ADDRESS) do not work");
  }

  private static void assertConfigurationError(ThrowingCallable call, String message) {
    assertThatThrownBy(call)
        .isInstanceOf(TimemachineException.class)
        .hasMessageStartingWith(message)
        .satisfies(e -> assertThat(((TimemachineException) e).type()).isEqualTo(ErrorType.CONFIGURATION))
        .satisfies(e -> assertThat(((TimemachineException) e).hint()).as("what to do").isNotBlank())
        .satisfies(e -> assertThat(e.getMessage()).as("one line").doesNotContain("\n"));
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
