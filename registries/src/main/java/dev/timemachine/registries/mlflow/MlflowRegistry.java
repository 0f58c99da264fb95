package dev.timemachine.registries.mlflow;

import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.core.ports.ModelRegistry;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.core.report.ReplayReport;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * A team's existing MLflow model registry, read and written over MLflow's REST API: a model version
 * ({@code churn@champion} or {@code churn/3}) resolves to the run behind it, whose tags record the
 * triplet, whose artifacts under {@code timemachine/outputs/} are the recorded outputs (downloaded and
 * hashed here, since MLflow keeps no hashes), and whose metrics file gives the recorded metrics. After a
 * replay, the verdict goes back on the model version as tags and as a run in the experiment {@code
 * timemachine-replays}. The conventions are in docs/mlflow.md and {@link MlflowTags}.
 *
 * <p>A facade: {@link MlflowResolver} resolves, {@link MlflowListing} lists, {@link
 * MlflowVerdictWriter} writes back, all over one {@link MlflowHttp}. Nothing here caches: an alias is
 * resolved when the replay starts, and the workflow carries the version number it got from then on.
 */
public final class MlflowRegistry implements ModelRegistry {
  private final MlflowHttp http;
  private final MlflowResolver resolver;
  private final MlflowListing listing;
  private final MlflowVerdictWriter verdicts;

  public MlflowRegistry(MlflowSettings settings) {
    this(settings, MlflowHttp.defaultClient(), Clock.systemUTC());
  }

  /** With an HTTP client of your own (proxy, TLS context) and a clock for reports without a finish time. */
  public MlflowRegistry(MlflowSettings settings, HttpClient client, Clock clock) {
    this(new MlflowHttp(settings, client), clock);
  }

  MlflowRegistry(MlflowHttp http, Clock clock) {
    this.http = http;
    this.resolver = new MlflowResolver(http);
    this.listing = new MlflowListing(http, resolver);
    this.verdicts = new MlflowVerdictWriter(http, resolver, clock);
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
    return resolver.resolve(MlflowSpec.parse(modelSpec), progress);
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
    return listing.versions();
  }

  /**
   * Sets {@code timemachine.verdict}, {@code .report}, {@code .replayed_at} (and the replay id and
   * reason) on the model version, then logs a run named after the replay id in the experiment {@code
   * timemachine-replays}, with the rebuilt metrics and the report as the artifact {@code report.json}.
   * Idempotent: a retried call finds the run of the same replay id instead of logging a second one.
   */
  @Override
  public void recordVerdict(String modelSpec, ReplayReport report, String reportUri) {
    verdicts.write(modelSpec, report, reportUri);
  }
}
