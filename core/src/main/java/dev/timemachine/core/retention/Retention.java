package dev.timemachine.core.retention;

import dev.timemachine.core.data.SnapshotManifest;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.ports.ObjectStore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code timemachine gc} may delete from a store: mark, then sweep. Pure over the {@link
 * ObjectStore} port (one detailed listing, the referrers read as text, the kept manifests parsed), so
 * it is tested on the in-memory store and runs the same on the local and the S3 store.
 *
 * <p><b>Marked</b> (kept whatever their age): what a registered version needs ({@link Need}: its
 * snapshot, every object its manifest lists, the objects of its recorded artifacts), and every key of
 * this store that a referrer names by URI: reports, backtest reports, fleet summaries and their parts,
 * verdicts and the verdict history ({@link #REFERRERS}). A URI marks its key and everything under it
 * ({@code .../replays/<id>/outputs} keeps every kept output). A kept snapshot keeps its objects.
 *
 * <p><b>Swept</b>: only keys under {@link #SWEPT} (snapshots, content-addressed objects, replays' kept
 * outputs and logs) that nothing marks and that are older than the grace period. A snapshot is one
 * unit, aged by its newest key: a snapshot created but not yet registered, and the objects it lists,
 * stay for the grace period. Registered manifests, reports, verdicts, history and keys are never
 * deleted. When a snapshot that must be kept has a manifest that cannot be read, no object is swept
 * (nobody can tell which objects it needs), and the plan says why.
 */
public final class Retention {
  /** The default grace period: nothing younger is swept. */
  public static final Duration DEFAULT_GRACE = Duration.ofHours(24);

  /** Key prefixes gc may delete from; everything else is never touched. */
  public static final List<String> SWEPT = List.of("snapshots/", "replays/", SnapshotManifest.OBJECTS);

  /** Key prefixes of the objects whose URIs say what is still needed. */
  public static final List<String> REFERRERS = List.of("reports/", "backtests/", "fleets/", "verdicts/", "history/");

  private static final Pattern SNAPSHOT_KEY = Pattern.compile("snapshots/([0-9a-f]{64})(/.*)?");
  private static final String MANIFEST = "manifest.json";

  /**
   * What one registered version needs kept: its snapshot's URI (in this store or another) and the
   * sha256 of each recorded artifact, kept by content in {@code objects/sha256/} at registration.
   *
   * @param who how the plan names it ({@code churn@1}, {@code mlflow:churn/3})
   */
  public record Need(String who, String snapshotUri, Set<String> artifactSha256s) {
    public Need {
      artifactSha256s = artifactSha256s == null ? Set.of() : Set.copyOf(artifactSha256s);
    }
  }

  /** One key that would go, with why. */
  public record Doomed(String key, long size, Instant lastModified, String kind) {}

  /**
   * What gc would do: the keys to delete (snapshot manifests first, then replays' files, then
   * objects, so that no manifest ever names a deleted object), what it keeps and why objects are
   * held back, if they are.
   *
   * @param objectsHeldBack why no object is swept this time, or null
   * @param keptSnapshots the snapshot directories kept (referenced, needed or young)
   */
  public record Plan(
      String storeUri, Instant now, Duration grace, List<Doomed> doomed, int keptKeys, long keptBytes,
      Set<String> keptSnapshots, String objectsHeldBack, List<String> notes) {
    public long doomedBytes() {
      return doomed.stream().mapToLong(Doomed::size).sum();
    }

    /** Per kind (snapshot, object, replay): how many keys and bytes would go. */
    public Map<String, long[]> byKind() {
      Map<String, long[]> totals = new TreeMap<>();
      for (Doomed d : doomed) {
        long[] t = totals.computeIfAbsent(d.kind(), k -> new long[2]);
        t[0]++;
        t[1] += d.size();
      }
      return totals;
    }
  }

  /** What a sweep did: the keys deleted, and those a snapshot written since the plan turned out to need. */
  public record Swept(int deletedKeys, long deletedBytes, List<String> spared) {}

  private Retention() {}

  /**
   * Marks what {@code needs} and the store's referrers reference, and lists what else under {@link
   * #SWEPT} is older than {@code grace}. Reads; deletes nothing. A store that cannot be read throws,
   * so an outage never looks like an empty store.
   */
  public static Plan plan(ObjectStore store, Collection<Need> needs, Instant now, Duration grace) {
    if (grace.isNegative()) {
      throw TimemachineException.invalidInput("the grace period cannot be negative");
    }
    String root = store.rootUri() + "/";
    Instant cutoff = now.minus(grace);
    List<ObjectStore.Listed> all = store.listDetailed("");
    Map<String, ObjectStore.Listed> byKey = new LinkedHashMap<>();
    all.forEach(l -> byKey.put(l.key(), l));

    // Every reference, as a key of this store: the key itself and everything under it are kept.
    Set<String> referenced = new TreeSet<>();
    List<String> notes = new ArrayList<>();
    Pattern uri = Pattern.compile(Pattern.quote(root) + "([A-Za-z0-9._~%+=@:/-]+)");
    for (ObjectStore.Listed listed : all) {
      if (REFERRERS.stream().anyMatch(listed.key()::startsWith) && listed.key().endsWith(".json")) {
        Matcher m = uri.matcher(new String(store.getBytes(listed.key()), StandardCharsets.UTF_8));
        while (m.find()) {
          referenced.add(trimSlash(m.group(1)));
        }
      }
    }
    Set<String> neededObjects = new HashSet<>();
    for (Need need : needs) {
      if (need.snapshotUri() != null && need.snapshotUri().startsWith(root)) {
        referenced.add(trimSlash(need.snapshotUri().substring(root.length())));
      }
      for (String sha : need.artifactSha256s()) {
        neededObjects.add(SnapshotManifest.objectKey(sha));
      }
    }

    // Snapshots: one unit each, kept if referenced or young; a kept one keeps its objects.
    Map<String, Instant> snapshotNewest = new TreeMap<>();
    for (ObjectStore.Listed listed : all) {
      Matcher m = SNAPSHOT_KEY.matcher(listed.key());
      if (m.matches()) {
        snapshotNewest.merge(m.group(1), listed.lastModified(), (a, b) -> a.isAfter(b) ? a : b);
      }
    }
    Set<String> keptSnapshots = new TreeSet<>();
    String objectsHeldBack = null;
    for (Map.Entry<String, Instant> snapshot : snapshotNewest.entrySet()) {
      String dir = "snapshots/" + snapshot.getKey();
      // A young snapshot was created within the grace period, perhaps to be registered next.
      boolean young = snapshot.getValue().isAfter(cutoff);
      if (!covers(referenced, dir + "/" + MANIFEST) && !young) {
        continue;
      }
      keptSnapshots.add(dir);
      String problem = objectsOf(store, dir, byKey, neededObjects);
      if (problem != null && objectsHeldBack == null) {
        objectsHeldBack = problem;
      }
    }
    for (String ref : referenced) {
      Matcher m = SNAPSHOT_KEY.matcher(ref);
      if (m.matches() && !snapshotNewest.containsKey(m.group(1))) {
        notes.add("referenced snapshot " + store.uriOf("snapshots/" + m.group(1)) + " is not in the store");
      }
    }

    List<Doomed> snapshots = new ArrayList<>();
    List<Doomed> replays = new ArrayList<>();
    List<Doomed> objects = new ArrayList<>();
    int keptKeys = 0;
    long keptBytes = 0;
    for (ObjectStore.Listed listed : all) {
      String key = listed.key();
      String prefix = SWEPT.stream().filter(key::startsWith).findFirst().orElse(null);
      if (prefix == null) {
        continue;
      }
      boolean keep;
      String kind;
      Matcher snapshot = SNAPSHOT_KEY.matcher(key);
      if (snapshot.matches()) {
        kind = "snapshot";
        keep = keptSnapshots.contains("snapshots/" + snapshot.group(1));
      } else if (prefix.equals(SnapshotManifest.OBJECTS)) {
        kind = "object";
        keep = objectsHeldBack != null || neededObjects.contains(key) || covers(referenced, key)
            || listed.lastModified().isAfter(cutoff);
      } else if (prefix.equals("replays/")) {
        kind = "replay";
        keep = covers(referenced, key) || listed.lastModified().isAfter(cutoff);
      } else {
        // "snapshots/" with a key that is no snapshot of timemachine's: not ours to judge.
        keep = true;
        kind = "other";
      }
      if (keep) {
        keptKeys++;
        keptBytes += listed.size();
        continue;
      }
      Doomed doomed = new Doomed(key, listed.size(), listed.lastModified(), kind);
      switch (kind) {
        case "snapshot" -> snapshots.add(doomed);
        case "replay" -> replays.add(doomed);
        default -> objects.add(doomed);
      }
    }
    // Within a snapshot the manifest goes first, so a half-finished sweep leaves no manifest without its files.
    snapshots.sort((a, b) -> Boolean.compare(!a.key().endsWith("/" + MANIFEST), !b.key().endsWith("/" + MANIFEST)));
    List<Doomed> doomed = new ArrayList<>(snapshots);
    doomed.addAll(replays);
    doomed.addAll(objects);
    return new Plan(store.rootUri(), now, grace, List.copyOf(doomed), keptKeys, keptBytes, Set.copyOf(keptSnapshots),
        objectsHeldBack, List.copyOf(notes));
  }

  /**
   * Deletes what {@code plan} lists. Just before the objects go, the snapshot manifests are listed
   * again: a snapshot written since the plan (it may have found an old object in the store and not
   * uploaded it again) spares every object it lists.
   */
  public static Swept sweep(ObjectStore store, Plan plan) {
    int deleted = 0;
    long bytes = 0;
    Set<String> spare = null;
    List<String> spared = new ArrayList<>();
    for (Doomed d : plan.doomed()) {
      if (d.kind().equals("object")) {
        if (spare == null) {
          spare = objectsOfSnapshotsWrittenSince(store, plan);
        }
        if (spare.contains(d.key())) {
          spared.add(d.key());
          continue;
        }
      }
      store.delete(d.key());
      deleted++;
      bytes += d.size();
    }
    return new Swept(deleted, bytes, List.copyOf(spared));
  }

  private static Set<String> objectsOfSnapshotsWrittenSince(ObjectStore store, Plan plan) {
    Set<String> objects = new HashSet<>();
    Set<String> doomedManifests = new HashSet<>();
    plan.doomed().forEach(d -> doomedManifests.add(d.key()));
    for (String key : store.list("snapshots/")) {
      Matcher m = SNAPSHOT_KEY.matcher(key);
      if (m.matches() && key.endsWith("/" + MANIFEST) && !plan.keptSnapshots().contains("snapshots/" + m.group(1))
          && !doomedManifests.contains(key)) {
        String problem = objectsOf(store, "snapshots/" + m.group(1), null, objects);
        if (problem != null) {
          throw TimemachineException.conflict(problem + "; no object was deleted",
              "run timemachine gc again once the snapshot being written is complete");
        }
      }
    }
    return objects;
  }

  /**
   * Adds the object keys the manifest of {@code dir} lists to {@code into}; returns why it could not
   * tell (unreadable manifest), or null. A v1 snapshot has its files in its own directory: no objects.
   */
  private static String objectsOf(ObjectStore store, String dir, Map<String, ObjectStore.Listed> listing, Set<String> into) {
    String key = dir + "/" + MANIFEST;
    if (listing != null && !listing.containsKey(key)) {
      // Its objects are being uploaded (the manifest is written last), or it was half deleted: the grace
      // period decides for the objects, as for any other.
      return null;
    }
    SnapshotManifest manifest;
    try {
      manifest = Json.parse(store.getBytes(key), SnapshotManifest.class, store.uriOf(key));
    } catch (TimemachineException e) {
      if (e.type() == ErrorType.INVALID_INPUT) {
        return "the manifest " + store.uriOf(key) + " of a kept snapshot cannot be read (" + e.getMessage()
            + "), so nobody can tell which objects it needs";
      }
      if (e.type() == ErrorType.NOT_FOUND) {
        return null;
      }
      throw e;
    }
    if (!manifest.byContent() || manifest.files() == null) {
      return null;
    }
    for (FileEntry file : manifest.files()) {
      into.add(SnapshotManifest.objectKey(file.sha256()));
    }
    return null;
  }

  /** Whether {@code key} is one of {@code referenced} or under one of them. */
  private static boolean covers(Set<String> referenced, String key) {
    if (referenced.contains(key)) {
      return true;
    }
    for (int slash = key.lastIndexOf('/'); slash > 0; slash = key.lastIndexOf('/', slash - 1)) {
      if (referenced.contains(key.substring(0, slash))) {
        return true;
      }
    }
    return false;
  }

  private static String trimSlash(String key) {
    return key.endsWith("/") ? key.substring(0, key.length() - 1) : key;
  }

  /**
   * Parses a grace period: a whole number and a unit, {@code s}, {@code m}, {@code h} or {@code d}
   * ({@code 90m}, {@code 24h}, {@code 7d}); {@code 0} sweeps everything unreferenced at once.
   */
  public static Duration parseGrace(String text) {
    String value = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
    if (value.equals("0")) {
      return Duration.ZERO;
    }
    Matcher m = Pattern.compile("([0-9]{1,7})([smhd])").matcher(value);
    if (!m.matches()) {
      throw TimemachineException.invalidInput(
          "--grace '" + text + "' is not a duration: a whole number with s, m, h or d (e.g. 24h, 7d), or 0");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
  }
}
