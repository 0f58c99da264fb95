package dev.timemachine.adapters.store;

import dev.timemachine.core.model.RelativePaths;
import dev.timemachine.core.errors.DiskFullException;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.ObjectStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.LinkOption;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * An object store in a local directory: the embedded default, and what a team can use on a shared
 * file system. Writes go to a temporary file first and are moved into place, so a reader never sees a
 * half-written object; write-once uses a hard link, which the file system creates atomically or not at
 * all.
 *
 * <p>Objects are plain data: every stored file is mode 0644 whatever the source's mode (a setuid-root
 * shell a training wrote to its outputs is kept as bytes, not as a program), and a source that is a
 * symbolic link is refused rather than followed. Reads refuse a key whose path crosses a symbolic
 * link, so a store tampered with (a snapshot file replaced by a link to {@code /etc/shadow}) cannot
 * make a restore read, hash and report a file outside it.
 */
public final class LocalObjectStore implements ObjectStore {
  private final Path root;

  public LocalObjectStore(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  public Path root() {
    return root;
  }

  @Override
  public String rootUri() {
    String uri = root.toUri().toString();
    return uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri;
  }

  private static final java.util.Set<java.nio.file.attribute.PosixFilePermission> OBJECT_MODE =
      java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--");

  private Path path(String key) {
    Path path = root.resolve(RelativePaths.require(key, "object key"));
    for (Path p = path; p != null && p.startsWith(root) && !p.equals(root); p = p.getParent()) {
      if (Files.isSymbolicLink(p)) {
        throw TimemachineException.conflict(
            uriOf(key) + " crosses a symbolic link in the store (" + root.relativize(p) + "): the store was altered;"
                + " refusing to follow it", "remove the link from " + root + " and store the object again");
      }
    }
    return path;
  }

  @Override
  public boolean exists(String key) {
    return Files.isRegularFile(path(key));
  }

  @Override
  public void delete(String key) {
    try {
      Files.deleteIfExists(path(key));
    } catch (IOException e) {
      throw TimemachineException.unavailable("cannot delete " + uriOf(key) + ": " + e.getMessage(), e);
    }
  }

  @Override
  public Optional<Long> size(String key) {
    Path path = path(key);
    try {
      return Files.isRegularFile(path) ? Optional.of(Files.size(path)) : Optional.empty();
    } catch (IOException e) {
      throw unavailable(key, e);
    }
  }

  @Override
  public void put(String key, Path source) {
    Path target = path(key);
    try {
      Path temp = temporaryBeside(target);
      try (InputStream in = Files.newInputStream(source, LinkOption.NOFOLLOW_LINKS)) {
        Files.copy(in, temp, StandardCopyOption.REPLACE_EXISTING);
      }
      setObjectMode(temp);
      Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw unavailable(key, e);
    }
  }

  @Override
  public boolean putIfAbsent(String key, byte[] content) {
    Path target = path(key);
    Path temp = null;
    try {
      temp = temporaryBeside(target);
      Files.write(temp, content);
      setObjectMode(temp);
      Files.createLink(target, temp);
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } catch (IOException e) {
      throw unavailable(key, e);
    } finally {
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException ignored) {
          // A stray temporary file is harmless; its name marks it.
        }
      }
    }
  }

  @Override
  public byte[] getBytes(String key) {
    try {
      try (InputStream in = Files.newInputStream(path(key), LinkOption.NOFOLLOW_LINKS)) {
        return in.readAllBytes();
      }
    } catch (NoSuchFileException e) {
      throw notFound(key);
    } catch (IOException e) {
      throw unavailable(key, e);
    }
  }

  @Override
  public InputStream open(String key) {
    try {
      return Files.newInputStream(path(key), LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw notFound(key);
    } catch (IOException e) {
      throw unavailable(key, e);
    }
  }

  @Override
  public void download(String key, Path target) {
    try {
      Files.createDirectories(target.toAbsolutePath().getParent());
      try (InputStream in = Files.newInputStream(path(key), LinkOption.NOFOLLOW_LINKS)) {
        Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (NoSuchFileException e) {
      throw notFound(key);
    } catch (IOException e) {
      throw unavailable(key, e);
    }
  }

  @Override
  public List<String> list(String prefix) {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.filter(Files::isRegularFile)
          .map(p -> root.relativize(p).toString().replace('\\', '/'))
          .filter(k -> k.startsWith(prefix) && !k.contains(".tmp-"))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root, e);
    }
  }

  @Override
  public List<Listed> listDetailed(String prefix) {
    List<Listed> listed = new java.util.ArrayList<>();
    for (String key : list(prefix)) {
      try {
        var attributes = Files.readAttributes(root.resolve(key), java.nio.file.attribute.BasicFileAttributes.class,
            LinkOption.NOFOLLOW_LINKS);
        listed.add(new Listed(key, attributes.size(), attributes.lastModifiedTime().toInstant()));
      } catch (NoSuchFileException e) {
        // Deleted between the walk and now: not there to list.
      } catch (IOException e) {
        throw unavailable(key, e);
      }
    }
    return listed;
  }

  private static void setObjectMode(Path file) throws IOException {
    try {
      Files.setPosixFilePermissions(file, OBJECT_MODE);
    } catch (UnsupportedOperationException e) {
      // Not a POSIX file system: it has no mode bits to strip.
    }
  }

  private static Path temporaryBeside(Path target) throws IOException {
    Files.createDirectories(target.getParent());
    return Files.createTempFile(target.getParent(), "." + target.getFileName() + ".tmp-", "");
  }

  private TimemachineException notFound(String key) {
    return TimemachineException.notFound(uriOf(key) + " does not exist", null);
  }

  private TimemachineException unavailable(String key, IOException e) {
    if (DiskFullException.isDiskFull(e)) {
      return new DiskFullException(root, "storing " + uriOf(key), e);
    }
    return TimemachineException.unavailable("cannot access " + uriOf(key) + ": " + e, e);
  }
}
