package dev.timemachine.core.model;

import dev.timemachine.core.errors.TimemachineException;

/**
 * Validation of the relative paths that name snapshot files, artifacts and working directories. A
 * path that could escape its root (absolute, {@code ..}, backslashes, empty segments) is rejected
 * before anything touches a file system or a bucket.
 */
public final class RelativePaths {
  private RelativePaths() {}

  /** Returns {@code path} if it is a safe, normalized relative path with forward slashes. */
  public static String require(String path, String what) {
    String problem = problem(path);
    if (problem != null) {
      throw TimemachineException.invalidInput(what + " '" + path + "' is not a safe relative path: " + problem);
    }
    return path;
  }

  /** Like {@link #require} but also accepts {@code "."} for "the root itself". */
  public static String requireDirectory(String path, String what) {
    return ".".equals(path) ? path : require(path, what);
  }

  /** Why {@code path} is not a safe relative path, or null if it is. */
  public static String problemOf(String path) {
    return problem(path);
  }

  static String problem(String path) {
    if (path == null || path.isEmpty()) {
      return "it is empty";
    }
    if (path.startsWith("/")) {
      return "it is absolute";
    }
    if (path.indexOf('\\') >= 0) {
      return "it contains a backslash";
    }
    if (path.indexOf('\0') >= 0) {
      return "it contains a NUL character";
    }
    if (path.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      return "it contains a newline or control character";
    }
    for (String segment : path.split("/", -1)) {
      if (segment.isEmpty()) {
        return "it has an empty segment";
      }
      if (segment.equals("..")) {
        return "it contains '..'";
      }
      if (segment.equals(".")) {
        return "it contains '.'";
      }
    }
    return null;
  }
}
