package dev.timemachine.registries.manifest;

import dev.timemachine.core.contract.FileSchema;
import dev.timemachine.core.contract.FileSchemas;
import dev.timemachine.core.contract.MetricThreshold;
import dev.timemachine.core.contract.ModelContract;
import dev.timemachine.core.data.SchemaInference;
import dev.timemachine.core.grading.MetricsFiles;
import dev.timemachine.core.data.OutputCollection;
import dev.timemachine.core.data.Snapshots;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.EnvironmentRef;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.OutputRule;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.Tolerance;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.core.ports.Reachability;
import dev.timemachine.core.ports.SourceCheckout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Records a finished training run as a model version, computing every hash itself: the data
 * snapshot's files and root digest (uploading the directory as a snapshot if given one), and each
 * output artifact's sha256. Nothing the user typed about hashes is trusted.
 */
public final class Registration {
  /**
   * What a version may weigh in a replay's payloads (its data file list stays by reference): a quarter
   * of Temporal's 2 MB payload limit, since the report carries the recorded and the rebuilt side.
   */
  public static final int MAX_WORKFLOW_PAYLOAD_BYTES = 512 * 1024;

  private final ManifestRegistry registry;
  private final Snapshots snapshots;
  private final String snapshotRootUri;
  private final SourceCheckout git;
  private final Clock clock;
  private final boolean allowUnpushed;
  private final dev.timemachine.core.ports.ImageRegistry images;

  /**
   * @param registry where the version is recorded
   * @param snapshots how a data directory becomes a snapshot
   * @param snapshotRootUri the store root new snapshots are written under
   * @param git how the commit is checked to be reachable from its repository
   */
  public Registration(ManifestRegistry registry, Snapshots snapshots, String snapshotRootUri, SourceCheckout git, Clock clock) {
    this(registry, snapshots, snapshotRootUri, git, clock, false, null);
  }

  private Registration(
      ManifestRegistry registry, Snapshots snapshots, String snapshotRootUri, SourceCheckout git, Clock clock,
      boolean allowUnpushed, dev.timemachine.core.ports.ImageRegistry images) {
    this.images = images;
    this.registry = registry;
    this.snapshots = snapshots;
    this.snapshotRootUri = snapshotRootUri;
    this.git = git;
    this.clock = clock;
    this.allowUnpushed = allowUnpushed;
  }

  /**
   * With {@code true}, a commit that no branch or tag of the repository contains is registered anyway
   * ({@code --allow-unpushed}), marked {@link CodeRef#unpushed()} so that every replay report says so.
   */
  public Registration allowingUnpushed(boolean allow) {
    return new Registration(registry, snapshots, snapshotRootUri, git, clock, allow, images);
  }

  /**
   * Checks at registration that the image's registry has its manifest by digest (a HEAD, nothing
   * pulled), so that a digest that is in no registry (built locally, never pushed, or a typo) is refused
   * now, not at the first replay months later.
   */
  public Registration checkingImagesWith(dev.timemachine.core.ports.ImageRegistry imageRegistry) {
    return new Registration(registry, snapshots, snapshotRootUri, git, clock, allowUnpushed, imageRegistry);
  }

  /**
   * What the user records.
   *
   * @param data a local directory (uploaded as a snapshot into the store) or the URI of an existing snapshot
   * @param metricsFile the metrics file's recorded name among the outputs, or null to record no metrics
   * @param outputRules which files of the output dir are outputs, under which names (empty: all of them)
   */
  public record Request(
      ModelRef model,
      String repositoryUrl,
      String commit,
      List<String> entryPoint,
      String workingDirectory,
      ImageRef image,
      String data,
      Path outputDir,
      String metricsFile,
      Map<String, Tolerance> tolerances,
      List<OutputRule> outputRules,
      List<MetricThreshold> thresholds,
      RecordedOutputs.ProbeSet probe,
      List<dev.timemachine.core.model.UpstreamRef.Spec> upstream,
      List<String> evaluateEntryPoint) {
    public Request {
      evaluateEntryPoint = evaluateEntryPoint == null ? List.of() : List.copyOf(evaluateEntryPoint);
      outputRules = outputRules == null ? List.of() : List.copyOf(outputRules);
      thresholds = thresholds == null ? List.of() : List.copyOf(thresholds);
      upstream = upstream == null ? List.of() : List.copyOf(upstream);
    }

    /** A run that consumes no upstream artifact. */
    public Request(
        ModelRef model, String repositoryUrl, String commit, List<String> entryPoint, String workingDirectory,
        ImageRef image, String data, Path outputDir, String metricsFile, Map<String, Tolerance> tolerances,
        List<OutputRule> outputRules, List<MetricThreshold> thresholds, RecordedOutputs.ProbeSet probe) {
      this(model, repositoryUrl, commit, entryPoint, workingDirectory, image, data, outputDir, metricsFile, tolerances,
          outputRules, thresholds, probe, List.of(), List.of());
    }

    /** The same run with a recorded evaluate entry point ({@code --evaluate-entry-point}, argv). */
    public Request withEvaluateEntryPoint(List<String> argv) {
      return new Request(model, repositoryUrl, commit, entryPoint, workingDirectory, image, data, outputDir, metricsFile,
          tolerances, outputRules, thresholds, probe, upstream, argv);
    }

    /** The same run, which consumed these artifacts of other versions ({@code --upstream}). */
    public Request withUpstream(List<dev.timemachine.core.model.UpstreamRef.Spec> newUpstream) {
      return new Request(model, repositoryUrl, commit, entryPoint, workingDirectory, image, data, outputDir, metricsFile,
          tolerances, outputRules, thresholds, probe, newUpstream, evaluateEntryPoint);
    }

    /** A run without a probe set. */
    public Request(
        ModelRef model, String repositoryUrl, String commit, List<String> entryPoint, String workingDirectory,
        ImageRef image, String data, Path outputDir, String metricsFile, Map<String, Tolerance> tolerances,
        List<OutputRule> outputRules, List<MetricThreshold> thresholds) {
      this(model, repositoryUrl, commit, entryPoint, workingDirectory, image, data, outputDir, metricsFile, tolerances,
          outputRules, thresholds, null);
    }

    /** The same run with {@code probe} as the probe set of its functional comparison. */
    public Request withProbe(RecordedOutputs.ProbeSet probe) {
      return new Request(model, repositoryUrl, commit, entryPoint, workingDirectory, image, data, outputDir, metricsFile,
          tolerances, outputRules, thresholds, probe, upstream, evaluateEntryPoint);
    }

    /** A run without thresholds. */
    public Request(
        ModelRef model, String repositoryUrl, String commit, List<String> entryPoint, String workingDirectory,
        ImageRef image, String data, Path outputDir, String metricsFile, Map<String, Tolerance> tolerances,
        List<OutputRule> outputRules) {
      this(model, repositoryUrl, commit, entryPoint, workingDirectory, image, data, outputDir, metricsFile, tolerances,
          outputRules, List.of());
    }

    /** A run whose whole output directory is its outputs. */
    public Request(
        ModelRef model, String repositoryUrl, String commit, List<String> entryPoint, String workingDirectory,
        ImageRef image, String data, Path outputDir, String metricsFile, Map<String, Tolerance> tolerances) {
      this(model, repositoryUrl, commit, entryPoint, workingDirectory, image, data, outputDir, metricsFile, tolerances,
          List.of(), List.of());
    }
  }

  public ModelVersion register(Request request, Progress progress) {
    CodeRef code = checkPushed(
        new CodeRef(request.repositoryUrl(), request.commit(), request.entryPoint(), request.workingDirectory()), progress)
        .withEvaluateEntryPoint(request.evaluateEntryPoint());
    if (images != null) {
      progress.report("checking that the registry of " + request.image() + " has it by its digest");
      if (!images.hasManifest(request.image())) {
        throw TimemachineException.invalidInput(
            "image " + request.image() + " is not in its registry: it has no manifest " + request.image().digest()
                + " (push it first, docker push, and record the digest the registry gives)");
      }
    }
    Path output = request.outputDir();
    if (output == null || !Files.isDirectory(output)) {
      throw TimemachineException.invalidInput("the training output directory '" + output + "' does not exist");
    }
    OutputCollection.Collected collected = collectOutputs(output, request.outputRules());
    List<FileEntry> artifacts = collected.files();
    Map<String, Double> metrics = Map.of();
    if (request.metricsFile() != null) {
      MetricsFiles.Parsed parsed = MetricsFiles.readFile(collected.fileNamed(request.metricsFile()), request.metricsFile());
      if (parsed.problem() != null) {
        String source = collected.sourceOf(request.metricsFile());
        throw TimemachineException.invalidInput(
            "cannot record metrics from " + (source == null ? request.metricsFile() : output.resolve(source)) + ": "
                + parsed.problem()
                + (request.outputRules().isEmpty() ? "" : " among the outputs the --outputs rules select")
                + " (use --metrics-file NAME, or --no-metrics)");
      }
      metrics = parsed.values();
    }
    for (MetricThreshold threshold : request.thresholds()) {
      if (!metrics.containsKey(threshold.metric())) {
        throw TimemachineException.invalidInput(
            "--threshold " + threshold + " names metric '" + threshold.metric() + "', which was not recorded (recorded: "
                + metrics.keySet() + ")");
      }
    }
    List<dev.timemachine.core.model.UpstreamRef> upstream = resolveUpstream(request, progress);
    DataRef data = resolveData(request.data(), progress);
    if (request.probe() != null && !data.files().isEmpty() && data.files().stream().noneMatch(f -> f.path().equals(request.probe().file()))) {
      throw TimemachineException.invalidInput("--probe-set " + request.probe().file() + " is not a file of the data"
          + " snapshot (its files: " + data.files().stream().limit(10).map(FileEntry::path).toList()
          + (data.files().size() > 10 ? ", ..." : "") + ")");
    }
    ModelContract contract = new ModelContract(schemasOf(request.data(), data, progress), request.thresholds());
    ModelVersion version =
        ModelVersion.of(
            request.model(),
            new Triplet(code, new EnvironmentRef(request.image()), data, upstream),
            new RecordedOutputs(artifacts, request.metricsFile(), metrics, request.tolerances(), request.outputRules(),
                request.probe()),
            clock.instant())
            .withContract(contract);
    int payload = dev.timemachine.core.json.Json.toBytes(version.forWorkflow()).length;
    if (payload > MAX_WORKFLOW_PAYLOAD_BYTES) {
      throw TimemachineException.invalidInput(
          "this version would be " + payload + " bytes in every replay's workflow (" + artifacts.size() + " artifacts, "
              + metrics.size() + " metrics, " + contract.files().size() + " file schemas), more than the "
              + MAX_WORKFLOW_PAYLOAD_BYTES + " a replay can carry: " + tooBigAdvice(artifacts.size(), metrics.size(), contract));
    }
    registry.register(version);
    // The original artifacts, by content beside the snapshot's objects: what a replay's explanation diffs
    // against. Only once the version is registered, so that a refused registration writes nothing.
    String originals = Snapshots.storeRootOf(data.snapshotUri());
    java.util.Map<String, Path> bySha = new java.util.LinkedHashMap<>();
    for (FileEntry artifact : artifacts) {
      bySha.putIfAbsent(artifact.sha256(), collected.fileNamed(artifact.path()));
    }
    snapshots.keepObjects(originals != null ? originals : snapshotRootUri, bySha);
    return version;
  }

  /**
   * Each {@code --upstream} artifact looked up in the registry: the version must be registered and must
   * have recorded the artifact, and the store must hold its content (read back and hashed here), so that
   * every replay of the consumer can restore it; refused with what is wrong otherwise.
   */
  private List<dev.timemachine.core.model.UpstreamRef> resolveUpstream(Request request, Progress progress) {
    List<dev.timemachine.core.model.UpstreamRef> result = new ArrayList<>();
    for (dev.timemachine.core.model.UpstreamRef.Spec spec : request.upstream()) {
      if (spec.name().equals("model")) {
        throw TimemachineException.invalidInput("--upstream model=...: the name 'model' is where backtest --evaluate"
            + " mounts the version's own artifacts; give the upstream another name (NAME=" + spec.model() + ":"
            + spec.artifact() + ")");
      }
      if (spec.model().name().equals(request.model().name())) {
        throw TimemachineException.invalidInput("--upstream " + spec.model() + " names the model being registered;"
            + " a version cannot consume its own model's artifacts");
      }
      progress.report("checking upstream " + spec.model() + ":" + spec.artifact());
      ModelVersion upstreamVersion = registry.resolve(spec.model().toString());
      FileEntry artifact = upstreamVersion.recorded().artifacts().stream()
          .filter(a -> a.path().equals(spec.artifact())).findFirst()
          .orElseThrow(() -> TimemachineException.invalidInput("--upstream " + spec.model() + ":" + spec.artifact()
              + ": " + spec.model() + " recorded no artifact '" + spec.artifact() + "' (it recorded: "
              + upstreamVersion.recorded().artifacts().stream().map(FileEntry::path).toList() + ")"));
      String store = Snapshots.storeRootOf(upstreamVersion.triplet().data().snapshotUri());
      if (store == null) {
        store = snapshotRootUri;
      }
      Path probe = null;
      try {
        probe = Files.createTempFile("timemachine-upstream-", ".bin");
        if (!snapshots.fetchObject(store, artifact.sha256(), probe)) {
          throw TimemachineException.invalidInput("--upstream " + spec.model() + ":" + spec.artifact() + ": its content"
              + " (sha256 " + artifact.sha256() + ") is not kept in " + store + " (register " + spec.model()
              + " with this timemachine, which keeps every artifact by content)");
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      } finally {
        if (probe != null) {
          probe.toFile().delete();
        }
      }
      result.add(new dev.timemachine.core.model.UpstreamRef(
          spec.name(), upstreamVersion.model(), artifact.path(), artifact.sha256(), artifact.size(), store));
    }
    return dev.timemachine.core.model.UpstreamRef.requireDistinct(result);
  }

  /**
   * The outputs as a replay will collect them, strictly: at registration a pattern that matches
   * nothing or a rename that matches several files is a mistake in the rules, so it is refused here
   * rather than recorded as an output that can never come back.
   */
  private static OutputCollection.Collected collectOutputs(Path output, List<OutputRule> rules) {
    OutputCollection.Collected collected = OutputCollection.collect(output, rules);
    List<String> problems = new ArrayList<>();
    for (String pattern : collected.selection().unmatched()) {
      problems.add("--outputs pattern '" + pattern + "' matches no file in " + output);
    }
    problems.addAll(collected.selection().problems());
    problems.addAll(collected.problems());
    if (!problems.isEmpty()) {
      throw TimemachineException.invalidInput(String.join("; ", problems));
    }
    if (collected.files().size() > OutputCollection.MAX_OUTPUTS) {
      throw TimemachineException.invalidInput(
          "the training wrote " + collected.files().size() + " output files to " + output + ", more than the "
              + OutputCollection.MAX_OUTPUTS + " a version can record: select the ones to grade with --outputs, or pack"
              + " the rest into an archive");
    }
    if (collected.files().isEmpty()) {
      throw TimemachineException.invalidInput(
          "the training wrote nothing to " + output + ": point --output at the directory your entry point wrote its artifacts"
              + " and metrics file to");
    }
    return collected;
  }

  /**
   * Refuses a commit that the recorded repository does not have: it registers fine, and its replay
   * fails months later when nobody remembers which laptop had it.
   */
  private CodeRef checkPushed(CodeRef code, Progress progress) {
    progress.report("checking that commit " + code.commit() + " is reachable from " + code.repositoryUrl());
    Reachability reachability = git.reachable(code.repositoryUrl(), code.commit());
    if (reachability.reachable()) {
      progress.report("commit " + code.commit() + " is on " + reachability.ref() + " of " + code.repositoryUrl());
      return code;
    }
    String unreachable =
        "commit " + code.commit() + " is not reachable from " + code.repositoryUrl() + " (no branch or tag of it contains it)";
    if (!allowUnpushed) {
      throw TimemachineException.invalidInput(unreachable + ": push it (git push origin HEAD) or pass --allow-unpushed");
    }
    progress.report("warning: " + unreachable + "; registering it anyway (--allow-unpushed), and every replay report will say so");
    return code.asUnpushed();
  }

  /**
   * The schema of every data file, inferred from its contents: read in place from a directory, or from
   * a verified restore of the snapshot into a temporary directory.
   */
  /** The data's file schemas for the contract; many files that share theirs by directory are one group. */
  private List<FileSchema> schemasOf(String dataArgument, DataRef data, Progress progress) {
    Path dir = dataArgument.contains("://") ? null : Path.of(dataArgument);
    List<FileSchema> schemas;
    if (dir != null && Files.isDirectory(dir)) {
      progress.report("inferring the schema of " + data.fileCount() + " data files in " + dir);
      schemas = SchemaInference.inferAll(dir, data.files());
    } else {
      progress.report("inferring the schema of " + data.fileCount() + " data files of " + data.snapshotUri());
      schemas = SchemaInference.ofSnapshot(snapshots, data, progress);
    }
    return FileSchemas.compact(schemas, FileSchemas.MAX_LISTED);
  }

  /** What to change when a version is too big to travel with its replays: whatever makes it big. */
  static String tooBigAdvice(int artifacts, int metrics, ModelContract contract) {
    List<String> advice = new ArrayList<>();
    if (artifacts > 50) {
      advice.add("select fewer outputs (--outputs)");
    }
    if (metrics > 50) {
      advice.add("record fewer metrics (--metrics-file of fewer values)");
    }
    if (contract.files().size() > FileSchemas.MAX_LISTED) {
      advice.add("its data has " + contract.files().size() + " files whose columns differ even within a directory,"
          + " so the contract cannot group them: keep files of one shape in a directory of their own");
    }
    return advice.isEmpty() ? "select fewer outputs (--outputs) or record fewer metrics" : String.join("; or ", advice);
  }

  private DataRef resolveData(String data, Progress progress) {
    if (data == null || data.isBlank()) {
      throw TimemachineException.invalidInput("--data is required: a directory or a snapshot URI");
    }
    Path dir = data.contains("://") ? null : Path.of(data);
    if (dir != null && Files.isDirectory(dir)) {
      return snapshots.create(dir, snapshotRootUri, progress);
    }
    if (data.contains("://")) {
      var manifest = snapshots.readManifest(data);
      return DataRef.of(data, manifest.files());
    }
    throw TimemachineException.invalidInput("--data '" + data + "' is neither a directory nor a snapshot URI");
  }
}
