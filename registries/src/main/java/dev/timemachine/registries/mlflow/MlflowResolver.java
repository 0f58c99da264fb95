package dev.timemachine.registries.mlflow;

import dev.timemachine.core.contract.ModelContract;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.grading.MetricsFiles;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.model.Tolerance;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.core.ports.Progress;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves {@code name@alias} and {@code name/version} to a full {@link ModelVersion}: the version,
 * the run behind it with its triplet, and the outputs under its outputs directory, downloaded and
 * hashed (MLflow keeps no hashes), with the metrics file read by core's one parser, {@link
 * MetricsFiles}, as the rebuilt side is.
 */
final class MlflowResolver {
  private static final Logger log = LoggerFactory.getLogger(MlflowResolver.class);
  /** Largest metrics file read into memory. */
  static final int MAX_METRICS_FILE = 16 * 1024 * 1024;
  /** Largest MLmodel file read for its signature. */
  static final int MAX_MLMODEL_FILE = 1024 * 1024;
  static final String MLMODEL = "MLmodel";
  /** The source of a version registered from an MLflow 3 logged model. */
  static final String LOGGED_MODEL_PREFIX = "models:/m-";

  private final MlflowHttp http;

  MlflowResolver(MlflowHttp http) {
    this.http = http;
  }

  ModelVersion resolve(MlflowSpec spec, Progress progress) {
    MlflowApi.ModelVersionInfo version = modelVersion(spec);
    ModelRef model = new ModelRef(version.name(), version.version());
    RecordedRun recorded = recordedRun(version);
    Triplet triplet = recorded.triplet();
    Map<String, byte[]> mlmodels = new TreeMap<>();
    RecordedOutputs outputs = outputs(recorded, progress, mlmodels);
    long created = version.creationTimestamp() == null ? 0 : version.creationTimestamp();
    String mlmodel = mlmodel(version, recorded, mlmodels);
    ModelContract contract = MlflowContracts.of(recorded.allDatasets, mlmodel, version.label());
    return ModelVersion.of(model, triplet, outputs, created > 0 ? Instant.ofEpochMilli(created) : null).withContract(contract);
  }

  /**
   * The text of the version's MLmodel: the one the version's source holds when it is an MLflow 3 logged
   * model ({@code models:/<model id>}), else the shallowest {@code MLmodel} among the recorded outputs
   * (an MLflow model the training saved into its output directory); null when there is none.
   */
  private String mlmodel(MlflowApi.ModelVersionInfo version, RecordedRun run, Map<String, byte[]> fromOutputs) {
    String source = version.source() == null ? "" : version.source();
    if (source.startsWith(LOGGED_MODEL_PREFIX)) {
      String modelId = source.substring("models:/".length()).replaceAll("/+$", "");
      byte[] content = loggedModelMlmodel(modelId, version.label());
      if (content != null) {
        return new String(content, StandardCharsets.UTF_8);
      }
    }
    return fromOutputs.entrySet().stream()
        .min(Comparator.comparingInt((Map.Entry<String, byte[]> e) -> e.getKey().split("/").length).thenComparing(Map.Entry::getKey))
        .map(e -> new String(e.getValue(), StandardCharsets.UTF_8))
        .orElse(null);
  }

  private byte[] loggedModelMlmodel(String modelId, String label) {
    MlflowApi.LoggedModelResponse response;
    try {
      response = http.get("logged-models/" + URLEncoder.encode(modelId, StandardCharsets.UTF_8), Map.of(), MlflowApi.LoggedModelResponse.class);
    } catch (MlflowHttp.ApiError e) {
      if (e.notFound()) {
        log.warn("model version {}: its source logged model {} is not in MLflow at {}", label, modelId, http.baseUri());
        return null;
      }
      throw e;
    }
    String root = response.model() == null || response.model().info() == null ? null : proxiedRoot(response.model().info().artifactUri());
    if (root == null) {
      return null;
    }
    try {
      return http.download(MlflowHttp.ARTIFACTS_API + MlflowHttp.encodePath(root + "/MLmodel"), "MLmodel of logged model " + modelId,
          MAX_MLMODEL_FILE, sofar -> {}).content();
    } catch (MlflowHttp.ApiError e) {
      if (e.notFound()) {
        return null;
      }
      throw e;
    }
  }

  /** The run behind a model version; unverifiable when there is none (any more). */
  RecordedRun recordedRun(MlflowApi.ModelVersionInfo version) {
    String label = version.label();
    String runId = version.runIdOrEmpty();
    if (runId.isBlank()) {
      throw new InputUnverifiableException(
          InputKind.CODE,
          "model version " + label + " was registered without a run (source "
              + (version.source() == null ? "?" : version.source())
              + "), so nothing records how it was trained; register a run recorded with " + MlflowTags.RECORD_CALL);
    }
    try {
      MlflowApi.RunResponse response = http.get("runs/get", Map.of("run_id", runId), MlflowApi.RunResponse.class);
      return RecordedRun.of(response.run() == null ? new MlflowApi.Run(null, null, null) : response.run(), label);
    } catch (MlflowHttp.ApiError e) {
      if (e.notFound()) {
        throw new InputUnverifiableException(
            InputKind.CODE, "model version " + label + ": its run " + runId + " no longer exists in MLflow at " + http.baseUri());
      }
      throw e;
    }
  }

  /** Every file under the outputs directory, downloaded and hashed; the metrics file parsed. */
  private RecordedOutputs outputs(RecordedRun run, Progress progress, Map<String, byte[]> mlmodels) {
    String dir = run.outputsDir();
    List<String> paths = listArtifacts(run.runId, dir);
    if (paths.isEmpty()) {
      throw run.invalid(
          "logged no artifacts under " + dir + "/, so there is nothing to compare a replay with; record the outputs with "
              + MlflowTags.RECORD_CALL + "(output_dir, ...)");
    }
    String metricsTag = run.metricsFileTag();
    String metricsFile = metricsTag == null ? RecordedOutputs.DEFAULT_METRICS_FILE : metricsTag;
    byte[] metricsBytes = null;
    List<FileEntry> files = new ArrayList<>();
    long bytes = 0;
    for (String path : paths) {
      String relative = path.substring(dir.length() + 1);
      boolean isMetrics = relative.equals(metricsFile);
      boolean isMlmodel = relative.equals(MLMODEL) || relative.endsWith("/" + MLMODEL);
      String counter = (files.size() + 1) + "/" + paths.size();
      MlflowHttp.Download download =
          http.download(artifactPath(run, path), "artifact " + path + " of run " + run.runId,
              isMetrics ? MAX_METRICS_FILE : isMlmodel ? MAX_MLMODEL_FILE : 0,
              sofar -> progress.report(String.format("hashing artifact %s %s: %.1f MB", counter, relative, sofar / 1e6)));
      files.add(new FileEntry(relative, download.size(), download.sha256()));
      bytes += download.size();
      progress.report(String.format("hashed %d/%d artifacts of run %s, %.1f MB", files.size(), paths.size(), run.runId, bytes / 1e6));
      if (isMetrics) {
        metricsBytes = download.content();
      }
      if (isMlmodel && download.content() != null) {
        mlmodels.put(relative, download.content());
      }
    }
    files.sort(Comparator.comparing(FileEntry::path));
    Map<String, Double> metrics = Map.of();
    if (metricsBytes != null) {
      metrics = parseMetrics(run, dir + "/" + metricsFile, metricsBytes);
    } else if (metricsTag != null && !metricsTag.isEmpty()) {
      throw run.invalid(
          "has tag " + MlflowTags.METRICS_FILE + " '" + metricsTag + "' but logged no such file under " + dir
              + "/ (or it is over " + MAX_METRICS_FILE / (1024 * 1024) + " MiB)");
    }
    Map<String, Tolerance> tolerances = run.tolerances();
    for (String metric : tolerances.keySet()) {
      if (!metrics.containsKey(metric)) {
        throw run.invalid(
            "has tag " + MlflowTags.TOLERANCE_PREFIX + metric + " but its metrics file does not report '" + metric
                + "' (it reports " + metrics.keySet() + ")");
      }
    }
    try {
      return new RecordedOutputs(files, metricsFile.isEmpty() ? null : metricsFile, metrics, tolerances);
    } catch (TimemachineException e) {
      throw run.invalid("records outputs that are not valid: " + e.getMessage());
    }
  }

  private static Map<String, Double> parseMetrics(RecordedRun run, String path, byte[] bytes) {
    MetricsFiles.Parsed parsed = MetricsFiles.parse(bytes, path);
    if (parsed.unreadable()) {
      throw run.invalid("logged " + path + ", which is not a flat JSON object name -> number");
    }
    if (parsed.problem() != null) {
      log.debug("{}: {}", path, parsed.problem());
    }
    parsed.values()
        .forEach(
            (name, value) -> {
              Double logged = run.metrics.get(name);
              if (logged != null && Double.compare(logged, value) != 0) {
                log.warn(
                    "run {} logged metric {}={} but its metrics file says {}; the file is what a replay is compared with",
                    run.runId, name, logged, value);
              }
            });
    return parsed.values();
  }

  /** Paths (relative to the run's artifact root) of every file under {@code dir}, recursively, sorted. */
  List<String> listArtifacts(String runId, String dir) {
    List<String> files = new ArrayList<>();
    List<String> pending = new ArrayList<>(List.of(dir));
    while (!pending.isEmpty()) {
      String current = pending.remove(pending.size() - 1);
      String token = null;
      do {
        Map<String, String> query = new LinkedHashMap<>();
        query.put("run_id", runId);
        query.put("path", current);
        query.put("page_token", token);
        MlflowApi.ArtifactsPage page = http.get("artifacts/list", query, MlflowApi.ArtifactsPage.class);
        for (MlflowApi.FileInfo file : page.files()) {
          String path = file.path() == null ? "" : file.path();
          if (!path.startsWith(current + "/")) {
            path = current + "/" + path; // stores that answer with paths relative to the listed directory
          }
          if (file.isDir()) {
            pending.add(path);
          } else {
            files.add(path);
          }
        }
        token = page.nextPageToken();
      } while (token != null && !token.isEmpty());
    }
    files.sort(null);
    return files;
  }

  /**
   * Where to download an artifact: through the artifact proxy when the run's artifacts are served by
   * the tracking server ({@code mlflow-artifacts:} roots, the default of {@code --serve-artifacts}),
   * else through the server's {@code get-artifact} endpoint, which reads any root the server can.
   */
  private static String artifactPath(RecordedRun run, String path) {
    String proxied = proxiedRoot(run.artifactUri);
    if (proxied != null) {
      return MlflowHttp.ARTIFACTS_API + MlflowHttp.encodePath(proxied + "/" + path);
    }
    return "/get-artifact?path=" + URLEncoder.encode(path, StandardCharsets.UTF_8) + "&run_uuid="
        + URLEncoder.encode(run.runId, StandardCharsets.UTF_8);
  }

  /** {@code mlflow-artifacts:/1/abc/artifacts} → {@code 1/abc/artifacts}; null for other roots. */
  static String proxiedRoot(String artifactUri) {
    if (artifactUri == null || !artifactUri.startsWith("mlflow-artifacts:")) {
      return null;
    }
    String path = URI.create(artifactUri).getPath();
    if (path == null) {
      return null;
    }
    while (path.startsWith("/")) {
      path = path.substring(1);
    }
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    return path;
  }

  /** The model version a spec names; NOT_FOUND says whether the model, alias or version is missing. */
  MlflowApi.ModelVersionInfo modelVersion(MlflowSpec spec) {
    MlflowApi.ModelVersionResponse response;
    try {
      response =
          spec.byAlias()
              ? http.get("registered-models/alias", query("name", spec.name(), "alias", spec.alias()), MlflowApi.ModelVersionResponse.class)
              : http.get("model-versions/get", query("name", spec.name(), "version", spec.version()), MlflowApi.ModelVersionResponse.class);
    } catch (MlflowHttp.ApiError e) {
      throw whatIsMissing(spec, e);
    }
    if (response.modelVersion() == null) {
      throw TimemachineException.configuration(
          http.baseUri() + " does not look like an MLflow server: it answered " + spec + " without a model_version",
          "is " + MlflowSettings.TRACKING_URI + " the server's base URL?");
    }
    return response.modelVersion();
  }

  private TimemachineException whatIsMissing(MlflowSpec spec, MlflowHttp.ApiError e) {
    if (e.type() != ErrorType.NOT_FOUND && e.type() != ErrorType.INVALID_INPUT) {
      return e;
    }
    MlflowApi.RegisteredModel model = registeredModel(spec.name());
    if (spec.byAlias()) {
      List<String> aliases = new ArrayList<>();
      for (MlflowApi.Alias alias : model.aliases()) {
        if (spec.alias().equals(alias.alias())) {
          return e; // the alias exists, so the first answer meant something else
        }
        aliases.add(alias.alias() + " -> " + alias.version());
      }
      return TimemachineException.notFound(
          "registered model '" + spec.name() + "' in MLflow at " + http.baseUri() + " has no alias '" + spec.alias() + "' ("
              + (aliases.isEmpty() ? "it has no aliases" : "its aliases: " + String.join(", ", aliases)) + ")",
          "set it with MlflowClient().set_registered_model_alias('" + spec.name() + "', '" + spec.alias() + "', VERSION)");
    }
    if (e.notFound()) {
      return TimemachineException.notFound(
          "registered model '" + spec.name() + "' in MLflow at " + http.baseUri() + " has no version " + spec.version(),
          "list its versions with `timemachine models list --registry mlflow`");
    }
    return e;
  }

  private MlflowApi.RegisteredModel registeredModel(String name) {
    MlflowApi.RegisteredModelResponse response;
    try {
      response = http.get("registered-models/get", query("name", name), MlflowApi.RegisteredModelResponse.class);
    } catch (MlflowHttp.ApiError e) {
      if (e.notFound()) {
        throw TimemachineException.notFound(
            "there is no registered model '" + name + "' in MLflow at " + http.baseUri(),
            "list them with `timemachine models list --registry mlflow`");
      }
      throw e;
    }
    return response.registeredModel() == null ? new MlflowApi.RegisteredModel(name, List.of()) : response.registeredModel();
  }

  static Map<String, String> query(String... keyValues) {
    Map<String, String> query = new LinkedHashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      query.put(keyValues[i], keyValues[i + 1]);
    }
    return query;
  }
}
