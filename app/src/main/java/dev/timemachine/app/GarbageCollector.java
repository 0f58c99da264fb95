package dev.timemachine.app;

import dev.timemachine.adapters.git.JGitSourceCheckout;
import dev.timemachine.core.data.Directories;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.core.model.ReplayIds;
import dev.timemachine.core.retention.Retention;
import dev.timemachine.core.training.Leftovers;
import dev.timemachine.registries.mlflow.MlflowRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code timemachine gc}: gathers what every registered version needs (the built-in registry's
 * versions in full; MLflow's versions' recorded triplets when MLflow is configured, from its listing,
 * which downloads nothing), has {@link Retention} plan the store's sweep, and adds this host's work
 * directories older than the grace period whose owner process is gone, and its data cache's entries that
 * no work directory links and that were verified before the grace period, and its git mirrors that no
 * checkout used within the grace period (a later checkout fetches again). A registry that cannot be
 * listed stops gc before anything is deleted: what it holds cannot be known to be unneeded.
 */
public final class GarbageCollector {
  /** One work directory that would go. */
  public record WorkDir(Path path, long bytes, Instant lastModified) {}

  /** One git mirror of this host that would go: the repository it mirrors, and when a checkout last used it. */
  public record Mirror(Path path, String url, long bytes, Instant lastUsed) {}

  /**
   * The whole plan: the store's, this host's work directories, the entries of this host's data cache
   * that no work directory links and that were verified before the grace period, the git mirrors no
   * checkout used within it, and what was consulted.
   */
  public record Plan(Retention.Plan store, List<WorkDir> workDirs, List<WorkDir> cacheEntries,
      List<Mirror> mirrors, List<String> consulted) {
    public long bytes() {
      return store.doomedBytes() + workDirs.stream().mapToLong(WorkDir::bytes).sum()
          + cacheEntries.stream().mapToLong(WorkDir::bytes).sum()
          + mirrors.stream().mapToLong(Mirror::bytes).sum();
    }
  }

  private final Components components;
  private final Clock clock;

  public GarbageCollector(Components components, Clock clock) {
    this.components = components;
    this.clock = clock;
  }

  /** Plans; deletes nothing. */
  public Plan plan(Duration grace) {
    List<String> consulted = new ArrayList<>();
    List<Retention.Need> needs = new ArrayList<>();
    List<ModelVersion> versions = components.manifestRegistry().list();
    for (ModelVersion v : versions) {
      needs.add(new Retention.Need(v.model().toString(), v.triplet().data().snapshotUri(),
          v.recorded().artifacts().stream().map(FileEntry::sha256).collect(Collectors.toSet())));
    }
    consulted.add("built-in registry: " + versions.size() + " version" + (versions.size() == 1 ? "" : "s"));
    MlflowConfig mlflow = components.config().mlflow();
    if (mlflow.settings() == null) {
      consulted.add("MLflow: not configured (MLFLOW_TRACKING_URI), its versions were not consulted");
    } else {
      List<MlflowRegistry.VersionSummary> summaries;
      try {
        summaries = ((MlflowRegistry) components.registries().registry(MlflowSupport.REGISTRY)).versions();
      } catch (TimemachineException e) {
        throw new TimemachineException(e.type(),
            "gc needs every registered version, but MLflow at " + mlflow.settings().trackingUri() + " could not be listed: "
                + e.getMessage() + "; nothing was deleted",
            "start MLflow, or unset MLFLOW_TRACKING_URI if this store holds no MLflow versions", e);
      }
      int withData = 0;
      for (MlflowRegistry.VersionSummary s : summaries) {
        if (s.triplet() != null && s.triplet().data() != null) {
          withData++;
          needs.add(new Retention.Need(MlflowSupport.REGISTRY + ":" + s.name() + "/" + s.version(),
              s.triplet().data().snapshotUri(), Set.of()));
        }
      }
      consulted.add("MLflow " + mlflow.settings().trackingUri() + ": " + summaries.size() + " versions, " + withData
          + " with a recorded snapshot");
    }
    Instant now = clock.instant();
    Retention.Plan store = Retention.plan(components.store(), needs, now, grace);
    return new Plan(store, workDirs(now.minus(grace)), cacheEntries(now.minus(grace)),
        components.hostSourceCheckout().unusedMirrors(now.minus(grace)).stream()
            .map(m -> new Mirror(m.path(), m.url(), m.bytes(), m.lastUsed())).toList(),
        consulted);
  }

  /**
   * Deletes what {@code plan} lists (the store first, then work directories, cache entries and git
   * mirrors); {@code spared} of the result says, one line each, what was left after all and why.
   */
  public Retention.Swept sweep(Plan plan) {
    Retention.Swept swept = Retention.sweep(components.store(), plan.store());
    long bytes = swept.deletedBytes();
    int count = swept.deletedKeys();
    for (WorkDir dir : plan.workDirs()) {
      Directories.deleteRecursively(dir.path());
      bytes += dir.bytes();
      count++;
    }
    for (WorkDir entry : plan.cacheEntries()) {
      try {
        // The record first: an entry without one is never trusted, so a half-done removal is harmless.
        Files.deleteIfExists(entry.path().resolveSibling(entry.path().getFileName() + ".verified"));
        Files.deleteIfExists(entry.path());
      } catch (IOException e) {
        throw TimemachineException.unavailable("cannot remove the data cache entry " + entry.path() + ": " + e, e);
      }
      bytes += entry.bytes();
      count++;
    }
    // What a sweep left after all, each as a line that says why.
    List<String> spared = new ArrayList<>();
    swept.spared().forEach(key -> spared.add(key + ": a snapshot written since the plan lists it"));
    JGitSourceCheckout git = components.hostSourceCheckout();
    for (Mirror mirror : plan.mirrors()) {
      if (git.deleteMirror(new JGitSourceCheckout.Mirror(mirror.path(), mirror.url(), mirror.bytes(), mirror.lastUsed()))) {
        bytes += mirror.bytes();
        count++;
      } else {
        spared.add(mirror.path() + " (the git mirror of " + mirror.url() + "): a checkout uses it now or used it since the plan");
      }
    }
    return new Retention.Swept(count, bytes, spared);
  }

  /**
   * This host's replay work directories (named by a replay id; caches and anything else under the
   * work root are not) that nothing was written in for the grace period and whose owner process, if
   * it wrote one, is gone.
   */
  private List<WorkDir> workDirs(Instant cutoff) {
    Path root = components.config().workDir();
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    List<WorkDir> doomed = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(root)) {
      for (Path dir : dirs.sorted().toList()) {
        String name = dir.getFileName().toString();
        if (!Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS) || name.startsWith(".")
            || !ReplayIds.isValid(name) || ownerAlive(dir)) {
          continue;
        }
        long[] sizeAndNewest = sizeAndNewest(dir);
        Instant newest = Instant.ofEpochMilli(sizeAndNewest[1]);
        if (newest.isBefore(cutoff)) {
          doomed.add(new WorkDir(dir, sizeAndNewest[0], newest));
        }
      }
    } catch (IOException e) {
      throw TimemachineException.unavailable("cannot list the work directory " + root + ": " + e, e);
    }
    return doomed;
  }

  /**
   * Entries of this host's data cache ({@code <work>/.cache/data}) that no restored file links (a link
   * count of 1) and whose verification is older than {@code cutoff}.
   */
  private List<WorkDir> cacheEntries(Instant cutoff) {
    Path cache = components.config().workDir().resolve(".cache").resolve("data");
    if (!Files.isDirectory(cache)) {
      return List.of();
    }
    List<WorkDir> doomed = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(cache, 2)) {
      for (Path entry : walk.sorted().toList()) {
        String name = entry.getFileName().toString();
        if (!Files.isRegularFile(entry, java.nio.file.LinkOption.NOFOLLOW_LINKS) || name.startsWith(".")
            || name.endsWith(".verified")) {
          continue;
        }
        var attributes = Files.readAttributes(entry, "unix:nlink,size,lastModifiedTime", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        Path record = entry.resolveSibling(name + ".verified");
        Instant verified = Files.exists(record) ? Files.getLastModifiedTime(record).toInstant() : Instant.EPOCH;
        if (((Number) attributes.get("nlink")).intValue() == 1 && verified.isBefore(cutoff)) {
          doomed.add(new WorkDir(entry, (Long) attributes.get("size"), verified));
        }
      }
    } catch (IOException | UnsupportedOperationException e) {
      throw TimemachineException.unavailable("cannot list the data cache " + cache + ": " + e, e);
    }
    return doomed;
  }

  private static boolean ownerAlive(Path dir) {
    Path file = dir.resolve(Leftovers.OWNER_FILE);
    try {
      List<String> lines = Files.isRegularFile(file) ? Files.readAllLines(file) : List.of();
      Leftovers.Owner owner = lines.size() < 2 ? null : Leftovers.Owner.parse(lines.get(1));
      return owner != null && owner.host().equals(Reaper.currentOwner().host()) && Reaper.alive(owner);
    } catch (IOException | RuntimeException e) {
      // Unreadable: judged by age alone, as a directory without an owner file.
      return false;
    }
  }

  /** Bytes under {@code dir} and the newest modification time (ms) of anything in it, the directory included. */
  private static long[] sizeAndNewest(Path dir) throws IOException {
    long[] result = {0, Files.getLastModifiedTime(dir).toMillis()};
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.forEach(p -> {
        try {
          var attributes = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class,
              java.nio.file.LinkOption.NOFOLLOW_LINKS);
          if (attributes.isRegularFile()) {
            result[0] += attributes.size();
          }
          result[1] = Math.max(result[1], attributes.lastModifiedTime().toMillis());
        } catch (IOException e) {
          // Gone while walking: nothing to count.
        }
      });
    }
    return result;
  }
}
