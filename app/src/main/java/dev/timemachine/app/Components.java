package dev.timemachine.app;

import dev.timemachine.activities.BacktestActivitiesImpl;
import dev.timemachine.activities.ControlActivitiesImpl;
import dev.timemachine.activities.FleetActivitiesImpl;
import dev.timemachine.activities.TrainingActivitiesImpl;
import dev.timemachine.adapters.docker.DockerContainerEngine;
import dev.timemachine.core.data.Snapshots;
import dev.timemachine.adapters.git.JGitSourceCheckout;
import dev.timemachine.adapters.store.ObjectStores;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.ModelRegistry;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.ports.SourceCheckout;
import dev.timemachine.registries.FleetCatalog;
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
  private SigningKeys.Mode signing = SigningKeys.Mode.CREATE_DEFAULT;
  private boolean signerResolved;
  private dev.timemachine.core.evidence.Signer signer;

  public Components(Config config) {
    this.config = config;
    this.stores = new ObjectStores(config.s3());
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
      try {
        store = stores.open(config.storeUri());
      } catch (dev.timemachine.core.errors.TimemachineException e) {
        if (e.type() != dev.timemachine.core.errors.ErrorType.INVALID_INPUT) {
          throw e;
        }
        throw dev.timemachine.core.errors.TimemachineException.configuration(
            "TIMEMACHINE_STORE: " + e.getMessage(), "e.g. TIMEMACHINE_STORE=s3://bucket/prefix or file:///var/lib/timemachine/store");
      }
    }
    return store;
  }

  /** Where the report of replay {@code replayId} is, if it exists: then that replay has finished. */
  public java.util.Optional<String> reportUri(String replayId) {
    String key = dev.timemachine.activities.ControlActivitiesImpl.reportKey(replayId);
    return store().exists(key) ? java.util.Optional.of(store().uriOf(key)) : java.util.Optional.empty();
  }

  /** Another store than the configured one (e.g. the root of a report URI given to verify). */
  public ObjectStore openStore(String rootUri) {
    return stores.open(rootUri);
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

  /**
   * The bytes of the report at {@code reportUri} (what a replay answers with), read through this
   * process's stores: from {@link #store()} when it lies under its root, else from the store of its
   * parent URI.
   */
  public byte[] readReport(String reportUri) {
    if (reportUri == null || reportUri.isBlank()) {
      throw TimemachineException.invalidInput("a report URI is required");
    }
    ObjectStore home = store();
    String root = home.rootUri().endsWith("/") ? home.rootUri() : home.rootUri() + "/";
    if (reportUri.startsWith(root)) {
      return home.getBytes(reportUri.substring(root.length()));
    }
    int slash = reportUri.lastIndexOf('/');
    if (slash <= 0 || slash == reportUri.length() - 1) {
      throw TimemachineException.invalidInput("'" + reportUri + "' is not the URI of a report");
    }
    return stores.open(reportUri.substring(0, slash)).getBytes(reportUri.substring(slash + 1));
  }

  public Snapshots snapshots() {
    return new Snapshots(stores);
  }

  public synchronized DockerContainerEngine engine() {
    if (engine == null) {
      engine = new DockerContainerEngine(config.docker().host());
    }
    return engine;
  }

  /**
   * Builds the Docker client on a daemon thread, so that a CLI about to start its in-process server
   * and workers does not wait for it afterwards: making it is about 180 ms of class loading and no I/O
   * (the client connects lazily). {@link #engine()} returns the same client, waiting for this one if it
   * is still being made; a failure here is left for that call to raise again.
   */
  public void prepareEngineInBackground() {
    // SLF4J is initialized here first: two threads initializing it at once make it print a warning
    // ("logging calls during the initialization phase ... replayed") on stderr, before a usage error.
    org.slf4j.LoggerFactory.getILoggerFactory();
    Thread thread = new Thread(() -> {
      try {
        engine();
      } catch (RuntimeException e) {
        // engine() raises it again, on the caller's thread, where it is reported.
      }
    }, "timemachine-engine-init");
    thread.setDaemon(true);
    thread.start();
  }

  /** The Docker client if one was made already, else null; makes none. */
  synchronized DockerContainerEngine engineIfMade() {
    return engine;
  }

  public SourceCheckout sourceCheckout() {
    return new JGitSourceCheckout();
  }

  /** The registration use case, on this process's built-in registry, snapshot store and git. */
  public Registration registration(java.time.Clock clock) {
    return new Registration(manifestRegistry(), snapshots(), store().rootUri(), sourceCheckout(), clock)
        .checkingImagesWith(new dev.timemachine.adapters.oci.RegistryManifests());
  }

  /** How the control activities get their signing key; call before the workers start. */
  public synchronized Components signing(SigningKeys.Mode mode) {
    this.signing = mode;
    this.signerResolved = false;
    return this;
  }

  /**
   * The attestation signer (null when unsigned), resolved once; its public key is published in the
   * store as {@code keys/<keyid>.pub} so that {@code timemachine verify} finds it.
   */
  public synchronized dev.timemachine.core.evidence.Signer signer() {
    if (!signerResolved) {
      signer = SigningKeys.resolve(config, signing);
      if (signer != null) {
        SigningKeys.publish(store(), signer);
      }
      signerResolved = true;
    }
    return signer;
  }

  public ControlActivitiesImpl controlActivities() {
    return new ControlActivitiesImpl(registries(), store(), signer(), SigningKeys.version(), SigningKeys.workerBuildIdInBackground(),
        dev.timemachine.adapters.store.InMemoryObjectStore::new);
  }

  /** The backtest's own steps: its report on the control queue, its data checks on the training host. */
  public BacktestActivitiesImpl backtestActivities() {
    return new BacktestActivitiesImpl(store(), config.workDir());
  }

  /** Snapshots as the training host restores them: through its data cache ({@code TIMEMACHINE_DATA_CACHE}). */
  public Snapshots hostSnapshots() {
    return snapshots().withCache(config.store().openDataCache());
  }

  /** Checkouts as the training host makes them: through its bare mirror per repository under {@code <work>/.cache/git}. */
  public JGitSourceCheckout hostSourceCheckout() {
    return new JGitSourceCheckout(config.workDir().resolve(".cache").resolve("git"));
  }

  public TrainingActivitiesImpl trainingActivities() {
    return new TrainingActivitiesImpl(
        hostSourceCheckout(), engine(), hostSnapshots(), store(), config.workDir(), config.hostQueue(), Reaper.currentOwner(),
        owner -> owner.host().equals(Reaper.currentOwner().host()) && Reaper.alive(owner), hostImageCheck());
  }

  /**
   * The content check of pulled images, through this host's manifest cache under {@code <work>/.cache/images};
   * with {@code TIMEMACHINE_IMAGE_CHECK=layers}, every layer too.
   */
  public dev.timemachine.core.data.ImageContentCheck hostImageCheck() {
    return new dev.timemachine.core.data.ImageContentCheck(new dev.timemachine.adapters.oci.RegistryManifests(),
        config.workDir().resolve(".cache").resolve("images"),
        dev.timemachine.core.data.ImageContentCheck.ociArchitecture(System.getProperty("os.arch")),
        config.docker().checksLayers() ? engine() : null);
  }

  /** The pre-flight check over the registries, git, the image registries' API and the stores. */
  public dev.timemachine.core.check.Preflight preflight() {
    return new dev.timemachine.core.check.Preflight(
        registries(), sourceCheckout(), new dev.timemachine.adapters.oci.RegistryManifests(), snapshots());
  }

  /** The fleet selector over the same registries a replay resolves against. */
  public FleetCatalog fleetCatalog() {
    return new FleetCatalog(registries(), "manifest");
  }

  public FleetActivitiesImpl fleetActivities() {
    return new FleetActivitiesImpl(fleetCatalog(), store(), WebhookAlerts.from(config.worker().alertWebhook(), store().rootUri()),
        preflight());
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
