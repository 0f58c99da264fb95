package dev.timemachine.app;

import dev.timemachine.workflow.BacktestWorkflowImpl;
import dev.timemachine.workflow.FleetReplayWorkflowImpl;
import dev.timemachine.workflow.ReplayWorkflowImpl;
import dev.timemachine.workflow.SearchAttributes;
import dev.timemachine.core.errors.TimemachineException;
import io.grpc.Status;
import org.slf4j.LoggerFactory;
import io.grpc.StatusRuntimeException;
import io.temporal.api.enums.v1.IndexedValueType;
import io.temporal.api.operatorservice.v1.AddSearchAttributesRequest;
import io.temporal.api.operatorservice.v1.ListSearchAttributesRequest;
import io.temporal.serviceclient.OperatorServiceStubs;
import io.temporal.serviceclient.OperatorServiceStubsOptions;
import java.util.concurrent.TimeUnit;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
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
  /** The embedded CLI's reap of leftovers, running beside the start of its replay; done by {@link #close}. */
  private java.util.concurrent.CompletableFuture<Void> reaping = java.util.concurrent.CompletableFuture.completedFuture(null);

  /**
   * The gRPC client's own event loop (remote servers only), closed with this runtime: a netty thread
   * left waiting in {@code epoll_wait} holds a JVM's exit up by 300 ms (it waits for threads in native
   * code), which every CLI run would pay with grpc's shared loop.
   */
  private final io.grpc.netty.shaded.io.netty.channel.EventLoopGroup eventLoop;

  private TemporalRuntime(TestWorkflowEnvironment embedded, WorkflowServiceStubs service, WorkflowClient client,
      WorkerFactory factory) {
    this(embedded, service, client, factory, null);
  }

  private TemporalRuntime(TestWorkflowEnvironment embedded, WorkflowServiceStubs service, WorkflowClient client,
      WorkerFactory factory, io.grpc.netty.shaded.io.netty.channel.EventLoopGroup eventLoop) {
    this.eventLoop = eventLoop;
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
      SearchAttributes.ALL.forEach(key -> env.registerSearchAttribute(key.getName(), IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD));
      return new TemporalRuntime(env, env.getWorkflowServiceStubs(), env.getWorkflowClient(), env.getWorkerFactory());
    }
    WorkflowServiceStubsOptions configured = config.temporal().serviceStubsOptions(scope);
    var eventLoop = new io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup(
        2, new io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory("timemachine-grpc", true));
    var profileInitializer = configured.getChannelInitializer();
    WorkflowServiceStubs service = WorkflowServiceStubs.newServiceStubs(
        WorkflowServiceStubsOptions.newBuilder(configured)
            .setChannelInitializer(builder -> {
              if (profileInitializer != null) {
                profileInitializer.accept(builder);
              }
              ((io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder) builder)
                  .eventLoopGroup(eventLoop)
                  .channelType(io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel.class);
            })
            .build());
    WorkflowClient client = WorkflowClient.newInstance(service, config.temporal().clientOptions());
    return new TemporalRuntime(null, service, client, WorkerFactory.newInstance(client), eventLoop);
  }

  /**
   * Registers those of timemachine's search attributes ({@link SearchAttributes}) that the namespace
   * lacks, so that workflows can set them; idempotent, one list call when all are there. A server that
   * refuses (no operator permission) is a {@code CONFIGURATION} error naming the command that
   * registers them. {@code scripts/temporal.sh} registers them on the dev server as well.
   */
  public void ensureSearchAttributes(Config config) {
    if (embedded != null) {
      return;
    }
    try {
      OperatorServiceStubs operator = OperatorServiceStubs.newServiceStubs(
          OperatorServiceStubsOptions.newBuilder(service.getOptions()).validateAndBuildWithDefaults());
      try {
        // One at a time, each until listed: two registrations in flight can overwrite each other's mapping.
        for (String name : SearchAttributes.NAMES) {
          for (int attempt = 0; attempt < 40 && !listed(operator, config, name); attempt++) {
            if (attempt % 10 == 0) {
              try {
                operator.blockingStub().withDeadlineAfter(30, TimeUnit.SECONDS)
                    .addSearchAttributes(AddSearchAttributesRequest.newBuilder().setNamespace(config.namespace())
                        .putSearchAttributes(name, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD).build());
              } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.ALREADY_EXISTS) {
                  throw e;
                }
              }
            }
            sleepQuietly(250);
          }
        }
      } finally {
        operator.shutdown();
      }
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.ALREADY_EXISTS) {
        return;
      }
      if (e.getStatus().getCode() == Status.Code.UNAVAILABLE || e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
        // A server that is not up yet: the worker waits for it as before; scripts/temporal.sh registers them too.
        LoggerFactory.getLogger(TemporalRuntime.class).warn(
            "could not check the search attributes {} on {}: {}", SearchAttributes.NAMES, config.temporalAddress(), e.getStatus());
        return;
      }
      throw TimemachineException.configuration(
          "cannot register the search attributes " + SearchAttributes.NAMES + " on " + config.temporalAddress()
              + " (namespace " + config.namespace() + "): " + e.getStatus().getCode() + " " + e.getStatus().getDescription(),
          "register them once with `temporal operator search-attribute create --namespace " + config.namespace()
              + " --name TimemachineModel --type Keyword` (and TimemachineVersion, TimemachineVerdict, TimemachineTrigger),"
              + " or run scripts/temporal.sh up");
    }
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

  private static boolean listed(OperatorServiceStubs operator, Config config, String name) {
    return operator.blockingStub().withDeadlineAfter(10, TimeUnit.SECONDS)
        .listSearchAttributes(ListSearchAttributesRequest.newBuilder().setNamespace(config.namespace()).build())
        .getCustomAttributesMap().containsKey(name);
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
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
          ReplayWorkflowImpl.class, FleetReplayWorkflowImpl.class, BacktestWorkflowImpl.class,
          dev.timemachine.workflow.DownstreamBacktestWorkflowImpl.class);
      control.registerActivitiesImplementations(
          components.controlActivities(), components.fleetActivities(), components.backtestActivities());
    }
    if (queues.contains(Queue.TRAINING)) {
      // Before polling: what a crashed worker or CLI left on this host goes, unless its replay still runs.
      Reaper reaper = new Reaper(components.engine(), config.workDir(), Reaper.temporal(service(), config.namespace()));
      if (embedded != null) {
        // An in-process server knows only this process's workflows, whose containers and work directories
        // carry this live process as their owner and are never judged orphaned: the reap can run beside
        // the replay instead of before it (it is mostly waiting on the Docker engine).
        reaping = java.util.concurrent.CompletableFuture.runAsync(reaper::reap, runnable -> {
          Thread thread = new Thread(runnable, "timemachine-reaper");
          thread.setDaemon(true);
          thread.start();
        });
      } else {
        reaper.reap();
      }
      var training = components.trainingActivities();
      var backtest = components.backtestActivities();
      newWorker.apply(config.trainingQueue()).registerActivitiesImplementations(training, backtest);
      newWorker.apply(config.hostQueue()).registerActivitiesImplementations(training, backtest);
    }
    if (embedded != null) {
      embedded.start();
    } else {
      // Before any workflow of this worker sets one of them.
      ensureSearchAttributes(config);
      factory.start();
    }
  }

  public void startAllWorkers(Components components) {
    startWorkers(components, EnumSet.allOf(Queue.class));
  }

  @Override
  public void close() {
    if (embedded != null) {
      try {
        reaping.get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        // The reap is best effort (the next start reaps again); its own problems are logged by it.
      }
      // Stop polling now; the in-process server holds nothing but this process's memory, so its orderly
      // shutdown (channels, executors: about 250 ms) need not hold up a CLI that is about to exit.
      factory.shutdownNow();
      Thread closer = new Thread(embedded::close, "temporal-embedded-close");
      closer.setDaemon(true);
      closer.start();
    } else {
      factory.shutdown();
      service.shutdown();
      try {
        service.awaitTermination(2, TimeUnit.SECONDS);
      } catch (RuntimeException e) {
        // Closing at exit is best effort.
      }
      eventLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(2, TimeUnit.SECONDS);
    }
  }
}
