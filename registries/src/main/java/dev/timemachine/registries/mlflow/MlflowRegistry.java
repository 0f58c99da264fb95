package dev.timemachine.registries.mlflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.grading.MetricComparison;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.Tolerance;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.core.ports.ModelRegistry;
import dev.timemachine.core.ports.Progress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
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
 * A team's existing MLflow model registry, read and written over MLflow's REST API: a model version
 * ({@code churn@champion} or {@code churn/3}) resolves to the run behind it, whose tags record the
 * triplet, whose artifacts under {@code timemachine/outputs/} are the recorded outputs (downloaded and
 * hashed here, since MLflow keeps no hashes), and whose metrics file gives the recorded metrics. After a
 * replay, the verdict goes back on the model version as tags and as a run in the experiment {@code
 * timemachine-replays}. The conventions are in docs/mlflow.md and {@link MlflowTags}.
 *
 * <p>Nothing here caches: an alias is resolved when the replay starts, and the workflow carries the
 * version number it got from then on.
 */
public final class MlflowRegistry implements ModelRegistry {
  private static final Logger log = LoggerFactory.getLogger(MlflowRegistry.class);
  private static final ObjectMapper MAPPER = new ObjectMapper();
  /** Largest metrics file read into memory. */
  private static final int MAX_METRICS_FILE = 16 * 1024 * 1024;
  private static final int MAX_TAG_VALUE = 5000;
  private static final int PAGE = 1000;

  private final MlflowHttp http;
  private final Clock clock;

  public MlflowRegistry(MlflowSettings settings) {
    this(settings, MlflowHttp.defaultClient(), Clock.systemUTC());
  }

  /** With an HTTP client of your own (proxy, TLS context) and a clock for reports without a finish time. */
  public MlflowRegistry(MlflowSettings settings, HttpClient client, Clock clock) {
    this.http = new MlflowHttp(settings, client);
    this.clock = clock;
  }

  public URI trackingUri() {
    return http.baseUri();
  }

  @Override
  public void validateSpec(String modelSpec) {
    MlflowSpec.parse(modelSpec);
  }

  @Override
  public ModelVersion resolve(String modelSpec) {
    return resolve(modelSpec, Progress.NONE);
  }

  @Override
  public ModelVersion resolve(String modelSpec, Progress progress) {
    MlflowSpec spec = MlflowSpec.parse(modelSpec);
    return read(modelVersion(spec), progress);
  }

  /** Builds the full model version from a {@code model_version} object of MLflow's API. */
  private ModelVersion read(JsonNode version, Progress progress) {
    ModelRef model = new ModelRef(version.path("name").asText(), version.path("version").asText());
    RecordedRun recorded = recordedRun(version);
    Triplet triplet = recorded.triplet();
    RecordedOutputs outputs = outputs(recorded, progress);
    long created = version.path("creation_timestamp").asLong(0);
    return ModelVersion.of(model, triplet, outputs, created > 0 ? Instant.ofEpochMilli(created) : null);
  }

  /** The run behind a {@code model_version}; unverifiable when there is none (any more). */
  private RecordedRun recordedRun(JsonNode version) {
    String label = version.path("name").asText() + "/" + version.path("version").asText();
    String runId = version.path("run_id").asText("");
    if (runId.isBlank()) {
      throw new InputUnverifiableException(
          InputKind.CODE,
          "model version " + label + " was registered without a run (source " + version.path("source").asText("?")
              + "), so nothing records how it was trained; register a run recorded with " + MlflowTags.RECORD_CALL);
    }
    try {
      return RecordedRun.of(http.get("runs/get", Map.of("run_id", runId)).path("run"), label);
    } catch (MlflowHttp.ApiError e) {
      if (e.notFound()) {
        throw new InputUnverifiableException(
            InputKind.CODE, "model version " + label + ": its run " + runId + " no longer exists in MLflow at " + trackingUri());
      }
      throw e;
    }
  }

  /** Every file under the outputs directory, downloaded and hashed; the metrics file parsed. */
  private RecordedOutputs outputs(RecordedRun run, Progress progress) {
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
      String counter = (files.size() + 1) + "/" + paths.size();
      MlflowHttp.Download download =
          http.download(artifactPath(run, path), "artifact " + path + " of run " + run.runId, isMetrics ? MAX_METRICS_FILE : 0,
              sofar -> progress.report(String.format("hashing artifact %s %s: %.1f MB", counter, relative, sofar / 1e6)));
      files.add(new FileEntry(relative, download.size(), download.sha256()));
      bytes += download.size();
      progress.report(String.format("hashed %d/%d artifacts of run %s, %.1f MB", files.size(), paths.size(), run.runId, bytes / 1e6));
      if (isMetrics) {
        metricsBytes = download.content();
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
    JsonNode node;
    try {
      node = MAPPER.readTree(bytes);
    } catch (java.io.IOException e) {
      node = null;
    }
    if (node == null || !node.isObject()) {
      throw run.invalid("logged " + path + ", which is not a flat JSON object name -> number");
    }
    Map<String, Double> metrics = new TreeMap<>();
    for (Map.Entry<String, JsonNode> field : node.properties()) {
      if (field.getValue().isNumber()) {
        metrics.put(field.getKey(), field.getValue().asDouble());
      } else {
        log.debug("{}: skipping non-numeric metric '{}'", path, field.getKey());
      }
    }
    metrics.forEach(
        (name, value) -> {
          Double logged = run.metrics.get(name);
          if (logged != null && Double.compare(logged, value) != 0) {
            log.warn(
                "run {} logged metric {}={} but its metrics file says {}; the file is what a replay is compared with",
                run.runId, name, logged, value);
          }
        });
    return metrics;
  }

  /** Paths (relative to the run's artifact root) of every file under {@code dir}, recursively, sorted. */
  private List<String> listArtifacts(String runId, String dir) {
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
        JsonNode page = http.get("artifacts/list", query);
        for (JsonNode file : page.path("files")) {
          String path = file.path("path").asText();
          if (!path.startsWith(current + "/")) {
            path = current + "/" + path; // stores that answer with paths relative to the listed directory
          }
          if (file.path("is_dir").asBoolean(false)) {
            pending.add(path);
          } else {
            files.add(path);
          }
        }
        token = page.path("next_page_token").asText(null);
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

  /** The {@code model_version} object a spec names; NOT_FOUND says whether the model, alias or version is missing. */
  private JsonNode modelVersion(MlflowSpec spec) {
    try {
      if (spec.byAlias()) {
        return http.get("registered-models/alias", query("name", spec.name(), "alias", spec.alias())).path("model_version");
      }
      return http.get("model-versions/get", query("name", spec.name(), "version", spec.version())).path("model_version");
    } catch (MlflowHttp.ApiError e) {
      if (e.type() != ErrorType.NOT_FOUND && e.type() != ErrorType.INVALID_INPUT) {
        throw e;
      }
      JsonNode model = registeredModel(spec.name());
      if (spec.byAlias()) {
        List<String> aliases = new ArrayList<>();
        for (JsonNode alias : model.path("aliases")) {
          if (alias.path("alias").asText().equals(spec.alias())) {
            throw e; // the alias exists, so the first answer meant something else
          }
          aliases.add(alias.path("alias").asText() + " -> " + alias.path("version").asText());
        }
        throw TimemachineException.notFound(
            "registered model '" + spec.name() + "' in MLflow at " + trackingUri() + " has no alias '" + spec.alias() + "' ("
                + (aliases.isEmpty() ? "it has no aliases" : "its aliases: " + String.join(", ", aliases)) + ")",
            "set it with MlflowClient().set_registered_model_alias('" + spec.name() + "', '" + spec.alias() + "', VERSION)");
      }
      if (e.notFound()) {
        throw TimemachineException.notFound(
            "registered model '" + spec.name() + "' in MLflow at " + trackingUri() + " has no version " + spec.version(),
            "list its versions with `timemachine models list --registry mlflow`");
      }
      throw e;
    }
  }

  private JsonNode registeredModel(String name) {
    try {
      return http.get("registered-models/get", query("name", name)).path("registered_model");
    } catch (MlflowHttp.ApiError e) {
      if (e.notFound()) {
        throw TimemachineException.notFound(
            "there is no registered model '" + name + "' in MLflow at " + trackingUri(),
            "list them with `timemachine models list --registry mlflow`");
      }
      throw e;
    }
  }

  /** Always refused: in MLflow, versions are registered by the training run that recorded its triplet. */
  @Override
  public void register(ModelVersion version) {
    throw TimemachineException.invalidInput(
        "model versions are registered in MLflow by the training run, not by timemachine: record the run with "
            + MlflowTags.RECORD_CALL + " and register it with mlflow (registries/src/main/python/record_run.py does both)");
  }

  /**
   * Every version of every registered model that resolves, sorted by name then version number, each
   * with its hashed outputs. Versions that cannot be replayed are left out; {@link #versions()} says
   * why. Each one's outputs are downloaded and hashed, so this is as slow as the registry is big.
   */
  @Override
  public List<ModelVersion> list() {
    List<ModelVersion> versions = new ArrayList<>();
    for (VersionSummary summary : versions()) {
      if (summary.replayable()) {
        versions.add(resolve(summary.name() + "/" + summary.version()));
      }
    }
    return versions;
  }

  /**
   * One model version as {@code timemachine models list --registry mlflow} shows it.
   *
   * @param aliases the aliases that point at this version
   * @param triplet the recorded triplet, or null when {@code problem} says what is missing
   * @param problem why this version cannot be replayed (the same message a replay would end with), or
   *     null when its triplet is complete and it logged outputs
   */
  public record VersionSummary(
      String name, String version, List<String> aliases, String runId, Triplet triplet, String problem) {
    public boolean replayable() {
      return problem == null;
    }
  }

  /**
   * Every version of every registered model, sorted by name then version number, with its triplet or
   * what is missing from it. Reads each version's run and lists its outputs, but downloads nothing,
   * so it stays quick on a big registry.
   */
  public List<VersionSummary> versions() {
    List<VersionSummary> summaries = new ArrayList<>();
    for (JsonNode model : registeredModels()) {
      String name = model.path("name").asText();
      Map<String, List<String>> aliases = new TreeMap<>();
      for (JsonNode alias : model.path("aliases")) {
        aliases.computeIfAbsent(alias.path("version").asText(), v -> new ArrayList<>()).add(alias.path("alias").asText());
      }
      for (JsonNode version : modelVersionsOf(name)) {
        String number = version.path("version").asText();
        String runId = version.path("run_id").asText("");
        Triplet triplet = null;
        String problem;
        try {
          new ModelRef(name, number); // a name timemachine cannot carry is a problem of this version only
          RecordedRun run = recordedRun(version);
          triplet = run.triplet();
          problem =
              listArtifacts(run.runId, run.outputsDir()).isEmpty()
                  ? "run " + run.runId + " logged no artifacts under " + run.outputsDir() + "/"
                  : null;
        } catch (TimemachineException e) {
          if (e.type() != ErrorType.INPUT_UNVERIFIABLE && e.type() != ErrorType.INVALID_INPUT) {
            throw e;
          }
          problem = e.getMessage();
        }
        summaries.add(new VersionSummary(name, number, aliases.getOrDefault(number, List.of()), runId, triplet, problem));
      }
    }
    return summaries;
  }

  private List<JsonNode> registeredModels() {
    List<JsonNode> models = new ArrayList<>();
    paginate("registered-models/search", Map.of(), page -> page.path("registered_models").forEach(models::add));
    models.sort(Comparator.comparing(m -> m.path("name").asText()));
    return models;
  }

  private List<JsonNode> modelVersionsOf(String name) {
    String quoted = name.contains("'") ? "\"" + name + "\"" : "'" + name + "'";
    List<JsonNode> versions = new ArrayList<>();
    paginate(
        "model-versions/search",
        Map.of("filter", "name=" + quoted),
        page -> page.path("model_versions").forEach(versions::add));
    versions.sort(Comparator.comparingLong(v -> v.path("version").asLong()));
    return versions;
  }

  private void paginate(String endpoint, Map<String, String> filter, java.util.function.Consumer<JsonNode> each) {
    String token = null;
    do {
      Map<String, String> query = new LinkedHashMap<>(filter);
      query.put("max_results", String.valueOf(PAGE));
      query.put("page_token", token);
      JsonNode page = http.get(endpoint, query);
      each.accept(page);
      token = page.path("next_page_token").asText(null);
    } while (token != null && !token.isEmpty());
  }

  /**
   * Sets {@code timemachine.verdict}, {@code .report}, {@code .replayed_at} (and the replay id and
   * reason) on the model version, then logs a run named after the replay id in the experiment {@code
   * timemachine-replays}, with the rebuilt metrics and the report as the artifact {@code report.json}.
   * Idempotent: a retried call finds the run of the same replay id instead of logging a second one.
   */
  @Override
  public void recordVerdict(String modelSpec, ReplayReport report, String reportUri) {
    MlflowSpec spec = MlflowSpec.parse(modelSpec);
    JsonNode version =
        report.model() != null
            ? modelVersion(new MlflowSpec(report.model().name(), null, report.model().version()))
            : modelVersion(spec);
    String name = version.path("name").asText();
    String number = version.path("version").asText();
    Instant finished = report.finishedAt() != null ? report.finishedAt() : clock.instant();
    String verdict = report.verdict() == null ? "UNKNOWN" : report.verdict().name();

    Map<String, String> versionTags = new LinkedHashMap<>();
    versionTags.put(MlflowTags.VERDICT, verdict);
    if (reportUri != null) {
      versionTags.put(MlflowTags.REPORT, reportUri);
    }
    versionTags.put(MlflowTags.REPLAYED_AT, finished.toString());
    if (report.replayId() != null) {
      versionTags.put(MlflowTags.REPLAY_ID, report.replayId());
    }
    if (report.verdictReason() != null) {
      versionTags.put(MlflowTags.VERDICT_REASON, truncate(report.verdictReason()));
    }
    versionTags.forEach((key, value) -> setVersionTag(name, number, key, value));

    String runId = logReplayRun(report, reportUri, name, number, version.path("run_id").asText(""), modelSpec, verdict, finished);
    setVersionTag(name, number, MlflowTags.REPLAY_RUN_ID, runId);
    log.info("wrote verdict {} of replay {} back to MLflow model version {}/{} (replay run {})", verdict, report.replayId(), name, number, runId);
  }

  private void setVersionTag(String name, String version, String key, String value) {
    http.post("model-versions/set-tag", Map.of("name", name, "version", version, "key", key, "value", value));
  }

  private String logReplayRun(
      ReplayReport report, String reportUri, String name, String version, String sourceRunId, String modelSpec,
      String verdict, Instant finished) {
    String experimentId = replaysExperiment();
    String replayId = report.replayId() == null ? "replay-" + finished.toEpochMilli() : report.replayId();
    JsonNode existing = findReplayRun(experimentId, replayId);
    if (existing != null && "FINISHED".equals(existing.path("info").path("status").asText())) {
      return existing.path("info").path("run_id").asText();
    }
    JsonNode run = existing;
    if (run == null) {
      Map<String, String> tags = new LinkedHashMap<>();
      tags.put(MlflowTags.REPLAY_ID, replayId);
      tags.put(MlflowTags.RUN_MODEL, name);
      tags.put(MlflowTags.RUN_VERSION, version);
      tags.put(MlflowTags.RUN_MODEL_SPEC, "mlflow:" + modelSpec);
      tags.put(MlflowTags.VERDICT, verdict);
      if (reportUri != null) {
        tags.put(MlflowTags.REPORT, reportUri);
      }
      if (!sourceRunId.isBlank()) {
        tags.put(MlflowTags.RUN_SOURCE_RUN_ID, sourceRunId);
      }
      if (report.verdictReason() != null) {
        tags.put(MlflowTags.VERDICT_REASON, truncate(report.verdictReason()));
        tags.put("mlflow.note.content", truncate(verdict + ": " + report.verdictReason()));
      }
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("experiment_id", experimentId);
      body.put("run_name", replayId);
      body.put("start_time", (report.startedAt() != null ? report.startedAt() : finished).toEpochMilli());
      body.put("tags", keyValues(tags));
      run = http.post("runs/create", body).path("run");
    }
    String runId = run.path("info").path("run_id").asText();

    List<Map<String, Object>> metrics = new ArrayList<>();
    for (MetricComparison metric : report.metrics() == null ? List.<MetricComparison>of() : report.metrics()) {
      if (metric.rebuilt() != null && Double.isFinite(metric.rebuilt())) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("key", metric.name());
        m.put("value", metric.rebuilt());
        m.put("timestamp", finished.toEpochMilli());
        m.put("step", 0);
        metrics.add(m);
      }
    }
    for (int i = 0; i < metrics.size(); i += PAGE) {
      http.post("runs/log-batch", Map.of("run_id", runId, "metrics", metrics.subList(i, Math.min(metrics.size(), i + PAGE))));
    }

    String root = proxiedRoot(run.path("info").path("artifact_uri").asText(""));
    if (root != null) {
      http.upload(
          MlflowHttp.ARTIFACTS_API + MlflowHttp.encodePath(root + "/" + MlflowTags.REPORT_ARTIFACT),
          Json.toBytes(report), "application/json", MlflowTags.REPORT_ARTIFACT + " of run " + runId);
    } else {
      log.warn(
          "replay run {} has artifact root {}, which the MLflow server does not serve (start it with --serve-artifacts);"
              + " the report stays at {}",
          runId, run.path("info").path("artifact_uri").asText(), reportUri);
    }
    http.post("runs/update", Map.of("run_id", runId, "status", "FINISHED", "end_time", finished.toEpochMilli()));
    return runId;
  }

  private String replaysExperiment() {
    try {
      return http.get("experiments/get-by-name", query("experiment_name", MlflowTags.REPLAYS_EXPERIMENT))
          .path("experiment").path("experiment_id").asText();
    } catch (MlflowHttp.ApiError e) {
      if (!e.notFound()) {
        throw e;
      }
    }
    try {
      return http.post("experiments/create", Map.of("name", MlflowTags.REPLAYS_EXPERIMENT)).path("experiment_id").asText();
    } catch (MlflowHttp.ApiError e) {
      if (e.type() != ErrorType.CONFLICT) {
        throw e;
      }
      // Created by a concurrent replay in between.
      return http.get("experiments/get-by-name", query("experiment_name", MlflowTags.REPLAYS_EXPERIMENT))
          .path("experiment").path("experiment_id").asText();
    }
  }

  private JsonNode findReplayRun(String experimentId, String replayId) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("experiment_ids", List.of(experimentId));
    body.put("filter", "tags.`" + MlflowTags.REPLAY_ID + "` = '" + replayId.replace("'", "\\'") + "'");
    body.put("max_results", 1);
    JsonNode runs = http.post("runs/search", body).path("runs");
    return runs.isArray() && !runs.isEmpty() ? runs.get(0) : null;
  }

  private static List<Map<String, String>> keyValues(Map<String, String> tags) {
    List<Map<String, String>> list = new ArrayList<>();
    tags.forEach((k, v) -> list.add(Map.of("key", k, "value", v)));
    return list;
  }

  private static Map<String, String> query(String... keyValues) {
    Map<String, String> query = new LinkedHashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      query.put(keyValues[i], keyValues[i + 1]);
    }
    return query;
  }

  private static String truncate(String value) {
    return value.length() <= MAX_TAG_VALUE ? value : value.substring(0, MAX_TAG_VALUE - 1) + "…";
  }
}
