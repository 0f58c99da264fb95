package dev.timemachine.core.data;

import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.OutputRule;
import dev.timemachine.core.model.OutputRules;
import dev.timemachine.core.model.RelativePaths;
import dev.timemachine.core.model.SandboxSettings;
import dev.timemachine.core.errors.TimemachineException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects a training's outputs from its output directory: lists it, applies the output rules
 * ({@link OutputRules#select}, the same function at registration and after a replay), and hashes
 * what they select under its recorded name. Only selected files are read.
 *
 * <p>The directory was written by code nobody reviewed, so nothing in it is trusted. The walk never
 * follows a symbolic link (one to {@code /etc/shadow}, to a key of the worker, to {@code ../../}), never
 * opens a device, FIFO or socket, refuses a regular file with hard links outside the directory, and
 * refuses names a report or a store key cannot hold faithfully (newlines and other control
 * characters, invalid UTF-8, backslashes). It stops at a number of files and a total size. Every
 * refusal is a named problem in {@link Collected#problems()}; the entry is reported, never read or
 * copied. A setuid, setgid or sticky file is collected but named too: the store keeps its bytes,
 * never its mode.
 */
public final class OutputCollection {
  /**
   * The most outputs a version records or a replay keeps: each is a line in the workflow's payloads
   * and in the report (Temporal refuses a payload over 2 MB). More files than this belong in an archive
   * output, or under output rules that select the ones to grade.
   */
  public static final int MAX_OUTPUTS = 3_000;

  private OutputCollection() {}

  /** The outputs by recorded name, the selection they came from, and what was refused or noted, by name. */
  public record Collected(Path directory, List<FileEntry> files, OutputRules.Selection selection, List<String> problems) {
    public Collected {
      files = List.copyOf(files);
      problems = problems == null ? List.of() : List.copyOf(problems);
    }

    public Collected(Path directory, List<FileEntry> files, OutputRules.Selection selection) {
      this(directory, files, selection, List.of());
    }

    /** The file recorded as {@code name}, or null if no output has that name. */
    public Path fileNamed(String name) {
      String source = selection.sourceOf(name);
      return source == null ? null : directory.resolve(source);
    }

    /** Where the file recorded as {@code name} came from, relative to the output directory, or null. */
    public String sourceOf(String name) {
      return selection.sourceOf(name);
    }
  }

  /** With the default caps of {@link SandboxSettings}. */
  public static Collected collect(Path directory, List<OutputRule> rules) {
    return collect(directory, rules, SandboxSettings.DEFAULT_MAX_OUTPUT_BYTES, SandboxSettings.DEFAULT_MAX_OUTPUT_FILES);
  }

  /**
   * @param maxBytes the most bytes collected in all; the file that would pass it, and every later one by
   *     recorded name, is refused
   * @param maxFiles the most entries looked at; the walk stops there
   */
  public static Collected collect(Path directory, List<OutputRule> rules, long maxBytes, int maxFiles) {
    Scan scan = scan(directory, maxFiles);
    OutputRules.Selection selection = OutputRules.select(new ArrayList<>(scan.regular.keySet()), rules);
    List<String> problems = new ArrayList<>(scan.problems);
    List<FileEntry> files = new ArrayList<>();
    long total = 0;
    for (OutputRules.Selected s : selection.files()) {
      long size = scan.regular.get(s.source());
      if (total + size > maxBytes) {
        problems.add("outputs exceed the limit of " + maxBytes + " bytes at '" + s.name() + "' (" + size
            + " bytes): it and every later output were not collected");
        break;
      }
      total += size;
      files.add(hashNoFollow(directory, s.source(), s.name()));
    }
    return new Collected(directory, files, selection, problems);
  }

  private record Scan(Map<String, Long> regular, List<String> problems) {}

  private static Scan scan(Path root, int maxFiles) {
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
      throw TimemachineException.invalidInput(root + " is not a directory");
    }
    Map<String, Long> regular = new LinkedHashMap<>();
    List<String> problems = new ArrayList<>();
    Map<Object, List<String>> byInode = new HashMap<>();
    Map<String, Integer> links = new HashMap<>();
    int[] seen = {0};
    try {
      Files.walkFileTree(root, EnumSet.noneOf(FileVisitOption.class), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
          if (dir.equals(root)) {
            return FileVisitResult.CONTINUE;
          }
          return visitEntry(dir, attrs) ? FileVisitResult.CONTINUE : FileVisitResult.SKIP_SUBTREE;
        }

        @Override
        public FileVisitResult visitFile(Path path, BasicFileAttributes attrs) {
          visitEntry(path, attrs);
          return seen[0] > maxFiles ? FileVisitResult.TERMINATE : FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path path, IOException e) {
          problems.add(quote(root.relativize(path).toString()) + " could not be read (" + e.getClass().getSimpleName()
              + "): not collected");
          return FileVisitResult.CONTINUE;
        }

        /** Classifies one entry; true for a directory worth descending into. */
        private boolean visitEntry(Path path, BasicFileAttributes attrs) {
          if (++seen[0] > maxFiles) {
            problems.add("the output directory holds more than " + maxFiles + " entries: the walk stopped at "
                + quote(root.relativize(path).toString()) + " and nothing after it was collected");
            return false;
          }
          String relative = root.relativize(path).toString();
          String nameProblem = nameProblem(root, relative);
          if (nameProblem != null) {
            problems.add(quote(relative) + " " + nameProblem + ": not collected");
            return false;
          }
          if (attrs.isSymbolicLink()) {
            problems.add(quote(relative) + " is a symbolic link" + linkTarget(path)
                + ": links are never followed, not collected");
            return false;
          }
          if (attrs.isDirectory()) {
            return true;
          }
          Map<String, Object> unix = unixAttributes(path);
          int mode = ((Number) unix.getOrDefault("mode", 0)).intValue();
          if (!attrs.isRegularFile()) {
            problems.add(quote(relative) + " is " + kind(mode) + ": never read, not collected");
            return false;
          }
          int nlink = ((Number) unix.getOrDefault("nlink", 1)).intValue();
          if (nlink > 1) {
            byInode.computeIfAbsent(attrs.fileKey() == null ? relative : attrs.fileKey(), k -> new ArrayList<>()).add(relative);
            links.put(relative, nlink);
          }
          if ((mode & 07000) != 0) {
            problems.add(quote(relative) + " had mode " + Integer.toOctalString(mode & 07777) + " (" + specialBits(mode)
                + "): collected without it; the store keeps no mode bits");
          }
          regular.put(relative, attrs.size());
          return false;
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + root, e);
    }
    // A hard link whose other names are all inside the directory is a file the training wrote twice;
    // one with a name outside may be anybody's file.
    for (List<String> names : byInode.values()) {
      for (String name : names) {
        int nlink = links.get(name);
        if (nlink > names.size()) {
          regular.remove(name);
          problems.add(quote(name) + " has " + nlink + " hard links, " + (nlink - names.size())
              + " of them outside the output directory: not collected");
        }
      }
    }
    Map<String, Long> sorted = new java.util.TreeMap<>(regular);
    problems.sort(null); // the directory's order is the file system's, not the same twice
    return new Scan(sorted, problems);
  }

  /** Why {@code relative} cannot be an output name, or null. */
  static String nameProblem(Path root, String relative) {
    for (int i = 0; i < relative.length(); i++) {
      char c = relative.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        return "has a newline or control character in its name";
      }
      if (c == '\uFFFD') {
        return "has a name that is not valid UTF-8";
      }
    }
    String unsafe = RelativePaths.problemOf(relative);
    if (unsafe != null) {
      return "has a name that is not a safe relative path (" + unsafe + ")";
    }
    if (!Files.exists(root.resolve(relative), LinkOption.NOFOLLOW_LINKS)) {
      return "has a name that this file system encoding cannot represent";
    }
    return null;
  }

  private static Map<String, Object> unixAttributes(Path path) {
    try {
      return Files.readAttributes(path, "unix:mode,nlink", LinkOption.NOFOLLOW_LINKS);
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      return Map.of();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the attributes of " + path, e);
    }
  }

  private static String kind(int mode) {
    return switch (mode & 0170000) {
      case 0010000 -> "a FIFO";
      case 0020000 -> "a character device";
      case 0060000 -> "a block device";
      case 0140000 -> "a socket";
      default -> "a special file";
    };
  }

  private static String specialBits(int mode) {
    List<String> bits = new ArrayList<>();
    if ((mode & 04000) != 0) {
      bits.add("setuid");
    }
    if ((mode & 02000) != 0) {
      bits.add("setgid");
    }
    if ((mode & 01000) != 0) {
      bits.add("sticky");
    }
    return String.join(", ", bits);
  }

  private static String linkTarget(Path link) {
    try {
      return " (to " + quote(Files.readSymbolicLink(link).toString()) + ")";
    } catch (IOException | UnsupportedOperationException e) {
      return "";
    }
  }

  /** A name as a report may show it: quoted, control characters escaped, at most 200 characters. */
  static String quote(String name) {
    StringBuilder b = new StringBuilder("'");
    for (int i = 0; i < name.length() && i < 200; i++) {
      char c = name.charAt(i);
      if (c == '\n') {
        b.append("\\n");
      } else if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append(name.length() > 200 ? "…'" : "'").toString();
  }

  /** Hashes a regular file opened without following a link, so a name swapped for a link is refused. */
  private static FileEntry hashNoFollow(Path root, String source, String name) {
    Path path = root.resolve(source);
    MessageDigest digest = Digests.newSha256();
    byte[] buffer = new byte[1 << 16];
    long size = 0;
    if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
      throw TimemachineException.invalidInput(
          source + " in " + root + " is a symbolic link or special file; only regular files can be recorded");
    }
    try (InputStream in = Files.newInputStream(path, LinkOption.NOFOLLOW_LINKS)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
        size += n;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path, e);
    }
    return new FileEntry(name, size, HexFormat.of().formatHex(digest.digest()));
  }
}
