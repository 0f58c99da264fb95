package dev.timemachine.core.evidence;

import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.ObjectStore;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/** A map as an object store, for the evidence tests (core cannot see the adapters' in-memory store). */
final class MapStore implements ObjectStore {
  final TreeMap<String, byte[]> objects = new TreeMap<>();

  @Override
  public String rootUri() {
    return "mem://test";
  }

  @Override
  public boolean exists(String key) {
    return objects.containsKey(key);
  }

  @Override
  public Optional<Long> size(String key) {
    return Optional.ofNullable(objects.get(key)).map(b -> (long) b.length);
  }

  @Override
  public void put(String key, Path source) {
    throw new UnsupportedOperationException();
  }

  @Override
  public boolean putIfAbsent(String key, byte[] content) {
    return objects.putIfAbsent(key, content.clone()) == null;
  }

  /** How many times each key was read. */
  final java.util.Map<String, Integer> reads = new java.util.concurrent.ConcurrentHashMap<>();

  @Override
  public byte[] getBytes(String key) {
    reads.merge(key, 1, Integer::sum);
    byte[] b = objects.get(key);
    if (b == null) {
      throw TimemachineException.notFound("no " + key, null);
    }
    return b.clone();
  }

  @Override
  public InputStream open(String key) {
    return new ByteArrayInputStream(getBytes(key));
  }

  @Override
  public void download(String key, Path target) {
    throw new UnsupportedOperationException();
  }

  @Override
  public List<String> list(String prefix) {
    List<String> keys = new ArrayList<>();
    for (String k : objects.tailMap(prefix).keySet()) {
      if (!k.startsWith(prefix)) {
        break;
      }
      keys.add(k);
    }
    return keys;
  }

  /** Flips one byte of a stored object, as an attacker with write access would. */
  void flipByte(String key, int index) {
    byte[] b = objects.get(key);
    b[index] ^= 0x01;
  }
}
