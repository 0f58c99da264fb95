package dev.timemachine.core.data;

import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.RelativePaths;
import dev.timemachine.core.errors.TimemachineException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Hashes files and directory trees the way manifests record them: regular files only, paths relative
 * to the root with forward slashes, sorted. A symbolic link or special file is refused rather than
 * followed: what it points to is not part of the recorded content.
 */
public final class FileHashing {
  private FileHashing() {}

  public static List<FileEntry> hashTree(Path root) {
    if (!Files.isDirectory(root)) {
      throw TimemachineException.invalidInput(root + " is not a directory");
    }
    List<FileEntry> files = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path path : (Iterable<Path>) walk::iterator) {
        if (path.equals(root) || Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        String relative = RelativePaths.require(root.relativize(path).toString().replace('\\', '/'), "file path");
        if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
          throw TimemachineException.invalidInput(
              relative + " in " + root + " is a symbolic link or special file; only regular files can be recorded");
        }
        files.add(new FileEntry(relative, Files.size(path), sha256(path)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + root, e);
    }
    files.sort(Comparator.comparing(FileEntry::path));
    return files;
  }

  /**
   * Every entry under {@code root} that is not a directory (regular files, and links or special files,
   * which {@link #hash} refuses), relative to it with forward slashes, sorted. Nothing is read, so a
   * big tree of files nobody selects costs no hashing.
   */
  public static List<String> listTree(Path root) {
    if (!Files.isDirectory(root)) {
      throw TimemachineException.invalidInput(root + " is not a directory");
    }
    List<String> files = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path path : (Iterable<Path>) walk::iterator) {
        if (!path.equals(root) && !Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
          files.add(RelativePaths.require(root.relativize(path).toString().replace('\\', '/'), "file path"));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + root, e);
    }
    files.sort(null);
    return files;
  }

  /** The entry of {@code root}/{@code source} recorded as {@code name}; only a regular file can be recorded. */
  public static FileEntry hash(Path root, String source, String name) {
    Path path = root.resolve(source);
    if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
      throw TimemachineException.invalidInput(
          source + " in " + root + " is a symbolic link or special file; only regular files can be recorded");
    }
    try {
      return new FileEntry(name, Files.size(path), sha256(path));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path, e);
    }
  }

  public static String sha256(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return Digests.sha256(in).sha256();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }
}
