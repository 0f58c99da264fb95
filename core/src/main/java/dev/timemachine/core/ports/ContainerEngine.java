package dev.timemachine.core.ports;

import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.TrainingLimits;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Pulls images by digest and runs training containers, isolated from every network. */
public interface ContainerEngine {

  /** A pulled image: the digest the engine verified and its local image id. */
  record PulledImage(ImageRef image, String imageId, long sizeBytes) {}

  /**
   * What an image is made of, as the engine exports it: its configuration's bytes (whose sha256 is the
   * image id) and the sha256 of each layer's uncompressed tar, in the configuration's order ({@code
   * rootfs.diff_ids} must list the same), and how many bytes were hashed.
   */
  record ImageContents(byte[] config, List<String> layerDigests, long bytesHashed) {}

  /** A bind mount from the host into the container. */
  record Mount(Path hostPath, String containerPath, boolean readOnly) {}

  /**
   * A training container. {@code name} is deterministic per replay so that a retried attempt finds the
   * container of an earlier one instead of starting a second training. {@code logFile}, if not null, is
   * a host file that receives the container's whole log (stdout and stderr, in the order the engine
   * delivered them), rewritten from the container's start on every attempt.
   */
  record ContainerRequest(
      String name,
      ImageRef image,
      List<String> command,
      String workingDir,
      List<Mount> mounts,
      Map<String, String> environment,
      Map<String, String> labels,
      TrainingLimits limits,
      Path logFile) {
    public ContainerRequest(
        String name,
        ImageRef image,
        List<String> command,
        String workingDir,
        List<Mount> mounts,
        Map<String, String> environment,
        Map<String, String> labels,
        TrainingLimits limits) {
      this(name, image, command, workingDir, mounts, environment, labels, limits, null);
    }
  }

  /**
   * How a container ended. {@code logTail} is the last lines it printed; {@code logLines} and {@code
   * logBytes} count the whole log, of which {@code logFile} kept at most a bounded prefix ({@code
   * logTruncated} then). {@code sandboxKill} says why the engine killed it for breaking a sandbox limit
   * (its outputs grew past {@code maxOutputBytes} or {@code maxOutputFiles}), or is null.
   */
  record ContainerExit(
      long exitCode,
      boolean oomKilled,
      boolean timedOut,
      long durationMs,
      List<String> logTail,
      long logLines,
      long logBytes,
      boolean logTruncated,
      String sandboxKill) {
    public ContainerExit(
        long exitCode, boolean oomKilled, boolean timedOut, long durationMs, List<String> logTail, long logLines,
        long logBytes, boolean logTruncated) {
      this(exitCode, oomKilled, timedOut, durationMs, logTail, logLines, logBytes, logTruncated, null);
    }

    public ContainerExit(long exitCode, boolean oomKilled, boolean timedOut, long durationMs, List<String> logTail) {
      this(exitCode, oomKilled, timedOut, durationMs, logTail, logTail.size(), -1, false);
    }
  }

  /**
   * Pulls {@code image} by digest and verifies that the engine holds exactly that digest. Throws
   * {@code InputUnverifiableException} naming the digest if the registry does not have it.
   */
  PulledImage pull(ImageRef image, Progress progress);

  /**
   * Exports the image {@code imageId} as the engine holds it ({@code docker save}) and hashes what it is
   * made of, reading every layer, reporting progress from the calling thread. Nothing is written to
   * disk. Throws {@code TimemachineException} ({@code NOT_FOUND} if the engine has no such image,
   * {@code UNAVAILABLE} if it cannot be reached).
   */
  ImageContents exportImage(String imageId, Progress progress);

  /**
   * Runs the container to completion with network mode {@code none}, confined as {@code
   * limits.sandbox()} says; its writable mounts are made writable by the sandbox user first. If a container of that name
   * exists from an earlier attempt, it is not started again: a running one is followed, an exited one
   * is collected (exit code, logs). Kills and removes it on timeout (counted from its start) or when
   * {@code progress} throws (cancellation). The container is removed before this returns.
   */
  default ContainerExit run(ContainerRequest request, Progress progress) {
    return run(request, progress, exit -> {});
  }

  /**
   * As {@link #run(ContainerRequest, Progress)}, but {@code beforeRemoval} is handed the exit while the
   * container still exists, so that a caller can record it durably first: if the caller dies or fails
   * between the container's exit and that record, the next attempt still finds the exited container and
   * collects it instead of training a second time. When {@code beforeRemoval} throws, or following the
   * container fails for any reason but a cancellation ({@code progress} throwing) or a kill from outside,
   * the container is <em>left</em> (running or exited) for the next attempt to follow; the replay's
   * cleanup, or the reaper after a crash, removes it.
   */
  ContainerExit run(ContainerRequest request, Progress progress, java.util.function.Consumer<ContainerExit> beforeRemoval);

  /** Removes the named container if it exists; idempotent. */
  void remove(String name);

  /** Names of the containers, running or not, that carry this label. */
  List<String> containersWithLabel(String key, String value);

  /** A container found by label: its name, all its labels, and whether it still runs. */
  record Labelled(String name, Map<String, String> labels, boolean running) {}

  /** Every container, running or not, that carries the label {@code key} (any value); for reaping. */
  List<Labelled> containersLabelled(String key);
}
