package dev.timemachine.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The team stack (deploy/docker-compose.yml) as Debian's docker-compose 1.29.2 reads
 * it with the values of .env.example: the file must be valid, and what `docker-compose config`
 * resolves must keep the promises README.md makes (pinned images, healthchecks, named volumes,
 * loopback ports, a work directory at the same path on the host and in the training worker, workers
 * wired to the stack's own Temporal, S3 and MLflow). Nothing is started: the images cannot be pulled
 * here, and the file's correctness is what CI can check everywhere.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ComposeFileIT {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Path COMPOSE_FILE = ROOT.resolve("deploy/docker-compose.yml");
  private static final Path ENV_EXAMPLE = ROOT.resolve("deploy/.env.example");
  private static final String SETUP_LABEL = "dev.timemachine.role";
  private static final Pattern VERSION_TAG = Pattern.compile("v?\\d+\\.\\d+(\\.\\d+)?(-[A-Za-z0-9.]+)?");
  private static final Pattern PORT = Pattern.compile("(?<ip>[0-9.]+):(?<host>\\d+):(?<container>\\d+)(/(tcp|udp))?");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  @TempDir static Path tmp;
  private Map<String, String> envExample;
  private JsonNode config;
  private JsonNode services;

  record Result(int exit, String out, String err) {}

  @BeforeAll
  void render_the_stack_with_the_example_settings() throws Exception {
    requireDockerCompose();
    envExample = readEnvFile(ENV_EXAMPLE);
    Result result = config(COMPOSE_FILE, ENV_EXAMPLE);
    assertThat(result.exit())
        .as("docker-compose config on %s with %s exits 0; stderr:%n%s", COMPOSE_FILE, ENV_EXAMPLE, result.err())
        .isZero();
    config = YAML.readTree(result.out());
    services = config.path("services");
  }

  @Test
  void the_file_is_valid_and_describes_the_whole_stack() {
    assertThat(names(services))
        .as("services of the team stack")
        .containsExactlyInAnyOrder(
            "postgresql", "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", "s3", "s3-buckets",
            "registry", "mlflow", "worker-control", "worker-training");
  }

  @Test
  void every_image_is_pinned_to_an_explicit_version_or_built_from_this_repository() {
    for (String name : names(services)) {
      JsonNode service = services.path(name);
      String image = service.path("image").asText();
      if (service.has("build")) {
        assertThat(Path.of(service.path("build").path("context").asText()))
            .as("%s is built from the repository root", name)
            .isEqualTo(ROOT);
        assertThat(service.path("build").path("dockerfile").asText()).as("%s's Dockerfile", name).isEqualTo("Dockerfile");
        assertThat(Files.isRegularFile(ROOT.resolve("Dockerfile"))).as("Dockerfile at the repository root").isTrue();
        assertThat(image).as("%s's image name (the tag docker-compose gives the build)", name)
            .isEqualTo(envExample.get("TIMEMACHINE_WORKER_IMAGE"));
        continue;
      }
      assertThat(image).as("%s names an image", name).isNotBlank().doesNotContain("@");
      String lastPart = image.substring(image.lastIndexOf('/') + 1);
      assertThat(lastPart).as("%s's image %s has a tag", name, image).contains(":");
      String tag = lastPart.substring(lastPart.indexOf(':') + 1);
      assertThat(tag).as("%s's image %s is pinned to an exact version (not latest, not a major alone)", name, image)
          .matches(VERSION_TAG);
    }
  }

  @Test
  void every_long_running_service_has_a_healthcheck_and_every_setup_service_is_awaited() {
    Map<String, List<String>> awaitedBy = new HashMap<>();
    for (String name : names(services)) {
      JsonNode dependsOn = services.path(name).path("depends_on");
      assertThat(dependsOn.isObject() || dependsOn.isMissingNode())
          .as("%s's depends_on uses conditions (the long form)", name)
          .isTrue();
      for (String dependency : names(dependsOn)) {
        String condition = dependsOn.path(dependency).path("condition").asText();
        if (isSetup(dependency)) {
          assertThat(condition).as("%s waits for setup service %s to finish", name, dependency)
              .isEqualTo("service_completed_successfully");
          awaitedBy.computeIfAbsent(dependency, d -> new ArrayList<>()).add(name);
        } else {
          assertThat(condition).as("%s waits for %s to be healthy", name, dependency).isEqualTo("service_healthy");
        }
      }
    }
    for (String name : names(services)) {
      JsonNode service = services.path(name);
      if (isSetup(name)) {
        assertThat(service.path("restart").asText()).as("setup service %s retries a failed run, then stops", name)
            .startsWith("on-failure");
        assertThat(service.has("ports")).as("setup service %s publishes no port", name).isFalse();
        assertThat(awaitedBy.get(name)).as("services waiting for setup service %s", name).isNotEmpty();
      } else {
        JsonNode test = service.path("healthcheck").path("test");
        assertThat(test.isArray() && test.size() > 1).as("%s has a healthcheck command", name).isTrue();
        assertThat(test.get(0).asText()).as("%s's healthcheck runs a command", name).isIn("CMD", "CMD-SHELL");
        assertThat(service.path("healthcheck").path("disable").asBoolean(false))
            .as("%s's healthcheck is not disabled", name)
            .isFalse();
        assertThat(service.path("restart").asText()).as("%s restarts after a crash or reboot", name)
            .isEqualTo("unless-stopped");
      }
    }
  }

  @Test
  void state_lives_in_named_volumes_and_nothing_else_is_mounted_from_the_host_but_config() {
    Set<String> declared = names(config.path("volumes"));
    Map<String, String> stateDirectories =
        Map.of(
            "postgresql", "/var/lib/postgresql/data",
            "s3", "/data",
            "registry", "/var/lib/registry",
            "mlflow", "/mlflow/artifacts");
    stateDirectories.forEach(
        (name, directory) ->
            assertThat(mounts(name))
                .as("%s keeps %s in a named volume", name, directory)
                .anySatisfy(
                    mount -> {
                      assertThat(mount.type()).isEqualTo("volume");
                      assertThat(mount.target()).isEqualTo(directory);
                      assertThat(declared).contains(mount.source());
                    }));

    String workDir = envExample.get("TIMEMACHINE_WORK_DIR");
    for (String name : names(services)) {
      for (Mount mount : mounts(name)) {
        switch (mount.type()) {
          case "volume" -> assertThat(declared)
              .as("%s mounts %s from a declared named volume (no anonymous volumes)", name, mount.target())
              .contains(mount.source());
          case "bind" -> {
            boolean configFile = Path.of(mount.source()).startsWith(ROOT.resolve("deploy")) && mount.readOnly();
            boolean dockerSocket = mount.source().equals("/var/run/docker.sock") && name.equals("worker-training");
            boolean workDirectory = mount.source().equals(workDir) && name.equals("worker-training");
            boolean signingKeys =
                mount.source().equals(envExample.get("TIMEMACHINE_KEYS_DIR")) && name.equals("worker-control")
                    && mount.readOnly();
            assertThat(configFile || dockerSocket || workDirectory || signingKeys)
                .as("%s's bind mount %s -> %s is read-only config from deploy/, the training worker's Docker socket "
                    + "or its work directory, or the control worker's read-only key directory", name, mount.source(),
                    mount.target())
                .isTrue();
            if (configFile) {
              assertThat(Files.exists(Path.of(mount.source()))).as("config %s mounted into %s exists", mount.source(), name)
                  .isTrue();
            }
          }
          default -> throw new AssertionError(name + " has a mount of unexpected type " + mount);
        }
      }
    }
  }

  @Test
  void published_ports_are_bound_to_loopback() {
    Map<String, Integer> published = new TreeMap<>();
    for (String name : names(services)) {
      for (JsonNode port : iterable(services.path(name).path("ports"))) {
        Matcher m = PORT.matcher(port.asText());
        assertThat(m.matches()).as("%s's port %s names a host address, a host port and a container port", name, port)
            .isTrue();
        assertThat(m.group("ip")).as("%s's port %s is bound to", name, port).isEqualTo("127.0.0.1");
        published.put(name + ":" + m.group("container"), Integer.parseInt(m.group("host")));
      }
    }
    assertThat(published)
        .as("ports published on the host, by service and container port")
        .containsOnly(
            Map.entry("temporal:7233", port("TEMPORAL_PORT")),
            Map.entry("temporal-ui:8080", port("TEMPORAL_UI_PORT")),
            Map.entry("s3:9000", port("S3_PORT")),
            Map.entry("registry:5000", port("REGISTRY_PORT")),
            Map.entry("mlflow:5000", port("MLFLOW_PORT")),
            Map.entry("worker-control:9464", port("CONTROL_METRICS_PORT")),
            Map.entry("worker-training:9464", port("TRAINING_METRICS_PORT")));
    assertThat(new TreeSet<>(published.values())).as("published host ports are distinct").hasSize(published.size());
  }

  @Test
  void one_setting_moves_every_published_port_to_another_address() throws Exception {
    Map<String, String> settings = new LinkedHashMap<>(envExample);
    settings.put("TIMEMACHINE_PUBLISH_ADDR", "10.1.2.3");
    Path env = writeEnvFile(settings);
    Result result = config(COMPOSE_FILE, env);
    assertThat(result.exit()).as("config with TIMEMACHINE_PUBLISH_ADDR=10.1.2.3; stderr:%n%s", result.err()).isZero();
    JsonNode moved = YAML.readTree(result.out()).path("services");
    List<String> ports = new ArrayList<>();
    names(moved).forEach(name -> iterable(moved.path(name).path("ports")).forEach(p -> ports.add(p.asText())));
    assertThat(ports).as("published ports").hasSize(7).allSatisfy(p -> assertThat(p).startsWith("10.1.2.3:"));
  }

  @Test
  void the_training_worker_sees_its_work_directory_at_the_same_path_as_the_host_engine() {
    String workDir = envExample.get("TIMEMACHINE_WORK_DIR");
    assertThat(Path.of(workDir).isAbsolute()).as("TIMEMACHINE_WORK_DIR in .env.example is an absolute path").isTrue();
    JsonNode training = services.path("worker-training");
    assertThat(training.path("environment").path("TIMEMACHINE_WORK_DIR").asText())
        .as("the training worker's TIMEMACHINE_WORK_DIR")
        .isEqualTo(workDir);
    assertThat(mounts("worker-training"))
        .as("the training worker's mounts")
        .contains(new Mount("bind", workDir, workDir, false))
        .contains(new Mount("bind", "/var/run/docker.sock", "/var/run/docker.sock", false));
    assertThat(training.path("environment").path("DOCKER_HOST").asText())
        .as("the training worker drives the host engine through the mounted socket")
        .isEqualTo("unix:///var/run/docker.sock");
    assertThat(training.path("command").toString()).as("the training worker's command").isEqualTo(
        "[\"worker\",\"--queues\",\"training\"]");

    JsonNode control = services.path("worker-control");
    assertThat(mounts("worker-control"))
        .as("the control worker needs neither Docker nor a work directory: only its signing key, read-only")
        .containsExactly(new Mount("bind", envExample.get("TIMEMACHINE_KEYS_DIR"), "/keys", true));
    assertThat(control.path("environment").path("TIMEMACHINE_SIGNING_KEY").asText())
        .as("the control worker's signing key").isEqualTo("/keys/timemachine-signing.key");
    assertThat(control.path("command").toString()).as("the control worker's command").isEqualTo(
        "[\"worker\",\"--queues\",\"control\"]");
  }

  @Test
  void both_workers_use_the_stacks_temporal_s3_and_mlflow_with_stable_ids() {
    JsonNode s3 = services.path("s3").path("environment");
    String bucket = services.path("s3-buckets").path("environment").path("S3_BUCKETS").asText();
    String mlflowPort = argument(services.path("mlflow").path("command"), "--port=");
    Set<String> workerIds = new TreeSet<>();
    for (String worker : List.of("worker-control", "worker-training")) {
      JsonNode env = services.path(worker).path("environment");

      URI temporal = URI.create("tcp://" + env.path("TEMPORAL_ADDRESS").asText());
      assertThat(temporal.getHost()).as("%s's TEMPORAL_ADDRESS host", worker).isEqualTo("temporal");
      assertThat(temporal.getPort()).as("%s's TEMPORAL_ADDRESS port (the frontend's gRPC port)", worker).isEqualTo(7233);
      assertThat(services.path("temporal").path("healthcheck").path("test").toString())
          .as("the temporal service checks the port the workers use")
          .contains("7233");

      assertThat(env.path("TIMEMACHINE_STORE").asText()).as("%s's TIMEMACHINE_STORE", worker)
          .isEqualTo("s3://" + bucket)
          .isEqualTo("s3://" + envExample.get("TIMEMACHINE_S3_BUCKET"));
      URI s3Endpoint = URI.create(env.path("TIMEMACHINE_S3_ENDPOINT").asText());
      assertThat(s3Endpoint.getHost()).as("%s's S3 endpoint host", worker).isEqualTo("s3");
      assertThat("http://0.0.0.0:" + s3Endpoint.getPort()).as("%s's S3 endpoint port is where the s3 service listens", worker)
          .isEqualTo(s3.path("S3PROXY_ENDPOINT").asText());
      assertThat(env.path("AWS_ACCESS_KEY_ID").asText()).as("%s's S3 access key", worker)
          .isEqualTo(s3.path("S3PROXY_IDENTITY").asText())
          .isEqualTo(envExample.get("S3_ACCESS_KEY"));
      assertThat(env.path("AWS_SECRET_ACCESS_KEY").asText()).as("%s's S3 secret key", worker)
          .isEqualTo(s3.path("S3PROXY_CREDENTIAL").asText())
          .isEqualTo(envExample.get("S3_SECRET_KEY"));

      URI mlflow = URI.create(env.path("MLFLOW_TRACKING_URI").asText());
      assertThat(mlflow.getHost()).as("%s's MLFLOW_TRACKING_URI host", worker).isEqualTo("mlflow");
      assertThat(String.valueOf(mlflow.getPort())).as("%s's MLFLOW_TRACKING_URI port is the server's --port", worker)
          .isEqualTo(mlflowPort);
      assertThat(argument(services.path("mlflow").path("command"), "--allowed-hosts="))
          .as("MLflow accepts the Host header the workers send")
          .contains("mlflow:" + mlflowPort);

      assertThat(env.path("TEMPORAL_NAMESPACE").asText()).as("%s's namespace is the one temporal-namespace creates", worker)
          .isEqualTo(services.path("temporal-namespace").path("environment").path("TEMPORAL_NAMESPACE").asText());
      assertThat(env.path("TIMEMACHINE_METRICS_HOST").asText()).as("%s's metrics endpoint is reachable from outside", worker)
          .isEqualTo("0.0.0.0");
      workerIds.add(env.path("TIMEMACHINE_WORKER_ID").asText());
    }
    assertThat(workerIds).as("explicit, distinct worker ids (a container's host name changes on every re-create)")
        .containsExactlyInAnyOrder(
            envExample.get("TIMEMACHINE_CONTROL_WORKER_ID"), envExample.get("TIMEMACHINE_TRAINING_WORKER_ID"));
  }

  @Test
  void a_missing_secret_stops_docker_compose_with_a_message_naming_it() throws Exception {
    Map<String, String> settings = new LinkedHashMap<>(envExample);
    settings.remove("POSTGRES_PASSWORD");
    Result result = config(COMPOSE_FILE, writeEnvFile(settings));
    assertThat(result.exit()).as("docker-compose config without POSTGRES_PASSWORD").isNotZero();
    assertThat(result.err()).as("docker-compose's message").contains("set POSTGRES_PASSWORD in .env");
  }

  @Test
  void an_invalid_compose_file_makes_docker_compose_config_fail() throws Exception {
    Path broken = tmp.resolve("docker-compose.yml");
    Files.writeString(
        broken,
        "services:\n"
            + "  temporal:\n"
            + "    image: temporalio/server:1.31.0\n"
            + "    healthcheck:\n"
            + "      tset: [\"CMD\", \"true\"]\n",
        StandardCharsets.UTF_8);
    Result result = config(broken, ENV_EXAMPLE);
    assertThat(result.exit()).as("docker-compose config on a file with a misspelt healthcheck key").isNotZero();
    assertThat(result.err()).as("docker-compose's message names the service and the key")
        .contains("temporal")
        .contains("tset");
  }

  /** One mount of a service, in either of the two forms `docker-compose config` prints. */
  record Mount(String type, String source, String target, boolean readOnly) {}

  private List<Mount> mounts(String service) {
    List<Mount> mounts = new ArrayList<>();
    for (JsonNode volume : iterable(services.path(service).path("volumes"))) {
      if (volume.isTextual()) {
        // Short form, as printed: SOURCE:TARGET:MODE.
        String[] parts = volume.asText().split(":");
        assertThat(parts).as("%s's volume %s has the form SOURCE:TARGET:MODE", service, volume).hasSize(3);
        String type = parts[0].startsWith("/") ? "bind" : "volume";
        mounts.add(new Mount(type, parts[0], parts[1], parts[2].equals("ro")));
      } else {
        mounts.add(
            new Mount(
                volume.path("type").asText(), volume.path("source").asText(null), volume.path("target").asText(),
                volume.path("read_only").asBoolean(false)));
      }
    }
    return mounts;
  }

  private boolean isSetup(String service) {
    return "setup".equals(services.path(service).path("labels").path(SETUP_LABEL).asText());
  }

  private int port(String variable) {
    return Integer.parseInt(envExample.get(variable));
  }

  private static String argument(JsonNode command, String prefix) {
    for (JsonNode part : iterable(command)) {
      if (part.asText().startsWith(prefix)) {
        return part.asText().substring(prefix.length());
      }
    }
    throw new AssertionError("no " + prefix + " in " + command);
  }

  private static Set<String> names(JsonNode object) {
    Set<String> names = new TreeSet<>();
    object.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static Iterable<JsonNode> iterable(JsonNode node) {
    return node::elements;
  }

  private Path writeEnvFile(Map<String, String> settings) throws IOException {
    StringBuilder text = new StringBuilder();
    settings.forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
    return Files.writeString(Files.createTempFile(tmp, "settings", ".env"), text, StandardCharsets.UTF_8);
  }

  private static Map<String, String> readEnvFile(Path file) throws IOException {
    Map<String, String> values = new LinkedHashMap<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      String trimmed = line.strip();
      if (trimmed.isEmpty() || trimmed.startsWith("#")) {
        continue;
      }
      int eq = trimmed.indexOf('=');
      assertThat(eq).as("line of %s: %s", file, line).isPositive();
      values.put(trimmed.substring(0, eq), trimmed.substring(eq + 1));
    }
    return values;
  }

  /**
   * Runs {@code docker-compose config} in a clean environment, so that variables of the machine
   * running the test cannot change what the settings file says.
   */
  private Result config(Path composeFile, Path envFile) throws IOException, InterruptedException {
    ProcessBuilder builder =
        new ProcessBuilder("docker-compose", "--env-file", envFile.toString(), "-f", composeFile.toString(), "config")
            .directory(composeFile.getParent().toFile());
    Map<String, String> env = builder.environment();
    String path = env.get("PATH");
    env.clear();
    env.put("PATH", path);
    env.put("HOME", System.getProperty("java.io.tmpdir"));
    env.put("LANG", "C.UTF-8");
    Path out = Files.createTempFile(tmp, "stdout", ".txt");
    Path err = Files.createTempFile(tmp, "stderr", ".txt");
    Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(process.waitFor(2, TimeUnit.MINUTES)).as("docker-compose config finished").isTrue();
    return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
  }

  /** Integration tests are never skipped: without docker-compose this fails and says how to get it. */
  private static void requireDockerCompose() {
    String path = System.getenv().getOrDefault("PATH", "");
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "docker-compose"))) {
        return;
      }
    }
    throw new IllegalStateException(
        "docker-compose is not on PATH. Install Debian's docker-compose 1.29.2 (apt-get install -y docker-compose), "
            + "or run scripts/services.sh up, which installs it.");
  }
}
