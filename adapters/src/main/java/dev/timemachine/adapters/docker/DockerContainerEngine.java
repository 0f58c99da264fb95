package dev.timemachine.adapters.docker;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerResponse;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.command.InspectContainerResponse.ContainerState;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerClientException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.PullResponseItem;
import com.github.dockerjava.api.model.Ulimit;
import com.github.dockerjava.api.model.Volume;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import dev.timemachine.core.errors.Causes;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.SandboxSettings;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.ports.ContainerEngine;
import dev.timemachine.core.ports.Progress;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ContainerEngine} on a Docker engine, through docker-java. Two properties matter more than the
 * rest. Pulls are content-addressed: an image counts as the recorded environment only if the engine
 * lists exactly {@code repository@digest} among its repo digests. Runs are idempotent across Temporal
 * retries: the container name is deterministic, so an attempt that finds the container of an earlier
 * one follows it (running) or collects it (exited) instead of training a second time. Every call that
 * waits does so in slices of about a second and reports progress from the calling thread, because that
 * report is the activity heartbeat through which cancellation arrives.
 */
public final class DockerContainerEngine implements ContainerEngine, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DockerContainerEngine.class);
  private static final long SLICE_MS = 1000;
  private static final long OUTPUT_CHECK_NANOS = 2_000_000_000L;
  /** Entries of an exported image up to this size are kept in memory while it is read (configurations are a few kB). */
  private static final long SMALL_ENTRY = 4 << 20;

  private final String host;
  private final DockerClient docker;

  /**
   * Connects lazily to {@code dockerHost} ({@code unix:///path} or {@code tcp://host:port}). The API
   * version is left unset so that requests carry no version and the engine speaks its own: pinning a
   * recent one would be rejected by engines as old as 20.10 (API 1.41).
   */
  public DockerContainerEngine(String dockerHost) {
    this.host = dockerHost;
    try {
      DockerClientConfig config =
          DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(dockerHost).build();
      ApacheDockerHttpClient http =
          new ApacheDockerHttpClient.Builder()
              .dockerHost(config.getDockerHost())
              .sslConfig(config.getSSLConfig())
              .connectionTimeout(Duration.ofSeconds(10))
              .build();
      this.docker = DockerClientImpl.getInstance(config, http);
    } catch (IllegalArgumentException e) {
      throw TimemachineException.configuration(
          "Docker host '" + dockerHost + "' is not valid: " + oneLine(e.getMessage()),
          "set DOCKER_HOST to unix:///var/run/docker.sock or tcp://HOST:PORT");
    }
  }

  @Override
  public PulledImage pull(ImageRef image, Progress progress) {
    String reference = image.toString();
    InspectImageResponse local = inspectImage(reference);
    if (local == null || !holdsDigest(local, reference)) {
      progress.report("pulling " + reference);
      PullStream stream =
          call("pull " + reference,
              () -> docker.pullImageCmd(image.repository()).withTag(image.digest()).exec(new PullStream()));
      await(stream, progress, () -> "pulling " + reference + ": " + stream.summary());
      progress.report("pulled " + reference + ": " + stream.summary());
      if (stream.error() != null) {
        throw pullFailure(image, stream.error());
      }
      if (stream.streamError != null) {
        throw pullFailure(image, new DockerClientException(stream.streamError));
      }
      local = inspectImage(reference);
    }
    if (local == null || !holdsDigest(local, reference)) {
      throw new InputUnverifiableException(
          InputKind.ENVIRONMENT,
          "image " + reference + " could not be verified: after the pull the Docker engine at " + host
              + (local == null ? " does not have the image" : " lists repo digests " + local.getRepoDigests()));
    }
    return new PulledImage(image, local.getId(), Objects.requireNonNullElse(local.getSize(), 0L));
  }

  /**
   * Streams {@code docker save} of the image through a tar reader: every layer's tar is hashed as it
   * passes (both layouts: {@code <id>/layer.tar} of the classic one, {@code blobs/sha256/<hex>} of the
   * OCI one, and a layer entry that links to another), the configuration and {@code manifest.json} are
   * kept, and the layers are put in the order {@code manifest.json} lists them.
   */
  @Override
  public ImageContents exportImage(String imageId, Progress progress) {
    java.util.Map<String, String> digests = new java.util.HashMap<>();
    java.util.Map<String, String> links = new java.util.HashMap<>();
    java.util.Map<String, byte[]> small = new java.util.HashMap<>();
    long hashed = 0;
    long[] lastReport = {System.nanoTime()};
    try (InputStream saved = awaitExport(imageId, progress);
        org.apache.commons.compress.archivers.tar.TarArchiveInputStream tar =
            new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(saved)) {
      for (var entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
        String name = entry.getName();
        if (entry.isSymbolicLink() || entry.isLink()) {
          links.put(name, java.nio.file.Path.of(name).resolveSibling(entry.getLinkName()).normalize().toString());
          continue;
        }
        if (!entry.isFile()) {
          continue;
        }
        if (entry.getSize() <= SMALL_ENTRY) {
          // A configuration, manifest.json or a small layer: kept, since which is which is known only at the end.
          byte[] bytes = tar.readAllBytes();
          small.put(name, bytes);
          hashed += bytes.length;
          digests.put(name, "sha256:" + dev.timemachine.core.data.Digests.sha256Hex(bytes));
          continue;
        }
        long before = hashed;
        dev.timemachine.core.data.Digests.Streamed layer = dev.timemachine.core.data.Digests.sha256(tar, null, soFar -> {
          long now = System.nanoTime();
          if (now - lastReport[0] > SLICE_MS * 1_000_000L) {
            lastReport[0] = now;
            progress.report("hashing the layers of " + imageId + ": " + (before + soFar) / (1 << 20) + " MiB");
          }
        });
        hashed += layer.size();
        digests.put(name, "sha256:" + layer.sha256());
      }
    } catch (IOException e) {
      throw TimemachineException.unavailable(
          "export of image " + imageId + " from the Docker engine at " + host + " broke off: " + oneLine(e.getMessage()), e);
    }
    byte[] manifest = small.get("manifest.json");
    if (manifest == null) {
      throw TimemachineException.unavailable(
          "the Docker engine at " + host + " exported image " + imageId + " without a manifest.json", null);
    }
    try {
      JsonNode entry = Json.mapper().readTree(manifest).path(0);
      String configPath = resolve(links, entry.path("Config").asText(""));
      byte[] config = small.get(configPath);
      if (config == null) {
        throw TimemachineException.unavailable("the Docker engine at " + host + " exported image " + imageId
            + " without its configuration " + configPath, null);
      }
      List<String> layers = new java.util.ArrayList<>();
      for (JsonNode layer : entry.path("Layers")) {
        String path = resolve(links, layer.asText());
        String digest = digests.get(path);
        layers.add(digest == null ? "missing:" + path : digest);
      }
      return new ImageContents(config, List.copyOf(layers), hashed);
    } catch (IOException e) {
      throw TimemachineException.unavailable(
          "the Docker engine at " + host + " exported image " + imageId + " with a manifest.json that is not JSON", e);
    }
  }

  /**
   * Waits for the engine to start answering an export, which it does only once it has assembled the
   * whole image (seconds for a large one), in slices, reporting from the calling thread: that report is
   * the activity's heartbeat. A stream that arrives after the wait was given up is closed.
   */
  private InputStream awaitExport(String imageId, Progress progress) {
    java.util.concurrent.CompletableFuture<InputStream> answer = new java.util.concurrent.CompletableFuture<>();
    Thread asker = new Thread(() -> {
      try {
        answer.complete(exportStream(imageId));
      } catch (RuntimeException e) {
        answer.completeExceptionally(e);
      }
    }, "timemachine-image-export");
    asker.setDaemon(true);
    asker.start();
    long started = System.nanoTime();
    try {
      while (true) {
        try {
          return answer.get(SLICE_MS, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          progress.report("the Docker engine is assembling the export of " + imageId + " ("
              + (System.nanoTime() - started) / 1_000_000_000L + " s)");
        }
      }
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      answer.thenAccept(DockerContainerEngine::closeQuietly);
      throw TimemachineException.unavailable("interrupted while exporting image " + imageId, e);
    } catch (RuntimeException e) {
      // The report threw (the activity was cancelled): nobody will read the stream.
      answer.thenAccept(DockerContainerEngine::closeQuietly);
      throw e;
    }
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException ignored) {
      // Given up on already.
    }
  }

  /**
   * The engine's export of an image. An engine (20.10) assembles the whole export before it answers and
   * checks each layer file against the checksum it recorded at the pull: a layer altered on its disk is
   * refused with a 500 that says so, which is the image's fault (unverifiable), not an outage.
   */
  private InputStream exportStream(String imageId) {
    try {
      return docker.saveImageCmd(imageId).exec();
    } catch (DockerException e) {
      String message = dockerMessage(e);
      if (e.getHttpStatus() == 500 && (message.contains("integrity checksum failed") || message.contains("failed to verify"))) {
        throw new InputUnverifiableException(InputKind.ENVIRONMENT,
            "image " + imageId + " could not be verified: the Docker engine at " + host + " refuses to export it: " + message
                + ": its copy of a layer was altered on its disk; remove the image (docker rmi -f " + imageId
                + ") and replay again, which pulls it by digest", e);
      }
      throw failure("export image " + imageId, e);
    } catch (RuntimeException e) {
      throw failure("export image " + imageId, e);
    }
  }

  private static String resolve(java.util.Map<String, String> links, String path) {
    String p = path;
    for (int hops = 0; hops < 8 && links.containsKey(p); hops++) {
      p = links.get(p);
    }
    return p;
  }

  @Override
  public ContainerExit run(ContainerRequest request, Progress progress, Consumer<ContainerExit> beforeRemoval) {
    String name = request.name();
    InspectContainerResponse container = find(name);
    if (container != null && killedUnfollowed(container)) {
      // Live-restore is off by default, so an engine that restarts kills the containers it ran: this one's
      // outputs are cut short, and collecting its exit would blame the model for the engine's restart.
      log.warn("container {} of an earlier attempt was killed (exit 137, not by the OOM killer) while nobody"
          + " followed it, as a restart of the Docker engine at {} does; starting the training again", name, host);
      remove(name);
      request.mounts().stream().filter(m -> !m.readOnly()).forEach(m -> emptyDirectory(m.hostPath()));
      container = null;
    }
    if (container == null) {
      container = create(request, progress);
    } else {
      log.info("container {} exists from an earlier attempt ({}); following it instead of starting another",
          name, container.getState().getStatus());
    }
    String id = container.getId();
    LogTail logs = newLogTail(request);
    RuntimeException failure = null;
    // Whether the container must go even though this attempt failed: it was cancelled (the progress threw)
    // or killed from outside (the next attempt must start afresh). Any other failure leaves it for the next
    // attempt, which follows a running one and collects an exited one: removing it would train twice.
    boolean[] removeOnFailure = {false};
    Progress cancellable = message -> {
      try {
        progress.report(message);
      } catch (RuntimeException e) {
        removeOnFailure[0] = true;
        throw e;
      }
    };
    try {
      if ("created".equals(container.getState().getStatus())) {
        call("start container " + name, () -> docker.startContainerCmd(id).exec());
      }
      followLogs(name, id, logs);
      ContainerExit exit = follow(name, id, request, logs, cancellable);
      if (exit.exitCode() == 137 && !exit.oomKilled() && !exit.timedOut() && exit.sandboxKill() == null) {
        // A SIGKILL that neither the OOM killer nor timemachine's limits sent came from outside the sandbox
        // (the container's own processes cannot kill its pid 1 so): the engine's restart, or a person.
        removeOnFailure[0] = true;
        throw TimemachineException.unavailable(
            "container " + name + " was killed from outside (exit 137, not by the OOM killer, not by a limit):"
                + " the Docker engine at " + host + " restarted (live-restore is off) or someone killed it;"
                + " the training is started again", null);
      }
      ContainerExit whole = completeLog(name, id, request, logs, exit);
      beforeRemoval.accept(whole);
      return whole;
    } catch (RuntimeException e) {
      failure = e;
      throw e;
    } finally {
      logs.closeQuietly();
      try {
        logs.closeFile();
      } catch (RuntimeException e) {
        if (failure != null) {
          failure.addSuppressed(e);
        }
      }
      if (failure == null || removeOnFailure[0]) {
        try {
          remove(name);
        } catch (RuntimeException e) {
          if (failure == null) {
            throw e;
          }
          failure.addSuppressed(e);
        }
      } else {
        log.warn("container {} is left for the next attempt to follow or collect, so that it is not trained twice:"
            + " this attempt failed with {}", name, oneLine(String.valueOf(failure.getMessage())));
      }
    }
  }

  /**
   * Whether a container found from an earlier attempt was killed (SIGKILL, exit 137) without the OOM killer:
   * what the engine does to its running containers when it starts again after a crash or restart. An exit
   * the attempt saw itself (the timeout's kill included) never gets here: that attempt removed the container.
   */
  static boolean killedUnfollowed(InspectContainerResponse container) {
    ContainerState state = container.getState();
    return state != null && "exited".equals(state.getStatus()) && Long.valueOf(137).equals(state.getExitCodeLong())
        && !Boolean.TRUE.equals(state.getOOMKilled());
  }

  /** Empties a writable mount of a killed container, so that the fresh one starts from nothing. */
  private static void emptyDirectory(Path dir) {
    try (java.util.stream.Stream<Path> children = Files.list(dir)) {
      for (Path child : (Iterable<Path>) children::iterator) {
        dev.timemachine.core.data.Directories.deleteRecursively(child);
      }
    } catch (java.nio.file.NoSuchFileException e) {
      // Nothing to empty.
    } catch (IOException | java.io.UncheckedIOException e) {
      throw TimemachineException.unavailable("cannot empty " + dir + " for a fresh training container: " + e, e);
    }
  }

  private static LogTail newLogTail(ContainerRequest request) {
    return request.logFile() == null ? new LogTail() : new LogTail(request.logFile(), LogTail.DEFAULT_MAX_FILE_BYTES);
  }

  private void followLogs(String name, String id, LogTail logs) {
    call("follow the logs of container " + name,
        () -> docker.logContainerCmd(id).withStdOut(true).withStdErr(true).withTimestamps(true).withFollowStream(true).exec(logs));
  }

  /**
   * The exit with its log made whole. The followed stream is for live progress; once the container
   * has stopped, the log is read again from its start, because a follow stream can end with the
   * container before it delivered the last lines (seen here: 10,000 lines, the last 3,000 missing
   * under load), and the report and the stored log must never silently miss lines.
   */
  private ContainerExit completeLog(String name, String id, ContainerRequest request, LogTail logs, ContainerExit exit) {
    LogTail complete = logs;
    {
      if (!logs.finished() || logs.error() != null) {
        log.info("the log stream of container {} did not end cleanly ({}); reading the whole log again", name,
            logs.error() == null ? "still open" : oneLine(logs.error().getMessage()));
      }
      logs.closeQuietly();
      logs.closeFile();
      complete = newLogTail(request);
      LogTail reread = complete;
      call("read the logs of container " + name,
          () -> docker.logContainerCmd(id).withStdOut(true).withStdErr(true).withTimestamps(true).withFollowStream(false).exec(reread));
      try {
        if (!reread.awaitFinished(60, TimeUnit.SECONDS) || reread.error() != null) {
          throw TimemachineException.unavailable(
              "could not read the log of container " + name + " from the Docker engine at " + host
                  + (reread.error() == null ? " within 60 s" : ": " + oneLine(reread.error().getMessage())),
              reread.error());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw TimemachineException.unavailable("interrupted while reading the log of container " + name, e);
      } finally {
        reread.lines(); // releases the lines held back for ordering into the file before it closes
        reread.closeFile();
      }
    }
    List<String> tail = complete.lines();
    return new ContainerExit(exit.exitCode(), exit.oomKilled(), exit.timedOut(), exit.durationMs(), tail,
        complete.totalLines(), complete.totalBytes(), complete.truncated(), exit.sandboxKill());
  }

  @Override
  public void remove(String name) {
    InspectContainerResponse container = find(name);
    if (container == null) {
      return;
    }
    try {
      docker.removeContainerCmd(container.getId()).withForce(true).withRemoveVolumes(true).exec();
    } catch (NotFoundException | ConflictException e) {
      // Already gone, or its removal is already in progress.
    } catch (RuntimeException e) {
      throw failure("remove container " + name, e);
    }
  }

  @Override
  public List<String> containersWithLabel(String key, String value) {
    List<Container> containers =
        call("list containers labelled " + key + "=" + value,
            () -> docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(key, value)).exec());
    return containers.stream()
        .map(c -> c.getNames() == null || c.getNames().length == 0 ? c.getId() : c.getNames()[0].replaceFirst("^/", ""))
        .sorted()
        .toList();
  }

  @Override
  public List<Labelled> containersLabelled(String key) {
    List<Container> containers =
        call("list containers labelled " + key,
            () -> docker.listContainersCmd().withShowAll(true).withLabelFilter(List.of(key)).exec());
    return containers.stream()
        .map(c -> new Labelled(
            c.getNames() == null || c.getNames().length == 0 ? c.getId() : c.getNames()[0].replaceFirst("^/", ""),
            c.getLabels() == null ? Map.of() : Map.copyOf(c.getLabels()),
            "running".equalsIgnoreCase(c.getState())))
        .sorted(java.util.Comparator.comparing(Labelled::name))
        .toList();
  }

  @Override
  public void close() {
    try {
      docker.close();
    } catch (IOException e) {
      log.debug("closing the Docker client failed", e);
    }
  }

  /**
   * Creates the container, confined as {@code limits.sandbox()} says. The engine's defaults are
   * root, a writable root file system and a dozen capabilities; the training runs code anybody with
   * push access wrote, so every one of them is taken away unless the sandbox is relaxed (which gives
   * back the image's user and a writable root file system, nothing else). Docker's default seccomp
   * profile stays on because nothing here asks for {@code seccomp=unconfined}.
   */
  private InspectContainerResponse create(ContainerRequest request, Progress progress) {
    TrainingLimits limits = request.limits();
    checkFits(limits);
    SandboxSettings sandbox = limits.sandbox();
    request.mounts().stream().filter(m -> !m.readOnly()).forEach(m -> makeWritableFor(sandbox, m.hostPath()));
    long fileSize = sandbox.maxOutputBytes();
    HostConfig hostConfig =
        HostConfig.newHostConfig()
            .withReadonlyRootfs(sandbox.readOnlyRootfs())
            .withCapDrop(Capability.ALL)
            .withSecurityOpts(List.of("no-new-privileges"))
            // HOME is /tmp (TrainingContainer): libraries that cache there get a small, private tmpfs.
            .withTmpFs(Map.of("/tmp", "rw,nosuid,nodev,size=" + sandbox.tmpfsBytes() + ",mode=1777"))
            .withUlimits(List.of(
                new Ulimit("nofile", sandbox.maxOpenFiles(), sandbox.maxOpenFiles()),
                new Ulimit("fsize", fileSize, fileSize)))
            .withBinds(
                request.mounts().stream()
                    .map(m -> new Bind(m.hostPath().toAbsolutePath().toString(), new Volume(m.containerPath()),
                        m.readOnly() ? AccessMode.ro : AccessMode.rw))
                    .toList())
            .withNetworkMode("none")
            .withMemory(limits.memoryBytes())
            .withMemorySwap(limits.memoryBytes())
            .withNanoCPUs(Math.round(limits.cpus() * 1e9))
            .withPidsLimit((long) limits.pidsLimit());
    List<String> env =
        Objects.requireNonNullElse(request.environment(), Map.<String, String>of()).entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue())
            .toList();
    Supplier<CreateContainerResponse> create =
        () -> withUser(docker.createContainerCmd(request.image().toString()), sandbox)
            .withName(request.name())
            .withCmd(request.command())
            .withWorkingDir(request.workingDir())
            .withEnv(env)
            .withLabels(Objects.requireNonNullElse(request.labels(), Map.of()))
            .withHostConfig(hostConfig)
            .exec();
    String action = "create container " + request.name() + " from " + request.image();
    try {
      create.get();
    } catch (NotFoundException e) {
      // The image was removed from this engine since it was pulled: pull it again, once.
      pull(request.image(), progress);
      call(action, create);
    } catch (ConflictException e) {
      log.info("container {} was created concurrently by another attempt; following it", request.name());
    } catch (RuntimeException e) {
      throw failure(action, e);
    }
    InspectContainerResponse container = find(request.name());
    if (container == null) {
      throw TimemachineException.unavailable(
          "container " + request.name() + " vanished right after it was created", null);
    }
    return container;
  }

  /**
   * Refuses limits this engine cannot give, before anything is created: {@code --cpus 1000} on a
   * 2-CPU engine is the user's mistake (INVALID_INPUT naming the option), never a failed training.
   * Memory above the engine's total would only let a training swap the host to death: refused too.
   */
  private void checkFits(TrainingLimits limits) {
    com.github.dockerjava.api.model.Info info = call("read the Docker engine's resources", () -> docker.infoCmd().exec());
    Integer cpus = info.getNCPU();
    Long memory = info.getMemTotal();
    if (cpus != null && cpus > 0 && limits.cpus() > cpus) {
      throw TimemachineException.invalidInput(
          "--cpus " + limits.cpus() + " is more than the " + cpus + " CPUs of the Docker engine at " + host
              + ": give at most --cpus " + cpus);
    }
    if (memory != null && memory > 0 && limits.memoryBytes() > memory) {
      throw TimemachineException.invalidInput(
          "--memory " + limits.memoryBytes() + " bytes is more than the " + memory + " bytes ("
              + (memory >> 20) + " MiB) of the Docker engine at " + host + ": give at most --memory " + (memory >> 20) + "m");
    }
  }

  /** A relaxed sandbox leaves the image's own user; docker-java refuses a null one. */
  private static com.github.dockerjava.api.command.CreateContainerCmd withUser(
      com.github.dockerjava.api.command.CreateContainerCmd cmd, SandboxSettings sandbox) {
    return sandbox.user().isEmpty() ? cmd : cmd.withUser(sandbox.user());
  }

  /** Waits for the container to stop, reporting progress and enforcing the timeout, then collects its exit. */
  private ContainerExit follow(String name, String id, ContainerRequest request, LogTail logs, Progress progress) {
    TrainingLimits limits = request.limits();
    List<Path> writable = request.mounts().stream().filter(m -> !m.readOnly()).map(m -> m.hostPath()).toList();
    String sandboxKill = null;
    long lastMeasured = 0;
    long attachedAt = System.nanoTime();
    ContainerState state = inspectRunning(name, id);
    Instant startedAt = instant(state.getStartedAt());
    // A container followed again after a retry keeps the time it already used.
    long usedBeforeMs = startedAt == null ? 0 : Math.max(0, Duration.between(startedAt, Instant.now()).toMillis());
    long timeoutMs = TimeUnit.SECONDS.toMillis(limits.timeoutSeconds());
    boolean timedOut = false;
    try {
      while (Boolean.TRUE.equals(state.getRunning())) {
        long elapsedMs = usedBeforeMs + (System.nanoTime() - attachedAt) / 1_000_000;
        if (!timedOut && elapsedMs > timeoutMs) {
          log.info("container {} exceeded its timeout of {} s; killing it", name, limits.timeoutSeconds());
          kill(name, id);
          timedOut = true;
        }
        if (sandboxKill == null && !timedOut && System.nanoTime() - lastMeasured > OUTPUT_CHECK_NANOS) {
          lastMeasured = System.nanoTime();
          sandboxKill = outputLimitBroken(writable, limits.sandbox());
          if (sandboxKill != null) {
            log.info("container {} broke a sandbox limit: {}; killing it", name, sandboxKill);
            kill(name, id);
          }
        }
        String last = logs.last();
        progress.report((timedOut ? "timed out, stopping after " : "running ") + elapsedMs / 1000 + "s; last log: "
            + (last == null ? "(none yet)" : last));
        if (logs.awaitFinished(SLICE_MS, TimeUnit.MILLISECONDS)) {
          Thread.sleep(logs.error() == null ? 50 : SLICE_MS); // the log stream ends when the container stops
        }
        state = inspectRunning(name, id);
      }
      // The stream delivers what the container printed last just after it stops.
      logs.awaitFinished(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw TimemachineException.unavailable("interrupted while waiting for container " + name, e);
    }
    Instant finishedAt = instant(state.getFinishedAt());
    long durationMs =
        startedAt != null && finishedAt != null && !finishedAt.isBefore(startedAt)
            ? Duration.between(startedAt, finishedAt).toMillis()
            : usedBeforeMs + (System.nanoTime() - attachedAt) / 1_000_000;
    return new ContainerExit(
        Objects.requireNonNullElse(state.getExitCodeLong(), -1L),
        Boolean.TRUE.equals(state.getOOMKilled()),
        timedOut,
        durationMs,
        List.of(),
        0,
        -1,
        false,
        sandboxKill);
  }

  /**
   * Makes a writable mount writable by the sandbox user and by nobody else: owned by its uid:gid, mode
   * 0700. That is safer than mode 0777, which would let any user of the host plant files (or hard
   * links) in it while the training runs. Only when this process may not change owners (a worker not
   * running as root) is it 0777, and then the replay's own directory above it (0700) keeps others out.
   * A relaxed sandbox runs as the image's user, unknown here, so it gets 0777 too.
   */
  static void makeWritableFor(SandboxSettings sandbox, Path dir) {
    try {
      if (sandbox.uid() >= 0) {
        try {
          Files.setAttribute(dir, "unix:uid", sandbox.uid(), LinkOption.NOFOLLOW_LINKS);
          Files.setAttribute(dir, "unix:gid", sandbox.gid(), LinkOption.NOFOLLOW_LINKS);
          Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
          return;
        } catch (FileSystemException e) {
          log.warn("cannot give {} to the sandbox user {} ({}); making it writable by all instead", dir, sandbox.user(),
              oneLine(e.getMessage()));
        }
      }
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    } catch (IOException | UnsupportedOperationException e) {
      throw TimemachineException.unavailable("cannot make " + dir + " writable for the training container: " + e, e);
    }
  }

  /** Why the outputs written so far break the sandbox's output caps, or null. Links are not followed. */
  static String outputLimitBroken(List<Path> dirs, SandboxSettings sandbox) {
    long[] bytes = {0};
    long[] files = {0};
    for (Path dir : dirs) {
      try {
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
            bytes[0] += attrs.isRegularFile() ? attrs.size() : 0;
            files[0]++;
            return bytes[0] > sandbox.maxOutputBytes() || files[0] > sandbox.maxOutputFiles()
                ? FileVisitResult.TERMINATE : FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path file, IOException e) {
            return FileVisitResult.CONTINUE;
          }
        });
      } catch (IOException e) {
        log.debug("could not measure {}", dir, e);
      }
    }
    if (bytes[0] > sandbox.maxOutputBytes()) {
      return "its outputs grew past " + sandbox.maxOutputBytes() + " bytes (" + SandboxSettings.MAX_OUTPUT_VARIABLE
          + ") and the container was killed";
    }
    if (files[0] > sandbox.maxOutputFiles()) {
      return "it wrote more than " + sandbox.maxOutputFiles() + " output files and the container was killed";
    }
    return null;
  }

  private ContainerState inspectRunning(String name, String id) {
    try {
      return docker.inspectContainerCmd(id).exec().getState();
    } catch (NotFoundException e) {
      throw TimemachineException.unavailable(
          "container " + name + " was removed while it ran (by another attempt or by hand); the step will be retried",
          e);
    } catch (RuntimeException e) {
      throw failure("inspect container " + name, e);
    }
  }

  private void kill(String name, String id) {
    try {
      docker.killContainerCmd(id).exec();
    } catch (NotFoundException | ConflictException e) {
      // It stopped (or went) on its own in the meantime.
    } catch (RuntimeException e) {
      throw failure("kill container " + name, e);
    }
  }

  /**
   * The container with exactly this name, or null. Inspecting by name alone is not enough: the engine
   * also accepts an id prefix, and a name made of hex digits could then match another container.
   */
  private InspectContainerResponse find(String name) {
    try {
      InspectContainerResponse container = docker.inspectContainerCmd(name).exec();
      return ("/" + name).equals(container.getName()) ? container : null;
    } catch (NotFoundException e) {
      return null;
    } catch (RuntimeException e) {
      throw failure("inspect container " + name, e);
    }
  }

  private InspectImageResponse inspectImage(String reference) {
    try {
      return docker.inspectImageCmd(reference).exec();
    } catch (NotFoundException e) {
      return null;
    } catch (RuntimeException e) {
      throw failure("inspect image " + reference, e);
    }
  }

  private static boolean holdsDigest(InspectImageResponse image, String reference) {
    return image.getRepoDigests() != null && image.getRepoDigests().contains(reference);
  }

  /** Waits for a stream in slices, reporting from this thread; aborts the stream if the report throws. */
  private void await(DockerStream<?> stream, Progress progress, Supplier<String> message) {
    try {
      while (!stream.awaitFinished(SLICE_MS, TimeUnit.MILLISECONDS)) {
        progress.report(message.get());
      }
    } catch (InterruptedException e) {
      stream.closeQuietly();
      Thread.currentThread().interrupt();
      throw TimemachineException.unavailable("interrupted while waiting for the Docker engine at " + host, e);
    } catch (RuntimeException e) {
      stream.closeQuietly();
      throw e;
    }
  }

  /** A failed pull: a registry without that digest makes the environment unverifiable, not unavailable. */
  private RuntimeException pullFailure(ImageRef image, Throwable error) {
    if (error instanceof RuntimeException r && !(r instanceof DockerException)) {
      RuntimeException translated = failure("pull " + image, r);
      if (translated != r) {
        return translated;
      }
    }
    String message = error instanceof DockerException d ? dockerMessage(d) : oneLine(error.getMessage());
    if (message.isEmpty()) {
      message = error.getClass().getSimpleName() + " without a message";
    }
    String lower = message.toLowerCase(java.util.Locale.ROOT);
    String registry = registryHost(image.repository());
    if (error instanceof NotFoundException || lower.contains("manifest unknown") || lower.contains("not found")) {
      return new InputUnverifiableException(
          InputKind.ENVIRONMENT,
          "image " + image + " not found: registry " + registry + " has no manifest " + image.digest(),
          error);
    }
    if (lower.contains("digest") && (lower.contains("mismatch") || lower.contains("did not match")
        || lower.contains("verification failed") || lower.contains("invalid"))) {
      return new InputUnverifiableException(
          InputKind.ENVIRONMENT,
          "image " + image + " does not match its digest: registry " + registry + " served content that fails "
              + "verification (" + message + ")",
          error);
    }
    if (lower.contains("unauthorized") || lower.contains("denied")) {
      return new TimemachineException(
          ErrorType.CONFIGURATION, "registry " + registry + " refused to serve " + image + ": " + message,
          "log the Docker engine in to the registry: docker login " + registry, error);
    }
    if (lower.contains("no space left on device")) {
      return new TimemachineException(
          ErrorType.UNAVAILABLE, "the Docker engine at " + host + " ran out of disk space pulling " + image + ": " + message,
          "free space where the engine keeps images (docker image prune, or a larger disk), then retry", error);
    }
    return TimemachineException.unavailable(
        "could not pull " + image + " from registry " + registry + ": " + message
            + "; check that the registry is up and reachable from the Docker engine at " + host,
        error);
  }

  /** Runs one Docker call, translating its failure. */
  private <T> T call(String action, Supplier<T> body) {
    try {
      return body.get();
    } catch (RuntimeException e) {
      throw failure(action, e);
    }
  }

  /**
   * Translates a docker-java failure: the engine's status says whose fault it is; an I/O failure under
   * it means the engine itself cannot be reached. Anything else is a bug and is left as it is.
   */
  private RuntimeException failure(String action, RuntimeException e) {
    if (e instanceof TimemachineException) {
      return e;
    }
    if (e instanceof DockerException d) {
      String message = action + ": " + dockerMessage(d);
      return switch (d.getHttpStatus()) {
        case 400 -> new TimemachineException(ErrorType.INVALID_INPUT, message, null, d);
        case 401, 403 -> new TimemachineException(
            ErrorType.CONFIGURATION, message, "check the Docker engine's permissions and registry logins", d);
        case 404 -> new TimemachineException(ErrorType.NOT_FOUND, message, null, d);
        case 409 -> new TimemachineException(ErrorType.CONFLICT, message, null, d);
        default -> TimemachineException.unavailable(message + " (Docker engine at " + host + ")", d);
      };
    }
    return Causes.find(e, IOException.class)
        .<RuntimeException>map(io -> TimemachineException.unavailable(
            "Docker engine not reachable at " + host + ": start dockerd or set DOCKER_HOST (" + action + ": "
                + oneLine(io.getMessage()) + ")",
            e))
        .orElse(e);
  }

  /** The engine's own message from a {@code Status 404: {"message":"..."}} exception text. */
  static String dockerMessage(DockerException e) {
    String text = String.valueOf(e.getMessage());
    int json = text.indexOf('{');
    if (json >= 0) {
      try {
        JsonNode node = Json.mapper().readTree(text.substring(json));
        if (node.hasNonNull("message")) {
          return oneLine(node.get("message").asText());
        }
      } catch (IOException | RuntimeException ignored) {
        // Not JSON after all; use the text as it is.
      }
    }
    return oneLine(text);
  }

  /** The registry a repository is pulled from, by Docker's rule: a first component with '.' or ':'. */
  static String registryHost(String repository) {
    int slash = repository.indexOf('/');
    String first = slash < 0 ? "" : repository.substring(0, slash);
    return first.contains(".") || first.contains(":") || first.equals("localhost") ? first : "docker.io";
  }

  private static String oneLine(String text) {
    return Causes.oneLine(text);
  }

  private static Instant instant(String value) {
    if (value == null || value.isBlank() || value.startsWith("0001-")) {
      return null;
    }
    try {
      return Instant.parse(value);
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /** Pull progress by layer, summarized for heartbeats; an error item in the stream is kept. */
  static final class PullStream extends DockerStream<PullResponseItem> {
    private final Map<String, String> layerStatus = new HashMap<>();
    private final Map<String, Long> layerBytes = new HashMap<>();
    private final Map<String, Long> layerTotal = new HashMap<>();
    private volatile String streamError;

    @Override
    public synchronized void onNext(PullResponseItem item) {
      if (item.isErrorIndicated()) {
        streamError = item.getErrorDetail() != null && item.getErrorDetail().getMessage() != null
            ? item.getErrorDetail().getMessage()
            : item.getError() != null ? item.getError() : "the engine reported an error in the pull stream";
        return;
      }
      String status = item.getStatus();
      if (item.getId() == null || status == null || status.startsWith("Pulling from") || status.startsWith("Digest:")
          || status.startsWith("Status:")) {
        return;
      }
      layerStatus.put(item.getId(), status);
      var detail = item.getProgressDetail();
      if (status.startsWith("Downloading") && detail != null && detail.getCurrent() != null) {
        layerBytes.put(item.getId(), detail.getCurrent());
        if (detail.getTotal() != null && detail.getTotal() > 0) {
          layerTotal.put(item.getId(), detail.getTotal());
        }
      } else if (status.equals("Download complete") || status.equals("Pull complete")) {
        Long total = layerTotal.get(item.getId());
        if (total != null) {
          layerBytes.put(item.getId(), total);
        }
      }
    }

    synchronized String summary() {
      long done =
          layerStatus.values().stream().filter(s -> s.equals("Pull complete") || s.equals("Already exists")).count();
      long bytes = layerBytes.values().stream().mapToLong(Long::longValue).sum();
      long total = layerTotal.values().stream().mapToLong(Long::longValue).sum();
      return done + " of " + layerStatus.size() + " layers done, " + mib(bytes)
          + (total > 0 ? " of " + mib(total) : "") + " MiB downloaded";
    }

    private static String mib(long bytes) {
      return String.format(java.util.Locale.ROOT, "%.1f", bytes / 1048576.0);
    }
  }

  @Override
  public String toString() {
    return "DockerContainerEngine[" + host + "]";
  }
}
