package dev.timemachine.activities;

import dev.timemachine.core.data.Directories;
import dev.timemachine.core.data.FileHashing;
import dev.timemachine.core.data.OutputCollection;
import dev.timemachine.core.data.Snapshots;
import dev.timemachine.core.grading.Explanation;
import dev.timemachine.core.grading.Explanation.ArtifactDiff;
import dev.timemachine.core.grading.Explanation.Functional;
import dev.timemachine.core.grading.Explanations;
import dev.timemachine.core.grading.MetricsFiles;
import dev.timemachine.core.grading.Variations;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.model.TrainingSpec;
import dev.timemachine.core.ports.ContainerEngine;
import dev.timemachine.core.ports.ContainerEngine.ContainerExit;
import dev.timemachine.core.ports.ContainerEngine.ContainerRequest;
import dev.timemachine.core.ports.ContainerEngine.Mount;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.core.training.TrainingContainer;
import dev.timemachine.workflow.ExplainSpec;
import dev.timemachine.workflow.ProbeSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The training host's half of explaining a divergence. It lays out, under the replay's work directory,
 * {@code explain/original/} (the recorded artifacts, fetched by content from the store and re-hashed)
 * and {@code explain/rebuilt/} (the rebuilt ones under their recorded names), diffs text in the JVM,
 * and runs {@code explain.py} in the recorded image for everything that needs the image's libraries:
 * network none, everything read-only but {@code /result}, the replay's limits. Probes train again into
 * {@code probe-<n>/out}. Nothing here decides a verdict.
 */
final class Explainer {
  static final String SCRIPT = "explain.py";
  /** The longest an in-image comparison may take. */
  static final long COMPARATOR_TIMEOUT_SECONDS = 600;

  private final ContainerEngine engine;
  private final Snapshots snapshots;
  private final Map<String, String> labels;

  Explainer(ContainerEngine engine, Snapshots snapshots, Map<String, String> labels) {
    this.engine = engine;
    this.snapshots = snapshots;
    this.labels = labels;
  }

  Explanation explain(ExplainSpec spec, Path replayDir, Progress progress) {
    TrainingSpec training = spec.training();
    Path root = replayDir.resolve("explain");
    Directories.deleteRecursively(root);
    Path original = mkdirs(root.resolve("original"));
    Path rebuilt = mkdirs(root.resolve("rebuilt"));
    Map<String, String> rebuiltHashes = spec.rebuilt().stream()
        .collect(Collectors.toMap(FileEntry::path, FileEntry::sha256, (a, b) -> a, LinkedHashMap::new));
    OutputCollection.Collected collected = OutputCollection.collect(replayDir.resolve("out"), training.outputRules());
    String store = Snapshots.storeRootOf(spec.dataSnapshotUri());
    List<ArtifactDiff> diffs = new ArrayList<>();
    List<String> inImage = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (FileEntry artifact : spec.recorded().artifacts()) {
      String now = rebuiltHashes.get(artifact.path());
      if (now == null || now.equals(artifact.sha256())) {
        continue;
      }
      progress.report("comparing " + artifact.path());
      Path o = original.resolve(artifact.path());
      Path r = rebuilt.resolve(artifact.path());
      mkdirs(o.getParent());
      mkdirs(r.getParent());
      boolean kept = store != null && snapshots.fetchObject(store, artifact.sha256(), o);
      if (!kept) {
        diffs.add(new ArtifactDiff(artifact.path(), "binary", false, "the original bytes were not kept", null, null, null,
            null, "the store holds no copy of the original (versions registered before timemachine kept originals,"
                + " and MLflow versions, have none): only its hash can be compared"));
        continue;
      }
      Path source = collected.fileNamed(artifact.path());
      if (source == null || !FileHashing.sha256(source).equals(now)) {
        diffs.add(new ArtifactDiff(artifact.path(), "binary", false, "the rebuilt file is no longer on this host", null,
            null, null, null, "the rebuilt file changed or went away before it could be compared"));
        continue;
      }
      copy(source, r);
      if (Explanations.textLike(artifact.path())) {
        diffs.add(Explanations.textDiff(artifact.path(), read(o), read(r)));
      } else {
        inImage.add(artifact.path());
      }
    }
    RecordedOutputs.ProbeSet probe = spec.recorded().probe();
    String model = modelArtifact(spec.recorded());
    boolean modelDiffers = spec.recorded().artifacts().stream().anyMatch(a -> a.path().equals(model)
        && rebuiltHashes.containsKey(model) && !rebuiltHashes.get(model).equals(a.sha256()));
    boolean probeable = probe != null && modelDiffers && Files.isRegularFile(original.resolve(model));
    Functional functional = null;
    // A model that came back byte for byte predicts the same: there is nothing to compare.
    if (probe != null && modelDiffers && !probeable) {
      functional = Functional.unavailable(modelArtifact(spec.recorded()), probe.file(),
          "the model artifact's original is not kept or was not rebuilt differently");
    }
    boolean userProbe = probeable && probe.entryPoint() != null;
    if (userProbe) {
      functional = runUserProbe(spec, replayDir, root, collected, probe, model, progress);
      probeable = false;
    }
    if (!inImage.isEmpty() || probeable) {
      InImage result = runInImage(training, replayDir, root, inImage, probeable ? probe : null,
          modelArtifact(spec.recorded()), progress);
      diffs.addAll(result.artifacts);
      problems.addAll(result.problems);
      if (probeable) {
        functional = result.functional != null ? result.functional.by("built-in loader")
            : Functional.unavailable(modelArtifact(spec.recorded()), probe.file(), "the in-image comparator gave no result");
      }
    }
    return new Explanation(List.of(), diffs, functional, List.of(), problems);
  }

  /** The artifact the probe set is predicted with: the first recorded artifact that is not the metrics file nor text. */
  static String modelArtifact(RecordedOutputs recorded) {
    return recorded.artifacts().stream().map(FileEntry::path)
        .filter(p -> !p.equals(recorded.metricsFile()) && !Explanations.textLike(p)).findFirst()
        .orElse(recorded.artifacts().get(0).path());
  }

  private record InImage(List<ArtifactDiff> artifacts, Functional functional, List<String> problems) {}

  private InImage runInImage(
      TrainingSpec training, Path replayDir, Path root, List<String> artifacts, RecordedOutputs.ProbeSet probe,
      String model, Progress progress) {
    Path tm = mkdirs(root.resolve("tm"));
    Path result = mkdirs(root.resolve("result"));
    try (InputStream script = Explainer.class.getResourceAsStream(SCRIPT)) {
      Files.copy(script, tm.resolve(SCRIPT), StandardCopyOption.REPLACE_EXISTING);
      Map<String, Object> request = new LinkedHashMap<>();
      request.put("artifacts", artifacts);
      request.put("probe", probe == null ? null
          : Map.of("artifact", model, "file", probe.file(), "tolerance", probe.predictionTolerance()));
      Files.write(tm.resolve("request.json"), Json.toBytes(request));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot lay out the comparator in " + tm, e);
    }
    TrainingLimits base = training.limits() == null ? TrainingLimits.DEFAULT : training.limits();
    TrainingLimits limits = new TrainingLimits(base.cpus(), base.memoryBytes(),
        Math.min(base.timeoutSeconds(), COMPARATOR_TIMEOUT_SECONDS), base.pidsLimit(), base.sandbox());
    Map<String, String> env = new LinkedHashMap<>();
    env.put("HOME", "/tmp");
    env.put("PYTHONDONTWRITEBYTECODE", "1");
    env.put("PYTHONUNBUFFERED", "1");
    ContainerRequest request = new ContainerRequest(
        dev.timemachine.core.model.ReplayIds.containerName(training.replayId()) + "-explain",
        training.image(),
        List.of("python3", "/tm/" + SCRIPT, "/tm/request.json"),
        "/tmp",
        List.of(new Mount(tm, "/tm", true), new Mount(root.resolve("original"), "/original", true),
            new Mount(root.resolve("rebuilt"), "/rebuilt", true), new Mount(replayDir.resolve("data"), "/data", true),
            new Mount(result, "/result", false)),
        env,
        withRole("explain"),
        limits);
    ContainerExit exit = engine.run(request, progress);
    Path json = result.resolve("explain.json");
    if (exit.exitCode() != 0 || !Files.isRegularFile(json)) {
      String why = "the in-image comparator " + (exit.timedOut() ? "timed out" : "exited " + exit.exitCode())
          + (exit.logTail().isEmpty() ? "" : ": " + exit.logTail().get(exit.logTail().size() - 1));
      List<ArtifactDiff> failed = artifacts.stream()
          .map(a -> new ArtifactDiff(a, "binary", false, "not compared", null, null, null, null, why)).toList();
      return new InImage(failed, probe == null ? null : Functional.unavailable(model, probe.file(), why), List.of(why));
    }
    try {
      Found found = Json.parse(Files.readAllBytes(json), Found.class, json.toString());
      return new InImage(found.artifacts == null ? List.of() : found.artifacts, found.functional,
          found.problems == null ? List.of() : found.problems);
    } catch (IOException | RuntimeException e) {
      String why = "the in-image comparator wrote an unreadable result: " + e.getMessage();
      return new InImage(List.of(), probe == null ? null : Functional.unavailable(model, probe.file(), why), List.of(why));
    }
  }

  /**
   * The user's probe entry point, run twice in the recorded image from the code directory: once with
   * the recorded artifacts at {@code /model}, once with the rebuilt ones; each writes
   * {@code /out/predictions.json}, compared in the JVM ({@link dev.timemachine.core.grading.Predictions}).
   */
  private Functional runUserProbe(
      ExplainSpec spec, Path replayDir, Path root, OutputCollection.Collected collected, RecordedOutputs.ProbeSet probe,
      String model, Progress progress) {
    TrainingSpec training = spec.training();
    // Both sides whole: an identical artifact is the same bytes on both, taken from the rebuild.
    for (FileEntry artifact : spec.recorded().artifacts()) {
      Path source = collected.fileNamed(artifact.path());
      for (String side : List.of("original", "rebuilt")) {
        Path target = root.resolve(side).resolve(artifact.path());
        if (!Files.exists(target) && source != null && FileHashing.sha256(source).equals(artifact.sha256())) {
          mkdirs(target.getParent());
          copy(source, target);
        }
      }
    }
    byte[][] predictions = new byte[2][];
    String[] sides = {"original", "rebuilt"};
    for (int i = 0; i < 2; i++) {
      Path out = mkdirs(root.resolve("probe-" + sides[i]));
      progress.report("probe entry point on the " + sides[i] + " model");
      ContainerRequest plain = TrainingContainer.request(
          dev.timemachine.core.model.ReplayIds.containerName(training.replayId()) + "-predict-" + sides[i], training.image(),
          training.code(), replayDir.resolve("code"), replayDir.resolve("data"),
          TrainingActivitiesImpl.upstreamDir(replayDir, training), out, limitsFor(training), withRole("predict"));
      Map<String, String> env = new LinkedHashMap<>(plain.environment());
      env.put("TIMEMACHINE_MODEL", "/model");
      env.put("TIMEMACHINE_PROBE", TrainingContainer.DATA_MOUNT + "/" + probe.file());
      List<Mount> mounts = new ArrayList<>(plain.mounts());
      mounts.add(new Mount(root.resolve(sides[i]), "/model", true));
      ContainerExit exit = engine.run(new ContainerRequest(plain.name(), plain.image(), probe.entryPoint(), plain.workingDir(),
          mounts, env, plain.labels(), plain.limits()), progress);
      Path file = out.resolve("predictions.json");
      if (exit.exitCode() != 0 || !Files.isRegularFile(file)) {
        return Functional.unavailable(model, probe.file(), "the probe entry point on the " + sides[i] + " model "
            + (exit.timedOut() ? "timed out" : "exited " + exit.exitCode()) + (Files.isRegularFile(file) ? ""
            : " without writing predictions.json") + (exit.logTail().isEmpty() ? "" : ": "
            + exit.logTail().get(exit.logTail().size() - 1)));
      }
      predictions[i] = read(file);
    }
    return dev.timemachine.core.grading.Predictions.compare(model, probe.file(), predictions[0], predictions[1],
        probe.predictionTolerance()).by("probe entry point " + String.join(" ", probe.entryPoint()));
  }

  private static TrainingLimits limitsFor(TrainingSpec training) {
    TrainingLimits base = training.limits() == null ? TrainingLimits.DEFAULT : training.limits();
    return new TrainingLimits(base.cpus(), base.memoryBytes(), Math.min(base.timeoutSeconds(), COMPARATOR_TIMEOUT_SECONDS),
        base.pidsLimit(), base.sandbox());
  }

  /** What {@code explain.py} writes. */
  @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
  record Found(List<ArtifactDiff> artifacts, Functional functional, List<String> problems) {}

  /** Trains again with a variation (and once more when asked) and compares the artifacts' hashes. */
  Explanation.ProbeRun probe(ProbeSpec spec, Path replayDir, Progress progress) {
    TrainingSpec training = spec.training();
    Map<String, String> original = hashes(spec.recorded());
    Map<String, String> rebuilt = hashes(spec.rebuilt());
    Run first = train(spec, replayDir, 1, progress);
    if (first.problem != null) {
      return new Explanation.ProbeRun(spec.variation(), 1, null, null, null, first.problem);
    }
    List<String> fromOriginal = differing(original, first.hashes);
    List<String> between = null;
    int runs = 1;
    if (Variations.NONE.equals(spec.variation())) {
      between = differing(restrict(rebuilt, original.keySet()), first.hashes);
    } else if (spec.runTwice() && !fromOriginal.isEmpty()) {
      Run second = train(spec, replayDir, 2, progress);
      runs = 2;
      if (second.problem != null) {
        return new Explanation.ProbeRun(spec.variation(), runs, fromOriginal, null, first.metrics, second.problem);
      }
      between = differing(restrict(first.hashes, original.keySet()), second.hashes);
    }
    return new Explanation.ProbeRun(spec.variation(), runs, fromOriginal, between, first.metrics, null);
  }

  private record Run(Map<String, String> hashes, Map<String, Double> metrics, String problem) {}

  private Run train(ProbeSpec spec, Path replayDir, int attempt, Progress progress) {
    TrainingSpec training = spec.training();
    Path dir = replayDir.resolve("probe-" + spec.index() + "-" + attempt);
    Directories.deleteRecursively(dir);
    Path out = mkdirs(dir.resolve("out"));
    TrainingLimits base = training.limits() == null ? TrainingLimits.DEFAULT : training.limits();
    Double cpus = Variations.cpus(spec.variation());
    TrainingLimits limits = cpus == null ? base
        : new TrainingLimits(Math.min(cpus, base.cpus()), base.memoryBytes(), base.timeoutSeconds(), base.pidsLimit(),
            base.sandbox());
    ContainerRequest plain = TrainingContainer.request(
        dev.timemachine.core.model.ReplayIds.containerName(training.replayId()) + "-probe-" + spec.index() + "-" + attempt,
        training.image(), training.code(), replayDir.resolve("code"), replayDir.resolve("data"),
        TrainingActivitiesImpl.upstreamDir(replayDir, training), out, limits, withRole("probe"));
    Map<String, String> env = new LinkedHashMap<>(plain.environment());
    env.putAll(Variations.environment(spec.variation()));
    ContainerRequest request = new ContainerRequest(plain.name(), plain.image(), plain.command(), plain.workingDir(),
        plain.mounts(), env, plain.labels(), plain.limits(), dir.resolve("training.log"));
    progress.report("probe " + spec.variation() + " run " + attempt + ": training");
    ContainerExit exit = engine.run(request, progress);
    if (exit.exitCode() != 0 || exit.timedOut() || exit.oomKilled()) {
      return new Run(Map.of(), Map.of(), "the probe's training " + (exit.timedOut() ? "timed out" : "exited "
          + exit.exitCode()) + (exit.logTail().isEmpty() ? "" : ": " + exit.logTail().get(exit.logTail().size() - 1)));
    }
    OutputCollection.Collected collected = OutputCollection.collect(out, training.outputRules());
    Map<String, String> hashes = new LinkedHashMap<>();
    collected.files().forEach(f -> hashes.put(f.path(), f.sha256()));
    MetricsFiles.Parsed metrics = MetricsFiles.readFile(collected.fileNamed(training.metricsFile()), training.metricsFile());
    Directories.deleteRecursively(out);
    return new Run(hashes, metrics.values(), null);
  }

  private Map<String, String> withRole(String role) {
    Map<String, String> all = new LinkedHashMap<>(labels);
    all.put("dev.timemachine.role", role);
    return all;
  }

  private static Map<String, String> hashes(List<FileEntry> files) {
    Map<String, String> out = new LinkedHashMap<>();
    files.forEach(f -> out.put(f.path(), f.sha256()));
    return out;
  }

  private static Map<String, String> restrict(Map<String, String> hashes, java.util.Set<String> keys) {
    Map<String, String> out = new LinkedHashMap<>();
    hashes.forEach((k, v) -> {
      if (keys.contains(k)) {
        out.put(k, v);
      }
    });
    return out;
  }

  /** The paths of {@code expected} whose hash in {@code actual} differs or is missing. */
  private static List<String> differing(Map<String, String> expected, Map<String, String> actual) {
    return expected.entrySet().stream().filter(e -> !e.getValue().equals(actual.get(e.getKey())))
        .map(Map.Entry::getKey).toList();
  }

  private static Path mkdirs(Path dir) {
    try {
      return Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir, e);
    }
  }

  private static void copy(Path from, Path to) {
    try {
      Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy " + from, e);
    }
  }

  private static byte[] read(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

}
