package dev.timemachine.app;

import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.workflow.ReplayRequest;
import dev.timemachine.workflow.TaskQueues;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Everything configurable, read from environment variables (the twelve-factor way, which is also how
 * docker-compose passes settings). Each variable is documented in README.md.
 *
 * @param temporalAddress host:port of a Temporal frontend, or null for an in-process server
 * @param heartbeatTimeoutSeconds how long a training-host step may stay silent before Temporal counts
 *     its worker as dead and retries the step elsewhere (on the same host's queue); this is how long
 *     a replay waits after a worker is killed before a restarted worker takes it over
 * @param transientDeadline {@code TIMEMACHINE_TRANSIENT_DEADLINE} ({@code 90s}, {@code 30m}, {@code 2h};
 *     default 30m): how long a replay retries a service that is down before it ends with verdict ERROR
 */
public record Config(
    String temporalAddress,
    String namespace,
    String controlQueue,
    String trainingQueue,
    String workerId,
    Path home,
    String storeUri,
    Path workDir,
    String dockerHost,
    TrainingLimits limits,
    int heartbeatTimeoutSeconds,
    Map<String, String> environment,
    java.time.Duration transientDeadline) {

  public static Config fromEnvironment() {
    return fromEnvironment(System.getenv());
  }

  public static Config fromEnvironment(Map<String, String> env) {
    Path home = Path.of(get(env, "TIMEMACHINE_HOME", Path.of(System.getProperty("user.home"), ".timemachine").toString()))
        .toAbsolutePath();
    TrainingLimits defaults = TrainingLimits.DEFAULT;
    TrainingLimits limits =
        new TrainingLimits(
            parseDouble(env, "TIMEMACHINE_TRAIN_CPUS", defaults.cpus()),
            parseBytes(env, "TIMEMACHINE_TRAIN_MEMORY", defaults.memoryBytes()),
            parseLong(env, "TIMEMACHINE_TRAIN_TIMEOUT_SECONDS", defaults.timeoutSeconds()),
            (int) parseLong(env, "TIMEMACHINE_TRAIN_PIDS", defaults.pidsLimit()));
    String address = env.get("TEMPORAL_ADDRESS");
    long heartbeat =
        parseLong(env, "TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS", ReplayRequest.DEFAULT_HEARTBEAT_TIMEOUT_SECONDS);
    if (heartbeat < 5 || heartbeat > 3600) {
      throw TimemachineException.configuration(
          "TIMEMACHINE_HEARTBEAT_TIMEOUT_SECONDS=" + heartbeat + " is out of range",
          "use 5 to 3600 seconds; workers heartbeat about once a second");
    }
    return new Config(
        address == null || address.isBlank() ? null : address.trim(),
        get(env, "TEMPORAL_NAMESPACE", "default"),
        get(env, "TIMEMACHINE_CONTROL_QUEUE", TaskQueues.CONTROL),
        get(env, "TIMEMACHINE_TRAINING_QUEUE", TaskQueues.TRAINING),
        get(env, "TIMEMACHINE_WORKER_ID", hostname()),
        home,
        get(env, "TIMEMACHINE_STORE", home.resolve("store").toUri().toString()),
        Path.of(get(env, "TIMEMACHINE_WORK_DIR", home.resolve("work").toString())).toAbsolutePath(),
        get(env, "DOCKER_HOST", "unix:///var/run/docker.sock"),
        limits,
        (int) heartbeat,
        Map.copyOf(env),
        parseDeadline(env, "TIMEMACHINE_TRANSIENT_DEADLINE", ReplayRequest.DEFAULT_TRANSIENT_DEADLINE));
  }

  /**
   * {@code TIMEMACHINE_HOST_PICKUP_TIMEOUT} ({@code 30s}, {@code 2m}; default 60s): how long a step pinned to
   * the replay's training host may wait for that host before the replay moves to another host. Read from
   * {@link #environment()} when a replay starts.
   */
  public java.time.Duration hostPickupTimeout() {
    return parseDeadline(environment, "TIMEMACHINE_HOST_PICKUP_TIMEOUT", ReplayRequest.DEFAULT_HOST_PICKUP_TIMEOUT);
  }

  public boolean embeddedTemporal() {
    return temporalAddress == null;
  }

  /** This host's own training queue: stable per worker id, so a restarted worker resumes its replays. */
  public String hostQueue() {
    return trainingQueue + "@" + workerId;
  }

  public Config withLimits(TrainingLimits newLimits) {
    return new Config(
        temporalAddress, namespace, controlQueue, trainingQueue, workerId, home, storeUri, workDir, dockerHost, newLimits,
        heartbeatTimeoutSeconds, environment, transientDeadline);
  }

  private static String get(Map<String, String> env, String name, String fallback) {
    String value = env.get(name);
    return value == null || value.isBlank() ? fallback : value.trim();
  }

  private static double parseDouble(Map<String, String> env, String name, double fallback) {
    String value = env.get(name);
    try {
      return value == null || value.isBlank() ? fallback : Double.parseDouble(value.trim());
    } catch (NumberFormatException e) {
      throw TimemachineException.configuration(name + "='" + value + "' is not a number", "e.g. " + name + "=2");
    }
  }

  private static long parseLong(Map<String, String> env, String name, long fallback) {
    String value = env.get(name);
    try {
      return value == null || value.isBlank() ? fallback : Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      throw TimemachineException.configuration(name + "='" + value + "' is not a whole number", "e.g. " + name + "=3600");
    }
  }

  /** Parses sizes like {@code 512m}, {@code 2g}, {@code 1073741824}. */
  public static long parseSize(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    long unit = 1;
    char last = v.isEmpty() ? ' ' : v.charAt(v.length() - 1);
    switch (last) {
      case 'k' -> unit = 1L << 10;
      case 'm' -> unit = 1L << 20;
      case 'g' -> unit = 1L << 30;
      default -> {}
    }
    String digits = unit == 1 ? v : v.substring(0, v.length() - 1);
    return Math.round(Double.parseDouble(digits) * unit);
  }

  /** Parses {@code 90s}, {@code 30m}, {@code 2h} (a whole number and a unit), at least one second. */
  static java.time.Duration parseDeadline(Map<String, String> env, String name, java.time.Duration fallback) {
    String value = env.get(name);
    if (value == null || value.isBlank()) {
      return fallback;
    }
    var m = java.util.regex.Pattern.compile("([0-9]{1,7})([smh])").matcher(value.trim().toLowerCase(Locale.ROOT));
    if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
      throw TimemachineException.configuration(
          name + "='" + value + "' is not a duration", "use a whole number with s, m or h, e.g. " + name + "=30m");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "s" -> java.time.Duration.ofSeconds(n);
      case "m" -> java.time.Duration.ofMinutes(n);
      default -> java.time.Duration.ofHours(n);
    };
  }

  private static long parseBytes(Map<String, String> env, String name, long fallback) {
    String value = env.get(name);
    if (value == null || value.isBlank()) {
      return fallback;
    }
    try {
      return parseSize(value);
    } catch (NumberFormatException e) {
      throw TimemachineException.configuration(name + "='" + value + "' is not a size", "e.g. " + name + "=2g");
    }
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9_.-]", "-");
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }
}
