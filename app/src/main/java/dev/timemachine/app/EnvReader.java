package dev.timemachine.app;

import dev.timemachine.core.errors.TimemachineException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Map;

/**
 * Reads typed values out of an environment map. A value that does not parse is a configuration
 * error whose one line names the variable and the bad value, and whose hint shows a good one, so a
 * typo in a deployment never surfaces later as "a bug in timemachine". Blank counts as unset.
 */
final class EnvReader {
  private final Map<String, String> env;

  EnvReader(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  Map<String, String> map() {
    return env;
  }

  /** The trimmed value, or null if unset or blank. */
  String optional(String name) {
    String value = env.get(name);
    return value == null || value.isBlank() ? null : value.trim();
  }

  String string(String name, String fallback) {
    String value = optional(name);
    return value == null ? fallback : value;
  }

  long wholeNumber(String name, long fallback, long min, long max) {
    String value = optional(name);
    if (value == null) {
      return fallback;
    }
    long parsed;
    try {
      parsed = Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw bad(name, value, "is not a whole number", name + "=" + fallback);
    }
    if (parsed < min || parsed > max) {
      throw bad(name, value, "is out of range", "use " + min + " to " + max + ", e.g. " + name + "=" + fallback);
    }
    return parsed;
  }

  double positiveNumber(String name, double fallback) {
    String value = optional(name);
    if (value == null) {
      return fallback;
    }
    double parsed;
    try {
      parsed = Double.parseDouble(value);
    } catch (NumberFormatException e) {
      throw bad(name, value, "is not a number", name + "=2");
    }
    if (!(parsed > 0) || Double.isInfinite(parsed)) {
      throw bad(name, value, "must be greater than 0", name + "=2");
    }
    return parsed;
  }

  /** A size like {@code 512m}, {@code 2g} or {@code 1073741824} (bytes), at least {@code min} bytes. */
  long size(String name, long fallback, long min) {
    String value = optional(name);
    if (value == null) {
      return fallback;
    }
    long parsed;
    try {
      parsed = parseSize(value);
    } catch (NumberFormatException e) {
      throw bad(name, value, "is not a size", name + "=2g (k, m, g suffixes, or bytes)");
    }
    if (parsed < min) {
      throw bad(name, value, "is too small: at least " + min + " bytes", name + "=2g");
    }
    return parsed;
  }

  /** {@code true} or {@code false} (any case); anything else is an error rather than a silent false. */
  Boolean bool(String name) {
    String value = optional(name);
    if (value == null) {
      return null;
    }
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default -> throw bad(name, value, "is not true or false", name + "=true");
    };
  }

  /** An absolute {@code http(s)://host[:port]} URL, or null if unset. */
  URI httpUrl(String name, String example) {
    String value = optional(name);
    if (value == null) {
      return null;
    }
    URI uri;
    try {
      uri = new URI(value);
    } catch (URISyntaxException e) {
      throw bad(name, value, "is not a URL (" + e.getReason() + ")", name + "=" + example);
    }
    if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
      throw bad(name, value, "is not an http(s)://host[:port] URL", name + "=" + example);
    }
    return uri;
  }

  static TimemachineException bad(String name, String value, String problem, String example) {
    return TimemachineException.configuration(name + "='" + value + "' " + problem, "e.g. " + example);
  }

  /** Parses sizes like {@code 512m}, {@code 2g}, {@code 1073741824}; throws NumberFormatException. */
  static long parseSize(String value) {
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
    double parsed = Double.parseDouble(digits);
    if (Double.isNaN(parsed) || Double.isInfinite(parsed)) {
      throw new NumberFormatException(value);
    }
    return Math.round(parsed * unit);
  }
}
