package dev.timemachine.app;

import dev.timemachine.workflow.BacktestWorkflowImpl;
import dev.timemachine.workflow.FleetReplayWorkflowImpl;
import dev.timemachine.workflow.ReplayWorkflowImpl;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.testing.TestEnvironmentOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerFactoryOptions;
import io.temporal.worker.WorkerOptions;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.Function;

/**
 * A connection to Temporal, either to the server of {@link TemporalSettings} (address, namespace, TLS,
 * API key from envconfig) or, when none is configured, to an in-process server (the SDK's test
 * server, without time skipping) for single-machine use such as the demo.
 */
public final class TemporalRuntime implements AutoCloseable {
  /** Which task queues a worker process serves. */
  public enum Queue {
    CONTROL,
    TRAINING
  }

  /**
   * The longest a worker holds back an activity's heartbeat before sending it to the server. The SDK's
   * default is 80% of the heartbeat timeout (48 s for 60 s), which would leave the CLI showing training
   * progress and log lines up to 48 s old; a heartbeat every 5 s costs one small request.
   */
  public static final java.time.Duration HEARTBEAT_THROTTLE = java.time.Duration.ofSeconds(5);

  private final TestWorkflowEnvironment embedded;
  private final WorkflowServiceStubs service;
  private final WorkflowClient client;
  private final WorkerFactory factory;

  private TemporalRuntime(TestWorkflowEnvironment embedded, WorkflowServiceStubs service, WorkflowClient client,
      WorkerFactory factory) {
    this.embedded = embedded;
    this.service = service;
    this.client = client;
    this.factory = factory;
  }

  public static TemporalRuntime connect(Config config) {
    return connect(config, null);
  }

  /** Connects, reporting the SDK's and the workflow's metrics to {@code metrics} if given. */
  public static TemporalRuntime connect(Config config, Metrics metrics) {
    com.uber.m3.tally.Scope scope = metrics == null ? new com.uber.m3.tally.NoopScope() : metrics.scope();
    if (config.embeddedTemporal()) {
      TestWorkflowEnvironment env =
          TestWorkflowEnvironment.newInstance(
              TestEnvironmentOptions.newBuilder()
                  .setUseTimeskipping(false)
                  .setMetricsScope(scope)
                  .setWorkflowClientOptions(WorkflowClientOptions.newBuilder().setNamespace(config.namespace()).build())
                  .setWorkerFactoryOptions(WorkerFactoryOptions.newBuilder().build())
                  .build());
      return new TemporalRuntime(env, env.getWorkflowServiceStubs(), env.getWorkflowClient(), env.getWorkerFactory());
    }
    WorkflowServiceStubs service = WorkflowServiceStubs.newServiceStubs(config.temporal().serviceStubsOptions(scope));
    WorkflowClient client = WorkflowClient.newInstance(service, config.temporal().clientOptions());
    return new TemporalRuntime(null, service, client, WorkerFactory.newInstance(client));
  }

  public WorkflowClient client() {
    return client;
  }

  public WorkflowServiceStubs service() {
    return service;
  }

  public boolean embedded() {
    return embedded != null;
  }

  /** Registers the workflow and activities for the given queues and starts polling. */
  public void startWorkers(Components components, Set<Queue> queues) {
    Config config = components.config();
    Function<String, Worker> newWorker =
        queue ->
            factory.newWorker(
                queue,
                WorkerOptions.newBuilder()
                    .setMaxConcurrentActivityExecutionSize(8)
                    .setMaxHeartbeatThrottleInterval(HEARTBEAT_THROTTLE)
                    .setDefaultHeartbeatThrottleInterval(HEARTBEAT_THROTTLE)
                    .build());
    if (queues.contains(Queue.CONTROL)) {
      Worker control = newWorker.apply(config.controlQueue());
      control.registerWorkflowImplementationTypes(
          ReplayWorkflowImpl.class, FleetReplayWorkflowImpl.class, BacktestWorkflowImpl.class);
      control.registerActivitiesImplementations(
          components.controlActivities(), components.fleetActivities(), components.backtestActivities());
    }
    if (queues.contains(Queue.TRAINING)) {
      // Before polling: what a crashed worker or CLI left on this host goes, unless its replay still runs.
      new Reaper(components.engine(), config.workDir(), Reaper.temporal(service(), config.namespace())).reap();
      var training = components.trainingActivities();
      var backtest = components.backtestActivities();
      newWorker.apply(config.trainingQueue()).registerActivitiesImplementations(training, backtest);
      newWorker.apply(config.hostQueue()).registerActivitiesImplementations(training, backtest);
    }
    if (embedded != null) {
      embedded.start();
    } else {
      factory.start();
    }
  }

  public void startAllWorkers(Components components) {
    startWorkers(components, EnumSet.allOf(Queue.class));
  }

  @Override
  public void close() {
    if (embedded != null) {
      embedded.close();
    } else {
      factory.shutdown();
      service.shutdown();
    }
  }
}
