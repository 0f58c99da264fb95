package dev.timemachine.app;

import dev.timemachine.activities.BacktestActivitiesImpl;
import dev.timemachine.activities.ControlActivitiesImpl;
import dev.timemachine.activities.TrainingActivitiesImpl;
import dev.timemachine.adapters.docker.DockerContainerEngine;
import dev.timemachine.core.data.Snapshots;
import dev.timemachine.adapters.git.JGitSourceCheckout;
import dev.timemachine.adapters.store.ObjectStores;
import dev.timemachine.adapters.store.S3Settings;
import dev.timemachine.core.ports.ModelRegistry;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.ports.SourceCheckout;
import dev.timemachine.registries.RegistryRouter;
import dev.timemachine.registries.manifest.ManifestRegistry;
import dev.timemachine.registries.manifest.Registration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The composition root: builds every adapter from a {@link Config}, once, lazily (a CLI command that
 * only lists models never connects to Docker). The only place that names concrete adapters.
 */
public final class Components implements AutoCloseable {
  private final Config config;
  private final ObjectStores stores;
  private ObjectStore store;
  private ManifestRegistry manifestRegistry;
  private RegistryRouter registries;
  private DockerContainerEngine engine;

  public Components(Config config) {
    this.config = config;
    this.stores = new ObjectStores(S3Settings.fromEnvironment(config.environment()));
  }

  public Config config() {
    return config;
  }

  public ObjectStores stores() {
    return stores;
  }

  /** The store for the registry, snapshots made by the CLI, reports and rebuilt outputs. */
  public synchronized ObjectStore store() {
    if (store == null) {
      store = stores.open(config.storeUri());
    }
    return store;
  }

  public synchronized ManifestRegistry manifestRegistry() {
    if (manifestRegistry == null) {
      manifestRegistry = new ManifestRegistry(store());
    }
    return manifestRegistry;
  }

  public synchronized RegistryRouter registries() {
    if (registries == null) {
      Map<String, Supplier<ModelRegistry>> factories = new LinkedHashMap<>();
      factories.put("manifest", this::manifestRegistry);
      MlflowSupport.addTo(factories, config, this);
      registries = new RegistryRouter("manifest", factories);
    }
    return registries;
  }

  public Snapshots snapshots() {
    return new Snapshots(stores);
  }

  public synchronized DockerContainerEngine engine() {
    if (engine == null) {
      engine = new DockerContainerEngine(config.dockerHost());
    }
    return engine;
  }

  public SourceCheckout sourceCheckout() {
    return new JGitSourceCheckout();
  }

  /** The registration use case, on this process's built-in registry, snapshot store and git. */
  public Registration registration(java.time.Clock clock) {
    return new Registration(manifestRegistry(), snapshots(), store().rootUri(), sourceCheckout(), clock);
  }

  public ControlActivitiesImpl controlActivities() {
    return new ControlActivitiesImpl(registries(), store());
  }

  /** The backtest's own steps: its report on the control queue, its data checks on the training host. */
  public BacktestActivitiesImpl backtestActivities() {
    return new BacktestActivitiesImpl(store(), config.workDir());
  }

  public TrainingActivitiesImpl trainingActivities() {
    return new TrainingActivitiesImpl(
        sourceCheckout(), engine(), snapshots(), store(), config.workDir(), config.hostQueue());
  }

  @Override
  public synchronized void close() {
    if (engine != null) {
      try {
        engine.close();
      } catch (Exception e) {
        // Closing a Docker client at exit is best effort.
      }
    }
    stores.close();
  }
}
