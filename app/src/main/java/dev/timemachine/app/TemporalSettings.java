package dev.timemachine.app;

import dev.timemachine.core.errors.TimemachineException;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.envconfig.ClientConfigProfile;
import io.temporal.envconfig.LoadClientConfigProfileOptions;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * How to reach Temporal, loaded by the SDK's own envconfig ({@code temporal-envconfig}), so that the
 * variables and the TOML profile file of the Temporal CLI and every other SDK work here unchanged:
 * {@code TEMPORAL_ADDRESS}, {@code TEMPORAL_NAMESPACE}, {@code TEMPORAL_API_KEY}, {@code TEMPORAL_TLS*},
 * {@code TEMPORAL_GRPC_META_*}, {@code TEMPORAL_PROFILE} and {@code TEMPORAL_CONFIG_FILE} (default
 * {@code ~/.config/temporalio/temporal.toml}); variables win over the file.
 *
 * <p>What envconfig has no notion of is timemachine's own default: with no address from either
 * source, replays run on an in-process server (the SDK's test server) with in-process workers.
 *
 * @param address the frontend's {@code host:port}, or null for the in-process server
 * @param namespace the namespace, {@code default} unless configured
 * @param source where the settings came from, for messages ({@code environment} or the profile and file)
 * @param profile the loaded profile, which builds the gRPC options (TLS, API key, metadata)
 */
public record TemporalSettings(String address, String namespace, String source, ClientConfigProfile profile) {
  public static final String DEFAULT_NAMESPACE = "default";

  public TemporalSettings {
    address = address == null || address.isBlank() ? null : address.trim();
    namespace = namespace == null || namespace.isBlank() ? DEFAULT_NAMESPACE : namespace.trim();
    profile = profile == null ? ClientConfigProfile.getDefaultInstance() : profile;
    if (address != null && (address.startsWith("http://") || address.startsWith("https://"))) {
      throw TimemachineException.configuration(
          "the Temporal address '" + address + "' (" + source + ") is a URL, not host:port",
          "e.g. TEMPORAL_ADDRESS=127.0.0.1:7233; TLS is TEMPORAL_TLS=true");
    }
    if (address != null && !HOST_PORT.matcher(address).matches()) {
      throw TimemachineException.configuration(
          "the Temporal address '" + address + "' (" + source + ") is not host:port",
          "e.g. TEMPORAL_ADDRESS=127.0.0.1:7233 (a host name, IPv4 or [IPv6] address, then a port 1-65535)");
    }
  }

  /** host:port with a DNS name, IPv4 or bracketed IPv6 host and a decimal port. */
  private static final java.util.regex.Pattern HOST_PORT = java.util.regex.Pattern.compile(
      "(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\\[[0-9A-Fa-f:.]+])"
          + ":(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])");

  /** The in-process server, as when nothing is configured. */
  public static TemporalSettings embedded() {
    return new TemporalSettings(null, DEFAULT_NAMESPACE, "default", null);
  }

  /**
   * Loads the profile from {@code env} only (it is handed to envconfig as the whole environment), so
   * a test passes a map and never sees this machine's variables.
   *
   * @param userHome where envconfig's default file {@code .config/temporalio/temporal.toml} lives
   */
  static TemporalSettings fromEnvironment(Map<String, String> env, Path userHome) {
    String explicitFile = blankToNull(env.get("TEMPORAL_CONFIG_FILE"));
    Path file = explicitFile != null
        ? Path.of(explicitFile)
        : userHome.resolve(".config").resolve("temporalio").resolve("temporal.toml");
    if (explicitFile != null && !Files.isRegularFile(file)) {
      throw TimemachineException.configuration(
          "TEMPORAL_CONFIG_FILE='" + explicitFile + "' is not a file",
          "point it at a Temporal TOML profile file, or unset it");
    }
    String profileName = blankToNull(env.get("TEMPORAL_PROFILE"));
    ClientConfigProfile profile;
    try {
      profile = ClientConfigProfile.load(
          LoadClientConfigProfileOptions.newBuilder()
              .setEnvOverrides(env)
              .setConfigFilePath(Files.isRegularFile(file) ? file.toString() : null)
              .setDisableFile(!Files.isRegularFile(file))
              .build());
    } catch (IOException e) {
      throw TimemachineException.configuration(
          "the Temporal profile file " + file + " cannot be read: " + firstLine(e.getMessage()),
          "fix its TOML, or set TEMPORAL_CONFIG_FILE to another file");
    } catch (IllegalArgumentException e) {
      throw TimemachineException.configuration(
          "TEMPORAL_PROFILE='" + profileName + "' is not a profile in " + file + ": " + firstLine(e.getMessage()),
          "name a [profile.NAME] of that file, or unset TEMPORAL_PROFILE for its default profile");
    }
    String source = env.containsKey("TEMPORAL_ADDRESS") && blankToNull(env.get("TEMPORAL_ADDRESS")) != null
        ? "TEMPORAL_ADDRESS"
        : Files.isRegularFile(file)
            ? "profile " + (profileName == null ? "default" : profileName) + " of " + file
            : "default";
    return new TemporalSettings(profile.getAddress(), profile.getNamespace(), source, profile);
  }

  public boolean isEmbedded() {
    return address == null;
  }

  /** Whether the connection uses TLS (configured, or implied by an API key). */
  public boolean tls() {
    var tls = profile.getTls();
    if (tls != null) {
      return !Boolean.TRUE.equals(tls.isDisabled());
    }
    return profile.getApiKey() != null && !profile.getApiKey().isEmpty();
  }

  /**
   * The gRPC options of the profile (target, TLS, API key, metadata) plus {@code metricsScope}.
   * Unreadable certificate or key files are a configuration error.
   */
  WorkflowServiceStubsOptions serviceStubsOptions(com.uber.m3.tally.Scope metricsScope) {
    WorkflowServiceStubsOptions fromProfile;
    try {
      fromProfile = profile.toWorkflowServiceStubsOptions();
    } catch (RuntimeException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new TimemachineException(
          dev.timemachine.core.errors.ErrorType.CONFIGURATION,
          "the Temporal TLS settings (" + source + ") do not work: " + firstLine(cause.getMessage()),
          "check the TEMPORAL_TLS_* certificate and key paths (or the profile's [profile.NAME.tls])", e);
    }
    return WorkflowServiceStubsOptions.newBuilder(fromProfile).setTarget(address).setMetricsScope(metricsScope).build();
  }

  WorkflowClientOptions clientOptions() {
    return WorkflowClientOptions.newBuilder().setNamespace(namespace).build();
  }

  /** {@code host:port (namespace n, TLS, API key; from …)}, never the key itself. */
  public String describe() {
    if (isEmbedded()) {
      return "an in-process Temporal server (namespace " + namespace + ")";
    }
    boolean apiKey = profile.getApiKey() != null && !profile.getApiKey().isEmpty();
    return address + " (namespace " + namespace + (tls() ? ", TLS" : "") + (apiKey ? ", API key" : "")
        + "; from " + source + ")";
  }

  /** Never prints the API key or TLS material. */
  @Override
  public String toString() {
    return "TemporalSettings[" + describe() + "]";
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value.trim();
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "(no message)";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }
}
