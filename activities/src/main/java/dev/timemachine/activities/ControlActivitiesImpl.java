package dev.timemachine.activities;

import dev.timemachine.workflow.Failures;
import dev.timemachine.core.model.ReplayIds;

import dev.timemachine.core.grading.Comparison;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.TrainingResult;
import dev.timemachine.core.ports.ModelRegistry;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.workflow.ControlActivities;
import dev.timemachine.core.data.Digests;
import dev.timemachine.core.evidence.Attestations;
import dev.timemachine.core.evidence.HistoryChain;
import dev.timemachine.core.evidence.ReplayStatement;
import dev.timemachine.core.evidence.Signer;
import dev.timemachine.core.grading.MetricComparison;
import io.temporal.activity.Activity;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/** Registry, comparison and report steps; thin over the ports. */
public final class ControlActivitiesImpl implements ControlActivities {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ControlActivitiesImpl.class);
  private final ModelRegistry registry;
  private final ObjectStore reports;
  private final Signer signer;
  private final String version;
  private final java.util.function.Supplier<String> workerBuildId;
  private final java.util.function.Supplier<ObjectStore> scratch;
  private final java.util.concurrent.atomic.AtomicReference<java.util.concurrent.CompletableFuture<Void>> warmup =
      new java.util.concurrent.atomic.AtomicReference<>();

  /** A report of the churn sample: what {@link #warmUp()} writes into a scratch store. */
  static final String WARMUP_REPORT = "warmup-report.json";

  /** Without a signing key: attestations are written unsigned and say so. */
  public ControlActivitiesImpl(ModelRegistry registry, ObjectStore reports) {
    this(registry, reports, null, "dev", () -> "dev:unknown", null);
  }

  /**
   * @param registry resolves model specs (a router over the built-in and MLflow registries)
   * @param reports the store reports are written to, under {@code reports/<replayId>.json}, with their
   *     attestations ({@code reports/<replayId>.intoto.json}) and the verdict history ({@code history/})
   * @param signer signs every attestation; null for a worker started with {@code --unsigned}
   * @param version timemachine's version, and {@code workerBuildId} the sha256 of this worker's jar,
   *     both named in every attestation as its verifier; asked for when the first attestation is written
   *     (hashing the jar takes a while, and need not delay a worker's start)
   * @param scratch a fresh in-memory store for {@link #warmUp()}, or null for none
   */
  public ControlActivitiesImpl(
      ModelRegistry registry, ObjectStore reports, Signer signer, String version,
      java.util.function.Supplier<String> workerBuildId, java.util.function.Supplier<ObjectStore> scratch) {
    this.registry = registry;
    this.reports = reports;
    this.signer = signer;
    this.version = version;
    this.workerBuildId = workerBuildId;
    this.scratch = scratch;
  }

  /**
   * Once per worker, on a daemon thread: writes a sample report, its signed attestation and its history
   * record into the scratch store, through the same code as {@link #writeReport} and the same data
   * converter as the SDK. The first report of a fresh JVM otherwise pays for building the JSON
   * (de)serializers of a report, the attestation and the history, and for Ed25519's first signature:
   * 370 ms of a 4 s embedded replay, measured. Started after the first resolve, it runs while the
   * replay's inputs are materialized and its model trains (a container limited to fewer CPUs than the
   * host has), so a core is idle. It never touches the real stores; a failure only loses the head start.
   * Returns the same future to every caller; null when this worker has no scratch store.
   */
  public java.util.concurrent.CompletableFuture<Void> warmUp() {
    if (scratch == null) {
      return null;
    }
    var started = new java.util.concurrent.CompletableFuture<Void>();
    if (!warmup.compareAndSet(null, started)) {
      return warmup.get();
    }
    Thread thread = new Thread(() -> {
      try {
        byte[] sample;
        try (var in = ControlActivitiesImpl.class.getResourceAsStream(WARMUP_REPORT)) {
          sample = java.util.Objects.requireNonNull(in, WARMUP_REPORT).readAllBytes();
        }
        var converter = io.temporal.common.converter.DataConverter.getDefaultInstance();
        ReplayReport report = converter.fromPayloads(0,
            converter.toPayloads(Json.parse(sample, ReplayReport.class, WARMUP_REPORT)), ReplayReport.class, ReplayReport.class);
        write(scratch.get(), report);
        started.complete(null);
      } catch (Throwable e) {
        log.debug("warming up the report path failed; the first report pays for it", e);
        started.completeExceptionally(e);
      }
    }, "timemachine-warmup");
    thread.setDaemon(true);
    thread.start();
    return started;
  }

  public static String reportKey(String replayId) {
    return "reports/" + ReplayIds.require(replayId) + ".json";
  }

  @Override
  public ModelVersion resolve(String modelSpec) {
    var context = Activity.getExecutionContext();
    ModelVersion resolved =
        Failures.call(registryService(modelSpec), () -> registry.resolve(modelSpec, message -> context.heartbeat("resolve: " + message)).forWorkflow());
    warmUp();
    return resolved;
  }

  @Override
  public Comparison compare(RecordedOutputs recorded, TrainingResult rebuilt) {
    return Comparison.of(recorded, rebuilt);
  }

  @Override
  public String writeReport(ReplayReport report) {
    return Failures.call("the report store " + reports.rootUri(), () -> write(reports, report));
  }

  /** The report, its attestation and its history record, into {@code store}; the report's URI. */
  private String write(ObjectStore store, ReplayReport report) {
    String key = reportKey(report.replayId());
    byte[] content = Json.toBytes(report);
    if (!store.putIfAbsent(key, content) && !Arrays.equals(store.getBytes(key), content)) {
      throw TimemachineException.conflict(
          "a different report already exists at " + store.uriOf(key),
          "reports are immutable; replay again under a new replay id");
    }
    byte[] attestation = attest(store, report, content);
    if (report.model() != null) {
      new HistoryChain(store).append(historyRecord(report, content, attestation));
    }
    return store.uriOf(key);
  }

  private byte[] attest(ObjectStore store, ReplayReport report, byte[] content) {
    String workflowId = null;
    String runId = null;
    try {
      var info = Activity.getExecutionContext().getInfo();
      workflowId = info.getWorkflowId();
      runId = info.getRunId();
    } catch (IllegalStateException notInAnActivity) {
      // Called directly (a test); the statement then names no workflow.
    }
    return new Attestations(store, signer).write(report.replayId(), content,
        new ReplayStatement.Context(version, workerBuildId.get(), workflowId, runId, signer != null));
  }

  private static HistoryChain.Record historyRecord(ReplayReport report, byte[] content, byte[] attestation) {
    Map<String, Double> deltas = new TreeMap<>();
    for (MetricComparison m : report.metrics()) {
      if (m.absDelta() != null) {
        deltas.put(m.name(), m.rebuilt() - m.recorded());
      }
    }
    return new HistoryChain.Record(HistoryChain.SCHEMA, 0, report.model(), report.replayId(), report.modelSpec(),
        report.verdict().name(), report.finishedAt() == null ? null : report.finishedAt().toString(),
        Digests.sha256Hex(content), Digests.sha256Hex(attestation), deltas, null);
  }

  @Override
  public void recordVerdict(String modelSpec, ReplayReport report, String reportUri) {
    Failures.run(registryService(modelSpec), () -> registry.recordVerdict(modelSpec, report, reportUri));
  }

  private static String registryService(String modelSpec) {
    return "the model registry of " + modelSpec;
  }
}
