package dev.timemachine.app;

import dev.timemachine.activities.BacktestActivitiesImpl;
import dev.timemachine.core.data.SnapshotManifest;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.core.report.BacktestReport;
import dev.timemachine.workflow.BacktestRequest;
import dev.timemachine.workflow.BacktestResult;
import dev.timemachine.workflow.BacktestWorkflow;
import dev.timemachine.workflow.ReplayProgress;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.failure.ApplicationFailure;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Starts a backtest workflow and waits for it, printing its current step. The new data is turned into
 * a snapshot reference here, on the client: a directory is uploaded as a snapshot first, a snapshot
 * URI is read for its root digest; the training host then verifies every file against that digest.
 */
public final class BacktestRunner {
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss");

  private final TemporalRuntime temporal;
  private final Components components;

  public BacktestRunner(TemporalRuntime temporal, Components components) {
    this.temporal = temporal;
    this.components = components;
  }

  public static String newBacktestId(String modelSpec) {
    String readable = modelSpec.replaceAll("[^A-Za-z0-9_.-]", "-");
    if (readable.length() > 60) {
      readable = readable.substring(0, 60);
    }
    return "backtest-" + readable + "-" + LocalDateTime.now(ZoneOffset.UTC).format(STAMP) + "-"
        + UUID.randomUUID().toString().substring(0, 8);
  }

  /** The new data as a snapshot reference (without its file list): a directory is snapshotted into the store first. */
  public DataRef snapshotOf(String data, Progress progress) {
    if (data == null || data.isBlank()) {
      throw TimemachineException.invalidInput("--data is required: a directory or a snapshot URI");
    }
    if (data.contains("://")) {
      SnapshotManifest manifest = components.snapshots().readManifest(data);
      return DataRef.of(data, manifest.files()).withoutFiles();
    }
    Path dir = Path.of(data);
    if (!Files.isDirectory(dir)) {
      throw TimemachineException.invalidInput("--data '" + data + "' is neither a directory nor a snapshot URI");
    }
    return components.snapshots().create(dir, components.store().rootUri(), progress).withoutFiles();
  }

  /**
   * Refuses {@code --evaluate} before anything starts when a version recorded no evaluate entry point
   * (or was registered where its artifacts are not kept by content, as MLflow versions are not).
   */
  public void requireEvaluateEntryPoints(String modelSpec, List<String> against) {
    List<String> specs = new java.util.ArrayList<>(List.of(modelSpec));
    specs.addAll(against);
    for (String s : specs) {
      dev.timemachine.core.model.ModelVersion v = components.registries().resolve(s);
      if (v.triplet().code().evaluateEntryPoint().isEmpty()) {
        throw TimemachineException.invalidInput("--evaluate: " + s + " recorded no evaluate entry point (register it with"
            + " --evaluate-entry-point COMMAND, or backtest with --retrain)");
      }
    }
  }

  public BacktestResult run(
      String modelSpec, String backtestId, DataRef newData, List<String> against, TrainingLimits limits, String mode,
      PrintWriter progress) {
    Config config = components.config();
    WorkflowClient client = temporal.client();
    BacktestWorkflow workflow =
        client.newWorkflowStub(
            BacktestWorkflow.class,
            WorkflowOptions.newBuilder().setWorkflowId(backtestId).setTaskQueue(config.controlQueue())
                .setTypedSearchAttributes(dev.timemachine.workflow.SearchAttributes.atStart(
                    modelSpec, dev.timemachine.workflow.SearchAttributes.Trigger.BACKTEST))
                .build());
    BacktestRequest request =
        new BacktestRequest(backtestId, modelSpec, newData, against, limits, config.trainingQueue(),
            config.heartbeatTimeoutSeconds()).withMode(mode);
    WorkflowClient.start(workflow::backtest, request);
    progress.printf("backtest %s of %s on %s started%n", backtestId, modelSpec, newData.rootDigest());
    progress.flush();
    WorkflowStub stub = client.newUntypedWorkflowStub(backtestId);
    CompletableFuture<BacktestResult> result = stub.getResultAsync(BacktestResult.class);
    long started = System.nanoTime();
    String last = "";
    while (true) {
      try {
        return result.get(1, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        String step;
        try {
          step = stub.query("progress", ReplayProgress.class).step();
        } catch (RuntimeException queryFailed) {
          step = "(no control worker answers)";
        }
        if (!step.equals(last)) {
          progress.printf("[%4ds] %s%n", TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started), step);
          progress.flush();
          last = step;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw TimemachineException.unavailable("interrupted while waiting for " + backtestId, e);
      } catch (ExecutionException e) {
        throw translate(e.getCause(), backtestId);
      }
    }
  }

  /** The downstream backtests of a new upstream version, before they start: what runs with what. */
  public record DownstreamPlan(dev.timemachine.workflow.DownstreamRequest request) {}

  /**
   * Plans {@code backtest <upstream> --downstream}: the latest version of every model that consumes an
   * artifact of {@code upstreamSpec}'s model, each retrained with the same-named artifact of the new
   * version in place of the one it recorded, on {@code data} if given, else on its own recorded data.
   * Refused when the new version lacks an artifact a downstream model consumes, or nothing is downstream.
   */
  public DownstreamPlan planDownstream(
      String upstreamSpec, String id, DataRef data, TrainingLimits limits, int concurrency, String mode) {
    dev.timemachine.core.model.ModelVersion upstream = components.registries().resolve(upstreamSpec);
    var lineage = new dev.timemachine.core.model.Lineage(components.manifestRegistry().list());
    var downstream = lineage.latestDownstreamOf(upstream.model().name());
    if (downstream.isEmpty()) {
      throw TimemachineException.invalidInput("no registered model consumes an artifact of " + upstream.model().name()
          + " (register one with --upstream " + upstream.model() + ":ARTIFACT); `timemachine lineage "
          + upstream.model().name() + "` shows the links");
    }
    String store = dev.timemachine.core.data.Snapshots.storeRootOf(upstream.triplet().data().snapshotUri());
    Config config = components.config();
    List<BacktestRequest> backtests = new java.util.ArrayList<>();
    List<String> replaced = new java.util.ArrayList<>();
    int n = 0;
    for (var e : downstream.entrySet()) {
      dev.timemachine.core.model.ModelVersion consumer = e.getKey();
      dev.timemachine.core.model.UpstreamRef slot = e.getValue();
      dev.timemachine.core.model.FileEntry artifact = upstream.recorded().artifacts().stream()
          .filter(a -> a.path().equals(slot.artifact())).findFirst()
          .orElseThrow(() -> TimemachineException.invalidInput(consumer.model() + " consumes " + slot.model() + ":"
              + slot.artifact() + ", but " + upstream.model() + " recorded no artifact '" + slot.artifact() + "' (it recorded: "
              + upstream.recorded().artifacts().stream().map(dev.timemachine.core.model.FileEntry::path).toList() + ")"));
      dev.timemachine.core.model.UpstreamRef override = new dev.timemachine.core.model.UpstreamRef(slot.name(),
          upstream.model(), artifact.path(), artifact.sha256(), artifact.size(), store != null ? store : slot.storeUri());
      DataRef on = data != null ? data : consumer.triplet().data().withoutFiles();
      backtests.add(new BacktestRequest(id + "-" + (++n), consumer.model().toString(), on, List.of(), limits,
          config.trainingQueue(), config.heartbeatTimeoutSeconds(), List.of(override)).withMode(mode));
      replaced.add(slot + " -> " + upstream.model());
    }
    return new DownstreamPlan(new dev.timemachine.workflow.DownstreamRequest(
        id, upstream.model().toString(), backtests, replaced, concurrency));
  }

  /** Runs a planned downstream backtest and waits for its summary, printing each child as it finishes. */
  public dev.timemachine.core.report.DownstreamReport runDownstream(DownstreamPlan plan, PrintWriter progress) {
    Config config = components.config();
    WorkflowClient client = temporal.client();
    var request = plan.request();
    var workflow = client.newWorkflowStub(
        dev.timemachine.workflow.DownstreamBacktestWorkflow.class,
        WorkflowOptions.newBuilder().setWorkflowId(request.id()).setTaskQueue(config.controlQueue())
            .setTypedSearchAttributes(dev.timemachine.workflow.SearchAttributes.atStart(
                request.upstream(), dev.timemachine.workflow.SearchAttributes.Trigger.BACKTEST))
            .build());
    WorkflowClient.start(workflow::backtestDownstream, request);
    progress.printf("downstream backtest %s of %s started: %d model(s)%n", request.id(), request.upstream(),
        request.backtests().size());
    for (int i = 0; i < request.backtests().size(); i++) {
      progress.printf("  %s: %s%n", request.backtests().get(i).modelSpec(), request.replaced().get(i));
    }
    progress.flush();
    WorkflowStub stub = client.newUntypedWorkflowStub(request.id());
    CompletableFuture<dev.timemachine.core.report.DownstreamReport> result =
        stub.getResultAsync(dev.timemachine.core.report.DownstreamReport.class);
    long started = System.nanoTime();
    java.util.Set<String> done = new java.util.HashSet<>();
    while (true) {
      try {
        return result.get(2, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        for (BacktestRequest child : request.backtests()) {
          if (!done.contains(child.backtestId()) && components.store().exists(
              BacktestActivitiesImpl.reportKey(child.backtestId()))) {
            done.add(child.backtestId());
            progress.printf("[%4ds] %s: backtest finished (%d/%d)%n",
                TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started), child.modelSpec(), done.size(),
                request.backtests().size());
            progress.flush();
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw TimemachineException.unavailable("interrupted while waiting for " + request.id(), e);
      } catch (ExecutionException e) {
        throw translate(e.getCause(), request.id());
      }
    }
  }

  /** Where the report (or downstream summary) of backtest {@code id} is written. */
  public String reportUri(String id) {
    return components.store().uriOf(BacktestActivitiesImpl.reportKey(id));
  }

  /** The written report of a finished backtest. */
  public BacktestReport report(BacktestResult result) {
    return Json.parse(
        components.store().getBytes(BacktestActivitiesImpl.reportKey(result.backtestId())), BacktestReport.class,
        result.reportUri());
  }

  private static RuntimeException translate(Throwable failure, String id) {
    if (failure instanceof WorkflowFailedException failed) {
      for (Throwable t = failed.getCause(); t != null; t = t.getCause()) {
        if (t instanceof ApplicationFailure app) {
          ErrorType type;
          try {
            type = ErrorType.valueOf(app.getType());
          } catch (IllegalArgumentException e) {
            type = ErrorType.UNAVAILABLE;
          }
          String hint = null;
          try {
            hint = app.getDetails().get(app.getDetails().getSize() - 1, String.class);
          } catch (RuntimeException e) {
            // No hint was sent.
          }
          return new TimemachineException(type, app.getOriginalMessage(), hint, null);
        }
      }
      return TimemachineException.unavailable("backtest " + id + " failed: " + failed.getMessage(), failed);
    }
    return failure instanceof RuntimeException r ? r : new IllegalStateException(failure);
  }
}
