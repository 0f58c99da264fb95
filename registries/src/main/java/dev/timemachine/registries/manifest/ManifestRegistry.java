package dev.timemachine.registries.manifest;

import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.ModelRegistry;
import dev.timemachine.core.ports.ObjectStore;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The built-in registry: each model version is an immutable JSON manifest at {@code
 * models/<name>/<version>.json} in an object store, and each replay's verdict is appended under
 * {@code verdicts/<name>/<version>/<replayId>.json}. Nothing is ever overwritten: registering a
 * version again with the same content is a no-op, with different content a {@code CONFLICT}.
 */
public final class ManifestRegistry implements ModelRegistry {
  private static final Logger log = LoggerFactory.getLogger(ManifestRegistry.class);
  private static final String MODELS = "models/";

  private final ObjectStore store;

  public ManifestRegistry(ObjectStore store) {
    this.store = store;
  }

  static String key(ModelRef model) {
    return MODELS + model.name() + "/" + model.version() + ".json";
  }

  /**
   * The sha256 of a version's manifest as registered, written once beside it: a manifest edited by
   * hand (a changed entry point, a swapped image) is refused at resolve instead of replayed. It guards
   * against edits, not against someone who rewrites both files; the signed attestation of every
   * replay names the triplet it ran, which {@code verify} and {@code history} check.
   */
  static String digestKey(ModelRef model) {
    return MODELS + model.name() + "/" + model.version() + ".sha256";
  }

  /** Where a version's manifest is, for people who want to read it. */
  public String uriOf(ModelRef model) {
    return store.uriOf(key(model));
  }

  @Override
  public void validateSpec(String modelSpec) {
    ModelRef.parse(modelSpec);
  }

  @Override
  public ModelVersion resolve(String modelSpec) {
    ModelRef model = ModelRef.parse(modelSpec);
    String key = key(model);
    if (!store.exists(key)) {
      throw TimemachineException.notFound(
          "model version " + model + " is not registered in " + store.rootUri(),
          "list registered versions with `timemachine models list`, or register it with `timemachine register`");
    }
    byte[] content = store.getBytes(key);
    String digestKey = digestKey(model);
    if (store.exists(digestKey)) {
      String recorded = new String(store.getBytes(digestKey), java.nio.charset.StandardCharsets.UTF_8).strip();
      String actual = dev.timemachine.core.data.Digests.sha256Hex(content);
      if (!recorded.equals(actual)) {
        throw new TimemachineException(dev.timemachine.core.errors.ErrorType.INPUT_UNVERIFIABLE,
            "the manifest of " + model + " at " + store.uriOf(key) + " was changed after registration: its sha256 is "
                + actual + ", registered " + recorded + " (" + store.uriOf(digestKey) + ")",
            "registered versions are immutable: restore the manifest from a backup, or register the changed run as a"
                + " new version", null);
      }
    }
    ModelVersion version = Json.parse(content, ModelVersion.class, store.uriOf(key));
    if (!version.model().equals(model)) {
      throw TimemachineException.invalidInput(
          store.uriOf(key) + " describes " + version.model() + ", not " + model + ": the registry was edited by hand");
    }
    return version;
  }

  @Override
  public void register(ModelVersion version) {
    String key = key(version.model());
    byte[] content = Json.toBytes(version);
    if (store.putIfAbsent(key, content)) {
      store.putIfAbsent(digestKey(version.model()),
          (dev.timemachine.core.data.Digests.sha256Hex(content) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
      log.info("registered {} at {}", version.model(), store.uriOf(key));
      return;
    }
    ModelVersion existing = Json.parse(store.getBytes(key), ModelVersion.class, store.uriOf(key));
    if (sameContent(existing, version)) {
      log.info("{} is already registered with the same content at {}", version.model(), store.uriOf(key));
      return;
    }
    throw TimemachineException.conflict(
        "model version " + version.model() + " is already registered with different content at " + store.uriOf(key),
        "registered versions are immutable: register the new run as a new version");
  }

  /** Equal apart from when they were registered. */
  private static boolean sameContent(ModelVersion a, ModelVersion b) {
    return a.model().equals(b.model()) && a.triplet().equals(b.triplet()) && a.recorded().equals(b.recorded())
        && java.util.Objects.equals(a.contract(), b.contract());
  }

  @Override
  public List<ModelVersion> list() {
    List<ModelVersion> versions = new ArrayList<>();
    for (String key : store.list(MODELS)) {
      if (key.endsWith(".json")) {
        versions.add(Json.parse(store.getBytes(key), ModelVersion.class, store.uriOf(key)));
      }
    }
    versions.sort(Comparator.comparing((ModelVersion v) -> v.model().name()).thenComparing(v -> v.model().version()));
    return versions;
  }

  @Override
  public void recordVerdict(String modelSpec, ReplayReport report, String reportUri) {
    if (report.model() == null) {
      return;
    }
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("replayId", report.replayId());
    entry.put("verdict", report.verdict());
    entry.put("verdictReason", report.verdictReason());
    entry.put("report", reportUri);
    entry.put("finishedAt", report.finishedAt());
    String key = "verdicts/" + report.model().name() + "/" + report.model().version() + "/" + report.replayId() + ".json";
    store.putIfAbsent(key, Json.toBytes(entry));
  }
}
