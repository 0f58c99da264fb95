package dev.timemachine.app;

import dev.timemachine.adapters.store.S3Settings;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.SandboxSettings;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.registries.mlflow.MlflowSettings;
import dev.timemachine.workflow.ReplayRequest;
import dev.timemachine.workflow.TaskQueues;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import software.amazon.awssdk.profiles.ProfileFile;
import software.amazon.awssdk.profiles.ProfileFileSystemSetting;
import software.amazon.awssdk.profiles.ProfileProperty;

/**
 * Every setting of timemachine, read once from the environment (the twelve-factor way, which is also
 * how docker-compose passes settings) into one immutable tree, and validated where it enters: a bad
 * value is a configuration error naming the variable. The rest of the program gets typed settings
 * from here; {@link #fromEnvironment()} is the only place that reads the process environment. Each
 * variable is in README.md's configuration table.
 *
 * <p>The flat accessors ({@link #controlQueue()}, {@link #storeUri()}, …) are shortcuts into the tree
 * for the callers that predate it.
 *
 * @param stackTraces {@code TIMEMACHINE_DEBUG}: print stack traces of unexpected errors
 */
public record Config(
    TemporalSettings temporal,
    WorkerSettings worker,
    StoreSettings store,
    S3Settings s3,
    DockerSettings docker,
    TrainingLimits limits,
    MlflowConfig mlflow,
    boolean stackTraces) {

  /** The process environment: the one {@code System.getenv} of timemachine. */
  public static Config fromEnvironment() {
    return fromEnvironment(processEnvironment());
  }

  /** Whether {@code TIMEMACHINE_DEBUG} asks for stack traces, without reading (or failing on) the rest. */
  /** Whether the CLI prints where its time went on stderr at exit ({@code TIMEMACHINE_TIMINGS=1}; bench/replay.sh). */
  public static boolean timingsRequested() {
    String value = new EnvReader(processEnvironment()).optional("TIMEMACHINE_TIMINGS");
    return value != null && !value.equals("0");
  }

  public static boolean stackTracesRequested() {
    return new EnvReader(processEnvironment()).optional("TIMEMACHINE_DEBUG") != null;
  }

  /**
   * Whether errors are to be printed as one JSON line on stderr ({@code TIMEMACHINE_ERROR_FORMAT=json}),
   * for scripts that branch on the kind; anything but {@code json} or {@code text} is refused.
   */
  public static boolean jsonErrorsRequested() {
    String format = new EnvReader(processEnvironment()).optional("TIMEMACHINE_ERROR_FORMAT");
    if (format == null || format.equalsIgnoreCase("text")) {
      return false;
    }
    return format.equalsIgnoreCase("json");
  }

  private static Map<String, String> processEnvironment() {
    return System.getenv();
  }

  public static Config fromEnvironment(Map<String, String> environment) {
    EnvReader env = new EnvReader(environment);
    Path userHome = Path.of(System.getProperty("user.home"));
    Path home = Path.of(env.string("TIMEMACHINE_HOME", userHome.resolve(".timemachine").toString())).toAbsolutePath();
    StoreSettings store = new StoreSettings(
        home,
        storeUri(env, home),
        Path.of(env.string("TIMEMACHINE_WORK_DIR", home.resolve("work").toString())).toAbsolutePath(),
        dataCache(env));
    WorkerSettings worker = new WorkerSettings(
        env.string("TIMEMACHINE_CONTROL_QUEUE", TaskQueues.CONTROL),
        env.string("TIMEMACHINE_TRAINING_QUEUE", TaskQueues.TRAINING),
        env.string("TIMEMACHINE_WORKER_ID", hostname()),
        (int) env.wholeNumber(
            "TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS", ReplayRequest.DEFAULT_HEARTBEAT_TIMEOUT_SECONDS, 5, 3600),
        env.string("TIMEMACHINE_METRICS_HOST", "127.0.0.1"),
        (int) env.wholeNumber("TIMEMACHINE_METRICS_PORT", 9464, 0, 65535),
        parseDeadline(env.map(), "TIMEMACHINE_TRANSIENT_DEADLINE", ReplayRequest.DEFAULT_TRANSIENT_DEADLINE),
        env.optional("TIMEMACHINE_SIGNING_KEY"),
        env.optional(WebhookAlerts.VARIABLE),
        parseDeadline(env.map(), "TIMEMACHINE_HOST_PICKUP_TIMEOUT", ReplayRequest.DEFAULT_HOST_PICKUP_TIMEOUT));
    TrainingLimits defaults = TrainingLimits.DEFAULT;
    TrainingLimits limits = new TrainingLimits(
        env.positiveNumber("TIMEMACHINE_TRAIN_CPUS", defaults.cpus()),
        env.size("TIMEMACHINE_TRAIN_MEMORY", defaults.memoryBytes(), 6L << 20),
        env.wholeNumber("TIMEMACHINE_TRAIN_TIMEOUT_SECONDS", defaults.timeoutSeconds(), 1, TrainingLimits.MAX_TIMEOUT_SECONDS),
        (int) env.wholeNumber("TIMEMACHINE_TRAIN_PIDS", defaults.pidsLimit(), 1, Integer.MAX_VALUE),
        SandboxSettings.strict(
            env.optional(SandboxSettings.USER_VARIABLE),
            env.size(SandboxSettings.MAX_OUTPUT_VARIABLE, SandboxSettings.DEFAULT_MAX_OUTPUT_BYTES, 1L << 20)));
    return new Config(
        TemporalSettings.fromEnvironment(env.map(), userHome),
        worker,
        store,
        s3(env, userHome),
        docker(env),
        limits,
        mlflow(env, userHome),
        env.optional("TIMEMACHINE_DEBUG") != null);
  }

  private static String storeUri(EnvReader env, Path home) {
    String uri = env.string("TIMEMACHINE_STORE", home.resolve("store").toUri().toString());
    boolean s3 = uri.startsWith("s3://");
    if (s3 && uri.substring("s3://".length()).replaceAll("/.*", "").isEmpty()
        || !s3 && !uri.startsWith("file:") && uri.contains("://")) {
      throw EnvReader.bad("TIMEMACHINE_STORE", uri, "is not a store URI",
          "TIMEMACHINE_STORE=s3://bucket/prefix or file:///var/lib/timemachine/store");
    }
    return uri;
  }

  private static String dataCache(EnvReader env) {
    String mode = env.string("TIMEMACHINE_DATA_CACHE", "on").strip().toLowerCase(java.util.Locale.ROOT);
    if (!java.util.Set.of("on", "off", "rehash").contains(mode)) {
      throw EnvReader.bad("TIMEMACHINE_DATA_CACHE", mode, "is not on, off or rehash", "TIMEMACHINE_DATA_CACHE=on");
    }
    return mode;
  }

  private static DockerSettings docker(EnvReader env) {
    String host = env.string("DOCKER_HOST", DockerSettings.DEFAULT_HOST);
    if (!host.matches("(unix|tcp|npipe)://.+")) {
      throw EnvReader.bad("DOCKER_HOST", host, "is not a Docker engine address",
          "DOCKER_HOST=unix:///var/run/docker.sock or tcp://HOST:2376");
    }
    String check = env.string("TIMEMACHINE_IMAGE_CHECK", "manifest").strip().toLowerCase(java.util.Locale.ROOT);
    if (!java.util.Set.of("manifest", "layers").contains(check)) {
      throw EnvReader.bad("TIMEMACHINE_IMAGE_CHECK", check, "is not manifest or layers", "TIMEMACHINE_IMAGE_CHECK=manifest");
    }
    return new DockerSettings(host, check);
  }

  /**
   * S3 as the AWS SDK would configure itself from these variables, plus timemachine's alias and
   * defaults. Endpoint: {@code TIMEMACHINE_S3_ENDPOINT} (the alias, wins), else the SDK's standard
   * {@code AWS_ENDPOINT_URL_S3}, else {@code AWS_ENDPOINT_URL} (neither if {@code
   * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true}), else whatever the SDK's own chain finds (the {@code
   * aws.endpointUrlS3} system property, {@code endpoint_url} in the AWS config file), else AWS.
   * Region: {@code AWS_REGION}, else {@code AWS_DEFAULT_REGION}, else the AWS config file's profile,
   * else {@code us-east-1} (never instance metadata). Credentials: the static pair (with {@code
   * AWS_SESSION_TOKEN}) if given, else the SDK's default chain. Reading the endpoint and pair here,
   * from the map, rather than leaving them to the SDK's reading of the process environment keeps the
   * tree the whole truth: a test's map, the path-style default and every error message agree.
   */
  static S3Settings s3(EnvReader env, Path userHome) {
    String endpointVariable = null;
    String endpoint = null;
    for (String name : new String[] {"TIMEMACHINE_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
      if (!name.equals("TIMEMACHINE_S3_ENDPOINT") && Boolean.TRUE.equals(env.bool("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))) {
        break;
      }
      URI uri = env.httpUrl(name, "http://127.0.0.1:9000");
      if (uri != null) {
        endpointVariable = name;
        endpoint = uri.toString();
        break;
      }
    }
    Boolean pathStyle = env.bool("TIMEMACHINE_S3_PATH_STYLE");
    String region = env.optional("AWS_REGION");
    if (region == null) {
      region = env.optional("AWS_DEFAULT_REGION");
    }
    if (region == null) {
      region = profileRegion(env, userHome);
    }
    String accessKey = env.optional("AWS_ACCESS_KEY_ID");
    String secretKey = env.optional("AWS_SECRET_ACCESS_KEY");
    if ((accessKey == null) != (secretKey == null)) {
      throw TimemachineException.configuration(
          "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set",
          "set both for a static key pair, or neither for the AWS SDK's default credential chain");
    }
    return new S3Settings(
        endpoint, endpointVariable, region == null ? S3Settings.DEFAULT_REGION : region, accessKey, secretKey,
        env.optional("AWS_SESSION_TOKEN"), pathStyle != null ? pathStyle : endpoint != null, multipartThreshold(env));
  }

  /**
   * {@code TIMEMACHINE_S3_MULTIPART_THRESHOLD}: from which size uploads go in parts (and downloads as
   * ranged GETs), at least one part (16m); {@code off} uploads and downloads every object whole, which is
   * faster against a server that writes an object again when its parts complete (s3proxy), and limited to
   * 5 GB per object on AWS S3.
   */
  static final String MULTIPART_THRESHOLD = "TIMEMACHINE_S3_MULTIPART_THRESHOLD";

  private static long multipartThreshold(EnvReader env) {
    String value = env.optional(MULTIPART_THRESHOLD);
    if (value != null && value.equalsIgnoreCase("off")) {
      return Long.MAX_VALUE;
    }
    return env.size(MULTIPART_THRESHOLD, dev.timemachine.adapters.store.S3ObjectStore.Transfer.DEFAULT.threshold(),
        dev.timemachine.adapters.store.S3ObjectStore.Transfer.DEFAULT.partSize());
  }

  /**
   * The region of the AWS config file's profile ({@code AWS_PROFILE}, {@code AWS_CONFIG_FILE}), or null.
   * Without any AWS config or credentials file nothing is loaded: the SDK's profile machinery is ~100 ms
   * of class loading in every CLI start.
   */
  private static String profileRegion(EnvReader env, Path userHome) {
    try {
      String file = env.optional(ProfileFileSystemSetting.AWS_CONFIG_FILE.environmentVariable());
      String credentials = env.optional(ProfileFileSystemSetting.AWS_SHARED_CREDENTIALS_FILE.environmentVariable());
      if (file == null && credentials == null && !Files.exists(userHome.resolve(".aws").resolve("config"))
          && !Files.exists(userHome.resolve(".aws").resolve("credentials"))) {
        return null;
      }
      ProfileFile profiles = file != null
          ? ProfileFile.builder().content(Path.of(file)).type(ProfileFile.Type.CONFIGURATION).build()
          : ProfileFile.defaultProfileFile();
      String profile = env.string(ProfileFileSystemSetting.AWS_PROFILE.environmentVariable(), "default");
      return profiles.profile(profile).flatMap(p -> p.property(ProfileProperty.REGION)).orElse(null);
    } catch (RuntimeException e) {
      // An unreadable AWS config file leaves the region to its default, as it would the SDK's chain.
      return null;
    }
  }

  private static MlflowConfig mlflow(EnvReader env, Path userHome) {
    String python = env.optional("TIMEMACHINE_MLFLOW_PYTHON");
    Path cache = Path.of(env.string("TIMEMACHINE_CACHE_DIR", userHome.resolve(".cache").resolve("timemachine").toString()));
    Path pythonPath = python != null ? Path.of(python) : cache.resolve("mlflow-venv/bin/python");
    try {
      return new MlflowConfig(MlflowSettings.fromEnvironment(env.map()), null, pythonPath);
    } catch (TimemachineException e) {
      return new MlflowConfig(null, e, pythonPath);
    }
  }

  /**
   * {@code TIMEMACHINE_HOST_PICKUP_TIMEOUT} ({@code 30s}, {@code 2m}; default 60s): how long a step pinned to
   * the replay's training host may wait for that host before the replay moves to another host. Read from
   * {@link #environment()} when a replay starts.
   */
  public java.time.Duration hostPickupTimeout() {
    return worker.hostPickupTimeout();
  }

  public boolean embeddedTemporal() {
    return temporal.isEmbedded();
  }

  /** host:port of the Temporal frontend, or null for the in-process server. */
  public String temporalAddress() {
    return temporal.address();
  }

  public String namespace() {
    return temporal.namespace();
  }

  public String controlQueue() {
    return worker.controlQueue();
  }

  public String trainingQueue() {
    return worker.trainingQueue();
  }

  public String workerId() {
    return worker.workerId();
  }

  /** This host's own training queue: stable per worker id, so a restarted worker resumes its replays. */
  public String hostQueue() {
    return worker.hostQueue();
  }

  public int heartbeatTimeoutSeconds() {
    return worker.heartbeatTimeoutSeconds();
  }

  public java.time.Duration transientDeadline() {
    return worker.transientDeadline();
  }

  /** Parses {@code 90s}, {@code 30m}, {@code 2h} (a whole number and a unit), at least one second. */
  static java.time.Duration parseDeadline(Map<String, String> env, String name, java.time.Duration fallback) {
    String value = env.get(name);
    if (value == null || value.isBlank()) {
      return fallback;
    }
    var m = java.util.regex.Pattern.compile("([0-9]{1,7})([smh])").matcher(value.trim().toLowerCase(java.util.Locale.ROOT));
    if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
      throw EnvReader.bad(name, value, "is not a duration", name + "=30m (a whole number with s, m or h)");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "s" -> java.time.Duration.ofSeconds(n);
      case "m" -> java.time.Duration.ofMinutes(n);
      default -> java.time.Duration.ofHours(n);
    };
  }

  public Path home() {
    return store.home();
  }

  public String storeUri() {
    return store.storeUri();
  }

  public Path workDir() {
    return store.workDir();
  }

  public String dockerHost() {
    return docker.host();
  }

  public Config withLimits(TrainingLimits newLimits) {
    return new Config(temporal, worker, store, s3, docker, newLimits, mlflow, stackTraces);
  }

  /** Parses sizes like {@code 512m}, {@code 2g}, {@code 1073741824}; throws NumberFormatException. */
  public static long parseSize(String value) {
    return EnvReader.parseSize(value);
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9_.-]", "-");
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }
}
