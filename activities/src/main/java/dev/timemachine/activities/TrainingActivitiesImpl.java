package dev.timemachine.activities;

import dev.timemachine.core.training.Leftovers;
import dev.timemachine.core.training.TrainingContainer;

import dev.timemachine.workflow.Failures;
import dev.timemachine.core.grading.MetricsFiles;
import dev.timemachine.core.data.Directories;
import dev.timemachine.core.data.OutputCollection;
import dev.timemachine.core.model.ReplayIds;

import dev.timemachine.core.data.FileHashing;
import dev.timemachine.core.data.Snapshots;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.InputCheck;
import dev.timemachine.core.errors.DiskFullException;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.SandboxSettings;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.model.TrainingLog;
import dev.timemachine.core.model.TrainingResult;
import dev.timemachine.core.model.TrainingSpec;
import dev.timemachine.core.ports.ContainerEngine;
import dev.timemachine.core.ports.ContainerEngine.ContainerExit;
import dev.timemachine.core.ports.ContainerEngine.ContainerRequest;
import dev.timemachine.core.ports.ContainerEngine.Mount;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.core.ports.SourceCheckout;
import dev.timemachine.workflow.TrainingActivities;
import io.temporal.activity.Activity;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training host's steps. Everything of one replay lives under {@code <workRoot>/<replayId>/}
 * ({@code code/}, {@code data/}, {@code out/}) and in one container named after the replay, which is
 * what makes a retried step idempotent: it finds what an earlier attempt left instead of starting over
 * beside it.
 */
public final class TrainingActivitiesImpl implements TrainingActivities {

  public static final String LABEL_REPLAY = TrainingContainer.LABEL_REPLAY;
  /** The directory of a replay's verified upstream artifacts, beside code/ and data/. */
  static final String UPSTREAM_DIR = "upstream";
  /** The upstream slot of an evaluation's own artifacts (BacktestRequest.MODEL_SLOT). */
  static final String MODEL_SLOT = "model";


  private final SourceCheckout git;
  private final ContainerEngine engine;
  private final Snapshots snapshots;
  private final ObjectStore evidence;
  private final Path workRoot;
  private final String hostQueue;
  private final Leftovers.Owner owner;
  private final java.util.function.Predicate<Leftovers.Owner> ownerAlive;
  private final dev.timemachine.core.data.ImageContentCheck images;

  /**
   * @param evidence the store rebuilt outputs are kept in, under {@code replays/<replayId>/outputs/}
   * @param workRoot a directory on this host that the Docker engine can bind-mount
   * @param hostQueue this host's own task queue
   * @param owner this process, written on every container and work directory it makes, so that the
   *     next worker start on this host can tell what a crash left behind ({@link Leftovers})
   * @param ownerAlive whether an owner on this host still runs: a replay id whose work directory a live
   *     process of another workflow run holds is refused (CONFLICT), never shared
   * @param images checks that a pulled image's content is the one its digest names (its engine image id
   *     against the manifest's configuration digest)
   */
  public TrainingActivitiesImpl(
      SourceCheckout git, ContainerEngine engine, Snapshots snapshots, ObjectStore evidence, Path workRoot, String hostQueue,
      Leftovers.Owner owner, java.util.function.Predicate<Leftovers.Owner> ownerAlive,
      dev.timemachine.core.data.ImageContentCheck images) {
    this.images = java.util.Objects.requireNonNull(images, "images");
    this.owner = owner;
    this.ownerAlive = ownerAlive;
    this.git = git;
    this.engine = engine;
    this.snapshots = snapshots;
    this.evidence = evidence;
    this.workRoot = workRoot.toAbsolutePath().normalize();
    this.hostQueue = hostQueue;
  }

  @Override
  public String hostTaskQueue() {
    return hostQueue;
  }

  @Override
  public InputCheck checkoutCode(String replayId, CodeRef code) {
    return Failures.call(
        "the git host of " + code.repositoryUrl(),
        () -> onDisk(replayId, "checking out " + code.repositoryUrl(), () -> {
          String head = git.checkout(code, claim(replayId).resolve("code"), heartbeat("code"));
          return new InputCheck("HEAD " + head + " of " + code.repositoryUrl());
        }));
  }

  @Override
  public InputCheck pullImage(String replayId, ImageRef image) {
    return Failures.call(
        "image registry " + registryHost(image),
        () -> {
          Progress progress = heartbeat("environment");
          ContainerEngine.PulledImage pulled = engine.pull(image, progress);
          String content = images.check(image, pulled.imageId(), progress);
          return new InputCheck(
              pulled.image() + " (image id " + pulled.imageId() + ", " + pulled.sizeBytes() + " bytes; " + content + ")");
        });
  }

  @Override
  public InputCheck restoreData(String replayId, DataRef data) {
    return Failures.call(
        "the object store of " + data.snapshotUri(),
        () -> onDisk(replayId, "restoring " + data.snapshotUri(),
            () -> new InputCheck(snapshots.restore(data, claim(replayId).resolve("data"), heartbeat("data")))));
  }

  @Override
  public InputCheck restoreDataAndUpstream(
      String replayId, DataRef data, java.util.List<dev.timemachine.core.model.UpstreamRef> upstream) {
    return Failures.call(
        "the object store of " + data.snapshotUri(),
        () -> onDisk(replayId, "restoring " + data.snapshotUri() + " and its upstream artifacts", () -> {
          Path dir = claim(replayId);
          String evidence = snapshots.restore(data, dir.resolve("data"), heartbeat("data"));
          String upstreamEvidence = new dev.timemachine.core.data.UpstreamArtifacts(snapshots)
              .restore(upstream, dir.resolve(UPSTREAM_DIR), heartbeat("upstream"));
          return new InputCheck(evidence + "; " + upstreamEvidence);
        }));
  }

  @Override
  public dev.timemachine.core.grading.Explanation explain(dev.timemachine.workflow.ExplainSpec spec) {
    String replayId = spec.training().replayId();
    return Failures.call(engineService(), () -> onDisk(replayId, "explaining",
        () -> explainer(replayId).explain(spec, workRoot.resolve(ReplayIds.require(replayId)), heartbeat("explain"))));
  }

  @Override
  public dev.timemachine.core.grading.Explanation.ProbeRun probe(dev.timemachine.workflow.ProbeSpec spec) {
    String replayId = spec.training().replayId();
    return Failures.call(engineService(), () -> onDisk(replayId, "probing",
        () -> explainer(replayId).probe(spec, workRoot.resolve(ReplayIds.require(replayId)),
            heartbeat("probe " + spec.variation()))));
  }

  private Explainer explainer(String replayId) {
    return new Explainer(engine, snapshots, Map.of(LABEL_REPLAY, replayId, Leftovers.LABEL_WORKFLOW, workflowId(),
        Leftovers.LABEL_OWNER, owner.toString(),
                  Leftovers.LABEL_WORK_ROOT, workRoot.toAbsolutePath().normalize().toString()));
  }

  @Override
  public TrainingResult train(TrainingSpec spec) {
    return Failures.call(engineService(), () -> onDisk(spec.replayId(), "training", () -> doTrain(spec)));
  }

  /**
   * Runs a step whose files go to the replay's work directory; a full disk on the way (whatever reported
   * it: JGit, a restore, the log file) is that disk's outage, never an unverifiable input or a failed
   * training. A full disk that names itself (a local store's) is passed on as it is.
   */
  private <T> T onDisk(String replayId, String doing, java.util.function.Supplier<T> step) {
    try {
      return step.get();
    } catch (DiskFullException e) {
      throw e;
    } catch (RuntimeException e) {
      if (DiskFullException.isDiskFull(e)) {
        throw new DiskFullException(workRoot.resolve(ReplayIds.require(replayId)), doing + ": " + e.getMessage(), e);
      }
      throw e;
    }
  }

  /**
   * The verified upstream artifacts of a training that consumes some, or null; refuses to train when
   * one is not where the data step verified it (never trains with a missing input).
   */
  static Path upstreamDir(Path replayDir, TrainingSpec spec) {
    if (spec.upstream().isEmpty()) {
      return null;
    }
    Path dir = replayDir.resolve(UPSTREAM_DIR);
    for (dev.timemachine.core.model.UpstreamRef u : spec.upstream()) {
      if (!Files.isRegularFile(dir.resolve(u.name()).resolve(u.artifact()))) {
        throw TimemachineException.unavailable(
            "upstream artifact " + u + " of " + spec.replayId() + " is not in " + dir + " on this host", null);
      }
    }
    return dir;
  }

  private TrainingResult doTrain(TrainingSpec spec) {
    String replayId = spec.replayId();
    String name = ReplayIds.containerName(replayId);
    Path code = dir(replayId, "code");
    Path data = dir(replayId, "data");
    Path out = dir(replayId, "out");
    if (evidence.exists(ControlActivitiesImpl.reportKey(replayId))) {
      // A finished replay's kept outputs and log are evidence: never retrain over them.
      throw TimemachineException.conflict(
          "replay " + replayId + " has finished (its report exists); refusing to train again over its kept outputs",
          "start a replay with a fresh id");
    }
    if (!Files.isDirectory(code) || !Files.isDirectory(data)) {
      throw TimemachineException.unavailable(
          "the code or data of replay " + replayId + " is not in " + workRoot + " on this host", null);
    }
    Path upstream = upstreamDir(workRoot.resolve(ReplayIds.require(replayId)), spec);
    claim(replayId);
    Path logFile = workRoot.resolve(ReplayIds.require(replayId)).resolve("training.log");
    Path exitFile = workRoot.resolve(ReplayIds.require(replayId)).resolve(EXIT_FILE);
    ContainerExit exit = finishedEarlier(exitFile, replayId);
    if (exit == null) {
      // A container from an earlier attempt may still be writing here; only a fresh start gets a fresh dir.
      if (engine.containersWithLabel(LABEL_REPLAY, replayId).isEmpty()) {
        Directories.deleteRecursively(out);
      }
      createDirectories(out);
      // Nobody but this worker (and, through its mount, the sandbox user) reaches into a replay's files.
      restrictToOwner(out.getParent());
      ContainerRequest request =
          TrainingContainer.request(
              name, spec.image(), spec.code(), code, data, upstream, out, spec.limits(),
              Map.of(LABEL_REPLAY, replayId, "dev.timemachine.role", "training",
                  Leftovers.LABEL_WORKFLOW, workflowId(), Leftovers.LABEL_OWNER, owner.toString(),
                  Leftovers.LABEL_WORK_ROOT, workRoot.toAbsolutePath().normalize().toString()));
      request = withLogFile(request, logFile);
      if (spec.upstream().stream().anyMatch(u -> u.name().equals(MODEL_SLOT))) {
        // An evaluation (backtest --evaluate): the version's own verified artifacts are its model.
        Map<String, String> env = new java.util.LinkedHashMap<>(request.environment());
        env.put("TIMEMACHINE_MODEL", dev.timemachine.core.model.UpstreamRef.MOUNT + "/" + MODEL_SLOT);
        request = new ContainerRequest(request.name(), request.image(), request.command(), request.workingDir(),
            request.mounts(), env, request.labels(), request.limits(), request.logFile());
      }
      // The exit is recorded while the container still exists: an attempt that dies after the container's
      // removal finds the record, one that dies before it finds the container; neither trains again.
      exit = engine.run(request, heartbeat("train"), finished -> {
        if (!failedForFullDisk(out, finished)) {
          writeAtomically(exitFile, Json.toBytes(finished));
        }
      });
      if (failedForFullDisk(out, exit)) {
        throw new DiskFullException(out, "training: the container exited " + exit.exitCode() + " and its log says '"
            + exit.logTail().stream().filter(DiskFullException::says).reduce((a, b) -> b).orElse("") + "'", null);
      }
    }
    // The whole log is evidence whatever the exit: a failed training's traceback is what the user needs.
    String logKey = "replays/" + replayId + "/training.log";
    evidence.put(logKey, logFile);
    TrainingLog log =
        new TrainingLog(evidence.uriOf(logKey), FileHashing.sha256(logFile), exit.logBytes(), exit.logLines(),
            exit.logTruncated());

    SandboxSettings sandbox = spec.limits() == null ? SandboxSettings.STRICT : spec.limits().sandbox();
    List<FileEntry> outputs = List.of();
    List<String> refused = List.of();
    Map<String, Double> metrics = Map.of();
    String metricsProblem = null;
    String outputsUri = null;
    String outputsProblem = null;
    if (exit.exitCode() == 0 && !exit.timedOut() && !exit.oomKilled()) {
      // Collected exactly as at registration; a pattern that matches nothing here is a missing artifact, a verdict.
      OutputCollection.Collected collected =
          OutputCollection.collect(out, spec.outputRules(), sandbox.maxOutputBytes(), sandbox.maxOutputFiles());
      outputs = collected.files();
      refused = collected.problems();
      outputsProblem = collected.selection().problems().isEmpty() ? null : String.join("; ", collected.selection().problems());
      if (outputs.size() > OutputCollection.MAX_OUTPUTS) {
        // Kept nowhere and listed nowhere: the report says how many, and the verdict follows from it.
        outputsProblem = (outputsProblem == null ? "" : outputsProblem + "; ") + "the training wrote " + outputs.size()
            + " output files, more than the " + OutputCollection.MAX_OUTPUTS + " a replay keeps; none were kept";
        outputs = List.of();
      }
      MetricsFiles.Parsed parsed = MetricsFiles.readFile(collected.fileNamed(spec.metricsFile()), spec.metricsFile());
      metrics = parsed.values();
      metricsProblem = parsed.problem();
      String prefix = "replays/" + replayId + "/outputs/";
      List<String> notKept = new java.util.ArrayList<>();
      for (FileEntry file : outputs) {
        if (spec.keeps(file.path(), file.size())) {
          evidence.put(prefix + file.path(), collected.fileNamed(file.path()));
        } else {
          notKept.add(file.path() + " (" + file.size() + " bytes)");
        }
      }
      if (!notKept.isEmpty()) {
        // Hashed and listed in the report, but a big file nobody recorded is not evidence worth keeping for good.
        refused = new java.util.ArrayList<>(refused);
        refused.add("not recorded and over " + (TrainingSpec.MAX_KEPT_UNRECORDED_BYTES >> 20)
            + " MiB, so hashed and listed but not kept: " + String.join(", ", notKept));
      }
      outputsUri = evidence.uriOf(prefix.substring(0, prefix.length() - 1));
    }
    return new TrainingResult(
        name, exit.exitCode(), exit.timedOut(), exit.oomKilled(), exit.durationMs(), exit.logTail(), outputs, metrics,
        metricsProblem, outputsUri, outputsProblem, log, sandboxNote(exit, sandbox), refused);
  }

  /**
   * Why the sandbox, not the training, is the likely cause of a failed exit: a limit the engine
   * enforced, or a log that says the strict sandbox's non-root user or read-only root file system got
   * in the way. Names the setting and what relaxes it; null when the exit is fine or unexplained.
   */
  static String sandboxNote(ContainerExit exit, SandboxSettings sandbox) {
    if (exit.sandboxKill() != null) {
      return exit.sandboxKill();
    }
    if (exit.exitCode() == 128 + 25 && !exit.timedOut() && !exit.oomKilled()) {
      // SIGXFSZ: the fsize ulimit, which is the output cap applied to a single file as it is written.
      return "it was killed by SIGXFSZ: it wrote a file past the sandbox's output limit of " + sandbox.maxOutputBytes()
          + " bytes (" + SandboxSettings.MAX_OUTPUT_VARIABLE + ")";
    }
    if (exit.exitCode() == 0 || exit.timedOut() || exit.oomKilled() || sandbox.mode() != SandboxSettings.Mode.STRICT) {
      return null;
    }
    String said = null;
    for (String line : exit.logTail()) {
      String lower = line.toLowerCase(java.util.Locale.ROOT);
      if (lower.contains("read-only file system")) {
        said = "Read-only file system";
      } else if (lower.contains("permission denied") && said == null) {
        said = "Permission denied";
      }
    }
    if (said == null) {
      return null;
    }
    return "its log says '" + said + "': the strict sandbox runs the entry point as user " + sandbox.user()
        + " with a read-only root file system (writable: " + TrainingContainer.OUTPUT_MOUNT
        + " and /tmp, which is HOME); if it needs root or a writable root file system, replay with --sandbox relaxed"
        + " (recorded in the report)";
  }

  /** The training's exit, kept beside its outputs once it exited, so a retry uploads them instead of training again. */
  static final String EXIT_FILE = "training-exit.json";

  /**
   * The exit of a training an earlier attempt of this step ran to the end, or null. Such an attempt failed
   * after the container exited (the store was down while its log and outputs were uploaded): the outputs and
   * the log are still here, whole, and training again would only cost time and could give other bytes.
   */
  private ContainerExit finishedEarlier(Path exitFile, String replayId) {
    if (!Files.isRegularFile(exitFile)) {
      return null;
    }
    try {
      ContainerExit exit = Json.parse(Files.readAllBytes(exitFile), ContainerExit.class, exitFile.toString());
      Activity.getExecutionContext().heartbeat("train: the training of an earlier attempt exited " + exit.exitCode()
          + "; storing its kept log and outputs instead of training again");
      return exit;
    } catch (IOException | TimemachineException e) {
      // Unreadable: train again, from a fresh output directory.
      Directories.deleteRecursively(exitFile);
      return null;
    }
  }

  /**
   * Whether a failed training failed because the work directory's disk is full: its log says so and the disk
   * is (nearly) full now, with what it wrote still there. A model that merely prints the words on a disk
   * with room still fails as a model.
   */
  /** A failed exit that the full disk, not the model, explains: trained again once there is room. */
  private static boolean failedForFullDisk(Path out, ContainerExit exit) {
    return exit.exitCode() != 0 && !exit.timedOut() && !exit.oomKilled() && diskFull(out, exit);
  }

  static boolean diskFull(Path out, ContainerExit exit) {
    if (exit.logTail().stream().noneMatch(DiskFullException::says)) {
      return false;
    }
    try {
      java.nio.file.FileStore store = Files.getFileStore(out);
      long usable = store.getUsableSpace();
      return usable < Math.max(64L << 20, store.getTotalSpace() / 100);
    } catch (IOException e) {
      return false;
    }
  }

  private static void writeAtomically(Path file, byte[] content) {
    try {
      Path temp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp");
      Files.write(temp, content);
      Files.move(temp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("could not write " + file, e);
    }
  }

  /** Mode 0700 on {@code dir}, where the file system has modes. */
  private static void restrictToOwner(Path dir) {
    try {
      Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    } catch (UnsupportedOperationException e) {
      // Not a POSIX file system: nothing to restrict.
    } catch (IOException e) {
      throw new UncheckedIOException("cannot restrict " + dir, e);
    }
  }

  private static ContainerRequest withLogFile(ContainerRequest r, Path logFile) {
    return new ContainerRequest(
        r.name(), r.image(), r.command(), r.workingDir(), r.mounts(), r.environment(), r.labels(), r.limits(), logFile);
  }

  @Override
  public void cleanup(String replayId) {
    Failures.run(
        engineService(),
        () -> {
          try {
            engine.remove(ReplayIds.containerName(replayId));
          } finally {
            // Code and data do not wait for an engine that is down: the step is retried for the container only.
            Directories.deleteRecursively(workRoot.resolve(ReplayIds.require(replayId)));
          }
          pruneUnreportedOutputs(replayId);
        });
  }

  /**
   * Kept outputs that the replay's report does not point at (a training whose upload was cut off and
   * which then ended in {@code ERROR}) are removed: nothing stays in the store that no report names.
   * Without a report (the store was down for it too, or a backtest run) nothing is touched.
   */
  private void pruneUnreportedOutputs(String replayId) {
    String reportKey = ControlActivitiesImpl.reportKey(replayId);
    if (!evidence.exists(reportKey)) {
      return;
    }
    String prefix = "replays/" + replayId + "/outputs";
    String report = new String(evidence.getBytes(reportKey), java.nio.charset.StandardCharsets.UTF_8);
    if (report.contains(evidence.uriOf(prefix))) {
      return;
    }
    for (String key : evidence.list(prefix + "/")) {
      evidence.delete(key);
    }
  }

  private String engineService() {
    return "the Docker engine of training host " + hostQueue;
  }

  /** The registry part of a repository name, as Docker reads it: a first component with '.' or ':', or localhost. */
  static String registryHost(ImageRef image) {
    String repository = image.repository();
    int slash = repository.indexOf('/');
    String first = slash < 0 ? "" : repository.substring(0, slash);
    return first.contains(".") || first.contains(":") || first.equals("localhost") ? first : "docker.io";
  }

  /**
   * The replay's work directory, created if needed, with this process and the workflow written into
   * its {@link Leftovers#OWNER_FILE}: the worker that last worked in it answers for it.
   */
  private Path claim(String replayId) {
    Path dir = workRoot.resolve(ReplayIds.require(replayId));
    var info = Activity.getExecutionContext().getInfo();
    String runId = info.getRunId();
    // One JVM-wide monitor for the threads of this worker (checkout and restore claim at once), one file
    // lock for the processes of this host (two embedded CLIs each have their own Temporal server).
    synchronized (TrainingActivitiesImpl.class) {
      try {
        Files.createDirectories(dir);
        try (var channel = java.nio.channels.FileChannel.open(dir.resolve(Leftovers.OWNER_FILE + ".lock"),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
            var lock = channel.lock()) {
          Path file = dir.resolve(Leftovers.OWNER_FILE);
          if (Files.isRegularFile(file)) {
            List<String> lines = Files.readAllLines(file);
            Leftovers.Owner previous = lines.size() < 2 ? null : Leftovers.Owner.parse(lines.get(1));
            String previousRun = lines.size() < 3 ? null : lines.get(2).strip();
            if (previous != null && previousRun != null && !previousRun.equals(runId) && !previous.equals(owner)
                && ownerAlive.test(previous)) {
              // Another replay under this id is at work here: sharing its directory or container would mix
              // one model's outputs into the other's report.
              throw TimemachineException.conflict(
                  "replay id " + replayId + " is in use on this host by another replay (workflow " + lines.get(0).strip()
                      + ", run " + previousRun + ", process " + previous.pid() + ")",
                  "a replay id is used once: start this replay with a fresh id");
            }
          }
          Path tmp = dir.resolve(Leftovers.OWNER_FILE + ".tmp");
          Files.writeString(tmp, info.getWorkflowId() + "\n" + owner + "\n" + runId + "\n");
          Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
              java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
      } catch (IOException e) {
        throw TimemachineException.unavailable("cannot write in the work directory " + dir + ": " + e, e);
      }
    }
    return dir;
  }

  private static String workflowId() {
    return Activity.getExecutionContext().getInfo().getWorkflowId();
  }

  private Path dir(String replayId, String name) {
    return workRoot.resolve(ReplayIds.require(replayId)).resolve(name);
  }

  /** Progress that lands in the activity's heartbeat; throws there when the replay is cancelled. */
  private static Progress heartbeat(String step) {
    var context = Activity.getExecutionContext();
    return message -> context.heartbeat(step + ": " + message);
  }

  private static void createDirectories(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

}
