package dev.timemachine.app;

import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.ReplayIds;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A replay id held by this process on this host, for as long as it lives. An embedded CLI has a
 * Temporal server of its own, so Temporal cannot tell two of them apart when they start one replay id
 * at once; this lock can: the second is refused before any workflow starts. The operating system
 * releases it when the process ends, {@code kill -9} included; the replay releases it when it ends.
 * Lock files stay, empty, in {@code <workDir>/.locks/}.
 */
final class HostLocks {
  private HostLocks() {}

  /** Holds {@code replayId} until the returned handle is closed (or the process ends). */
  static AutoCloseable hold(Path workDir, String replayId) {
    Path file = workDir.resolve(".locks").resolve(ReplayIds.require(replayId) + ".lock");
    try {
      Files.createDirectories(file.getParent());
      FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        channel.close();
        throw TimemachineException.conflict(
            "replay id " + replayId + " is being replayed by another timemachine process on this host",
            "a replay id is used once: leave out --replay-id for a fresh one, or choose another");
      }
      FileLock held = lock;
      return () -> {
        held.release();
        channel.close();
      };
    } catch (IOException e) {
      throw TimemachineException.unavailable("cannot lock replay id " + replayId + " in " + file.getParent() + ": " + e, e);
    }
  }
}
