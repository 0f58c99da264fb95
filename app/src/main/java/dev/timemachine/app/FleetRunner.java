package dev.timemachine.app;

import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.fleet.FleetIds;
import dev.timemachine.core.fleet.FleetSummary;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ReplayIds;
import dev.timemachine.core.model.TrainingLimits;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.workflow.FleetProgress;
import dev.timemachine.workflow.FleetReplayWorkflow;
import dev.timemachine.workflow.FleetRequest;
import dev.timemachine.workflow.FleetResult;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import java.io.PrintWriter;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Starts a fleet replay (or finds a scheduled one), waits for it with progress, reads its summary. */
public final class FleetRunner {
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss");

  private final TemporalRuntime temporal;
  private final Config config;

  public FleetRunner(TemporalRuntime temporal, Config config) {
    this.temporal = temporal;
    this.config = config;
  }

  /** A fleet request with this process's queues and limits. */
  public FleetRequest request(String name, String selector, int concurrency, String trigger, String timeZone,
      TrainingLimits limits, boolean writeBack) {
    ReplayIds.require(name);
    return new FleetRequest(name, selector, concurrency, trigger, timeZone, limits, config.trainingQueue(),
        config.heartbeatTimeoutSeconds(), !writeBack, 0, null);
  }

  public FleetResult run(FleetRequest request, PrintWriter progress) {
    String workflowId = "fleet-" + request.effectiveName() + "-" + LocalDateTime.now(ZoneOffset.UTC).format(STAMP);
    FleetReplayWorkflow workflow = temporal.client().newWorkflowStub(FleetReplayWorkflow.class,
        WorkflowOptions.newBuilder().setWorkflowId(workflowId).setTaskQueue(config.controlQueue())
            .setTypedSearchAttributes(io.temporal.common.SearchAttributes.newBuilder()
                .set(dev.timemachine.workflow.SearchAttributes.TRIGGER,
                    dev.timemachine.workflow.SearchAttributes.Trigger.of(request.trigger()).value())
                .build())
            .build());
    WorkflowClient.start(workflow::run, request);
    progress.printf("fleet %s started (workflow %s, selector %s, concurrency %d)%n", request.effectiveName(), workflowId,
        request.selector(), request.effectiveConcurrency());
    progress.flush();
    return await(workflowId, progress);
  }

  public FleetResult await(String workflowId, PrintWriter progress) {
    WorkflowStub stub = temporal.client().newUntypedWorkflowStub(workflowId);
    CompletableFuture<FleetResult> result = stub.getResultAsync(FleetResult.class);
    long started = System.nanoTime();
    String last = "";
    while (true) {
      try {
        return result.get(2, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        String line;
        try {
          FleetProgress p = temporal.client().newUntypedWorkflowStub(workflowId).query("progress", FleetProgress.class);
          line = p.fleetId() == null ? "selecting" : p.done() + "/" + p.total() + " done, " + p.inFlight() + " in flight (" + p.fleetId() + ")";
        } catch (RuntimeException queryFailed) {
          line = "(no control worker answers)";
        }
        if (!line.equals(last)) {
          progress.printf("[%4ds] %s%n", TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started), line);
          progress.flush();
          last = line;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw TimemachineException.unavailable("interrupted while waiting for " + workflowId, e);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof WorkflowFailedException failed) {
          throw TimemachineException.unavailable("fleet " + workflowId + " failed: " + failed.getCause().getMessage(), failed);
        }
        throw TimemachineException.unavailable("lost the fleet " + workflowId + ": " + e.getCause().getMessage(), e.getCause());
      }
    }
  }

  public static FleetSummary summary(ObjectStore store, String fleetId) {
    String key = FleetIds.summaryKey(fleetId);
    return Json.parse(store.getBytes(key), FleetSummary.class, store.uriOf(key));
  }
}
