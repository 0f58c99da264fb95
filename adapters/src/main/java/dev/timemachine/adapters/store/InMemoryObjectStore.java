package dev.timemachine.adapters.store;

import dev.timemachine.core.model.RelativePaths;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.ObjectStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * An object store in memory, for unit tests of what sits on the {@link ObjectStore} port. It passes the
 * same contract test as the local and S3 stores, so a test on it means what it says.
 */
public final class InMemoryObjectStore implements ObjectStore {
  final ConcurrentSkipListMap<String, byte[]> objects = new ConcurrentSkipListMap<>();
  private final java.util.concurrent.ConcurrentHashMap<String, java.time.Instant> written =
      new java.util.concurrent.ConcurrentHashMap<>();
  private volatile java.time.Clock clock = java.time.Clock.systemUTC();

  /** The clock that stamps what is written from now on, so a test can age objects (gc's grace period). */
  public InMemoryObjectStore withClock(java.time.Clock newClock) {
    this.clock = newClock;
    return this;
  }

  @Override
  public String rootUri() {
    return "mem://test";
  }

  @Override
  public boolean exists(String key) {
    return objects.containsKey(RelativePaths.require(key, "key"));
  }

  @Override
  public void delete(String key) {
    objects.remove(RelativePaths.require(key, "key"));
    written.remove(key);
  }

  @Override
  public Optional<Long> size(String key) {
    return Optional.ofNullable(objects.get(RelativePaths.require(key, "key"))).map(b -> (long) b.length);
  }

  @Override
  public void put(String key, Path source) {
    try {
      objects.put(RelativePaths.require(key, "key"), Files.readAllBytes(source));
      written.put(key, clock.instant());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public boolean putIfAbsent(String key, byte[] content) {
    if (objects.putIfAbsent(RelativePaths.require(key, "key"), content.clone()) != null) {
      return false;
    }
    written.put(key, clock.instant());
    return true;
  }

  @Override
  public byte[] getBytes(String key) {
    byte[] bytes = objects.get(RelativePaths.require(key, "key"));
    if (bytes == null) {
      throw TimemachineException.notFound(uriOf(key) + " not found", null);
    }
    return bytes.clone();
  }

  @Override
  public InputStream open(String key) {
    return new ByteArrayInputStream(getBytes(key));
  }

  @Override
  public void download(String key, Path target) {
    byte[] bytes = getBytes(key);
    try {
      Files.createDirectories(target.toAbsolutePath().getParent());
      Files.write(target, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public List<String> list(String prefix) {
    return objects.keySet().stream().filter(k -> k.startsWith(prefix)).toList();
  }

  @Override
  public List<Listed> listDetailed(String prefix) {
    return objects.entrySet().stream().filter(e -> e.getKey().startsWith(prefix))
        .map(e -> new Listed(e.getKey(), e.getValue().length, written.getOrDefault(e.getKey(), java.time.Instant.EPOCH)))
        .toList();
  }
}
