package dev.timemachine.core.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.timemachine.core.errors.TimemachineException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * How a training container is confined. A replay runs code that anyone with push access wrote, so
 * the default is {@link Mode#STRICT}: a fixed non-root user, a read-only root file system with a
 * size-limited tmpfs at {@code /tmp} (which is {@code HOME}), no capabilities, no-new-privileges,
 * Docker's default seccomp profile, no network, open-file and file-size ulimits, and a cap on what it
 * may write to {@code /out}, enforced while it runs. {@link Mode#RELAXED} ({@code --sandbox relaxed})
 * is for images whose entry point needs root or a writable root file system: it runs as the image's
 * own user and leaves the root file system writable; everything else stays. The settings are recorded
 * in every report (under {@code limits.sandbox}), so a relaxed replay says so.
 *
 * <p>The fixed components ({@code capabilities}, {@code noNewPrivileges}, {@code seccomp}, {@code
 * network}) are not settable: they are components so that the report states them.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonPropertyOrder({"mode", "user", "readOnlyRootfs", "capabilities", "noNewPrivileges", "seccomp", "network", "tmpfsBytes",
    "maxOpenFiles", "maxOutputBytes", "maxOutputFiles"})
public record SandboxSettings(
    Mode mode,
    String user,
    boolean readOnlyRootfs,
    String capabilities,
    boolean noNewPrivileges,
    String seccomp,
    String network,
    long tmpfsBytes,
    long maxOpenFiles,
    long maxOutputBytes,
    int maxOutputFiles) {

  private static final Pattern NUMERIC_USER = Pattern.compile("[0-9]{1,9}:[0-9]{1,9}");

  /** nobody:nogroup on Debian; owns nothing in an image or on the host. */
  public static final String DEFAULT_USER = "65534:65534";
  public static final long DEFAULT_TMPFS_BYTES = 512L << 20;
  public static final long DEFAULT_MAX_OPEN_FILES = 8192;
  public static final long DEFAULT_MAX_OUTPUT_BYTES = 20L << 30;
  public static final int DEFAULT_MAX_OUTPUT_FILES = 100_000;
  public static final String MAX_OUTPUT_VARIABLE = "TIMEMACHINE_TRAIN_MAX_OUTPUT";
  public static final String USER_VARIABLE = "TIMEMACHINE_TRAIN_USER";
  public static final SandboxSettings STRICT = strict(DEFAULT_USER, DEFAULT_MAX_OUTPUT_BYTES);

  /** Strict: non-root user and read-only root file system. Relaxed: the image's user, writable root. */
  public enum Mode { STRICT, RELAXED }

  public SandboxSettings {
    mode = mode == null ? Mode.STRICT : mode;
    if (mode == Mode.STRICT) {
      user = user == null || user.isBlank() ? DEFAULT_USER : user.strip();
      if (!NUMERIC_USER.matcher(user).matches() || user.startsWith("0:") || user.matches("0+:.*")) {
        throw TimemachineException.invalidInput(
            "the training user must be a numeric non-root uid:gid such as " + DEFAULT_USER + ", got '" + user + "'");
      }
      readOnlyRootfs = true;
    } else {
      user = "";
      readOnlyRootfs = false;
    }
    capabilities = "none (CapDrop ALL)";
    noNewPrivileges = true;
    seccomp = "docker default";
    network = "none";
    tmpfsBytes = tmpfsBytes <= 0 ? DEFAULT_TMPFS_BYTES : tmpfsBytes;
    maxOpenFiles = maxOpenFiles <= 0 ? DEFAULT_MAX_OPEN_FILES : maxOpenFiles;
    maxOutputBytes = maxOutputBytes <= 0 ? DEFAULT_MAX_OUTPUT_BYTES : maxOutputBytes;
    maxOutputFiles = maxOutputFiles <= 0 ? DEFAULT_MAX_OUTPUT_FILES : maxOutputFiles;
  }

  public static SandboxSettings strict(String user, long maxOutputBytes) {
    return new SandboxSettings(Mode.STRICT, user, true, null, true, null, null, 0, 0, maxOutputBytes, 0);
  }

  public SandboxSettings withMode(Mode newMode) {
    return new SandboxSettings(newMode, newMode == Mode.STRICT && user.isEmpty() ? null : user, readOnlyRootfs,
        capabilities, noNewPrivileges, seccomp, network, tmpfsBytes, maxOpenFiles, maxOutputBytes, maxOutputFiles);
  }

  public SandboxSettings withMaxOutputBytes(long bytes) {
    return new SandboxSettings(mode, mode == Mode.STRICT ? user : null, readOnlyRootfs, capabilities, noNewPrivileges,
        seccomp, network, tmpfsBytes, maxOpenFiles, bytes, maxOutputFiles);
  }

  /** {@code strict} or {@code relaxed}, as {@code --sandbox} takes it. */
  public static Mode parseMode(String value) {
    try {
      return Mode.valueOf(value.strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw TimemachineException.invalidInput("--sandbox must be strict or relaxed, got '" + value + "'");
    }
  }

  /** The uid of {@link #user}, or -1 in relaxed mode (the image's own user). */
  public int uid() {
    return user.isEmpty() ? -1 : Integer.parseInt(user.substring(0, user.indexOf(':')));
  }

  /** The gid of {@link #user}, or -1 in relaxed mode. */
  public int gid() {
    return user.isEmpty() ? -1 : Integer.parseInt(user.substring(user.indexOf(':') + 1));
  }
}
