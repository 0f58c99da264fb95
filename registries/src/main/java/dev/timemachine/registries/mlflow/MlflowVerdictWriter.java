package dev.timemachine.registries.mlflow;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.grading.MetricComparison;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.report.ReplayReport;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a verdict back: tags on the model version, and a run named after the replay id in the
 * experiment {@code timemachine-replays} with the rebuilt metrics and the report as {@code
 * report.json}. Idempotent: a retried call finds the run of the same replay id instead of logging a
 * second one.
 */
final class MlflowVerdictWriter {
  private static final Logger log = LoggerFactory.getLogger(MlflowVerdictWriter.class);
  private static final int MAX_TAG_VALUE = 5000;
  private static final int PAGE = 1000;

  private final MlflowHttp http;
  private final MlflowResolver resolver;
  private final Clock clock;

  MlflowVerdictWriter(MlflowHttp http, MlflowResolver resolver, Clock clock) {
    this.http = http;
    this.resolver = resolver;
    this.clock = clock;
  }

  void write(String modelSpec, ReplayReport report, String reportUri) {
    MlflowSpec spec = MlflowSpec.parse(modelSpec);
    MlflowApi.ModelVersionInfo version =
        resolver.modelVersion(
            report.model() != null ? new MlflowSpec(report.model().name(), null, report.model().version()) : spec);
    String name = version.name();
    String number = version.version();
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

    String runId = logReplayRun(report, reportUri, version, modelSpec, verdict, finished);
    setVersionTag(name, number, MlflowTags.REPLAY_RUN_ID, runId);
    log.info("wrote verdict {} of replay {} back to MLflow model version {}/{} (replay run {})", verdict, report.replayId(), name, number, runId);
  }

  private void setVersionTag(String name, String version, String key, String value) {
    http.post("model-versions/set-tag", Map.of("name", name, "version", version, "key", key, "value", value));
  }

  private String logReplayRun(
      ReplayReport report, String reportUri, MlflowApi.ModelVersionInfo version, String modelSpec, String verdict,
      Instant finished) {
    String experimentId = replaysExperiment();
    String replayId = report.replayId() == null ? "replay-" + finished.toEpochMilli() : report.replayId();
    MlflowApi.Run existing = findReplayRun(experimentId, replayId);
    if (existing != null && "FINISHED".equals(existing.info().status())) {
      return existing.info().id();
    }
    MlflowApi.Run run = existing;
    if (run == null) {
      Map<String, String> tags = new LinkedHashMap<>();
      tags.put(MlflowTags.REPLAY_ID, replayId);
      tags.put(MlflowTags.RUN_MODEL, version.name());
      tags.put(MlflowTags.RUN_VERSION, version.version());
      tags.put(MlflowTags.RUN_MODEL_SPEC, "mlflow:" + modelSpec);
      tags.put(MlflowTags.VERDICT, verdict);
      if (reportUri != null) {
        tags.put(MlflowTags.REPORT, reportUri);
      }
      if (!version.runIdOrEmpty().isBlank()) {
        tags.put(MlflowTags.RUN_SOURCE_RUN_ID, version.runId());
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
      MlflowApi.Run created = http.post("runs/create", body, MlflowApi.RunResponse.class).run();
      run = created == null ? new MlflowApi.Run(null, null, null) : created;
    }
    String runId = run.info().id();

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

    String artifactUri = run.info().artifactUri() == null ? "" : run.info().artifactUri();
    String root = MlflowResolver.proxiedRoot(artifactUri);
    if (root != null) {
      http.upload(
          MlflowHttp.ARTIFACTS_API + MlflowHttp.encodePath(root + "/" + MlflowTags.REPORT_ARTIFACT),
          Json.toBytes(report), "application/json", MlflowTags.REPORT_ARTIFACT + " of run " + runId);
    } else {
      log.warn(
          "replay run {} has artifact root {}, which the MLflow server does not serve (start it with --serve-artifacts);"
              + " the report stays at {}",
          runId, artifactUri, reportUri);
    }
    http.post("runs/update", Map.of("run_id", runId, "status", "FINISHED", "end_time", finished.toEpochMilli()));
    return runId;
  }

  private String replaysExperiment() {
    try {
      return experimentByName();
    } catch (MlflowHttp.ApiError e) {
      if (!e.notFound()) {
        throw e;
      }
    }
    try {
      return http.post("experiments/create", Map.of("name", MlflowTags.REPLAYS_EXPERIMENT), MlflowApi.CreatedExperiment.class)
          .experimentId();
    } catch (MlflowHttp.ApiError e) {
      if (e.type() != ErrorType.CONFLICT) {
        throw e;
      }
      return experimentByName(); // created by a concurrent replay in between
    }
  }

  private String experimentByName() {
    MlflowApi.Experiment experiment =
        http.get("experiments/get-by-name", MlflowResolver.query("experiment_name", MlflowTags.REPLAYS_EXPERIMENT),
                MlflowApi.ExperimentResponse.class)
            .experiment();
    return experiment == null || experiment.experimentId() == null ? "" : experiment.experimentId();
  }

  private MlflowApi.Run findReplayRun(String experimentId, String replayId) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("experiment_ids", List.of(experimentId));
    body.put("filter", "tags.`" + MlflowTags.REPLAY_ID + "` = '" + replayId.replace("'", "\\'") + "'");
    body.put("max_results", 1);
    List<MlflowApi.Run> runs = http.post("runs/search", body, MlflowApi.RunsPage.class).runs();
    return runs.isEmpty() ? null : runs.get(0);
  }

  private static List<Map<String, String>> keyValues(Map<String, String> tags) {
    List<Map<String, String>> list = new ArrayList<>();
    tags.forEach((k, v) -> list.add(Map.of("key", k, "value", v)));
    return list;
  }

  private static String truncate(String value) {
    return value.length() <= MAX_TAG_VALUE ? value : value.substring(0, MAX_TAG_VALUE - 1) + "…";
  }
}
