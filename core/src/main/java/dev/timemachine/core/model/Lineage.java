package dev.timemachine.core.model;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which model versions consume which others' artifacts, read off the recorded triplets of every
 * registered version: nothing else records it, so the map is always the registry's own.
 */
public final class Lineage {
  private final List<ModelVersion> versions;

  public Lineage(List<ModelVersion> versions) {
    this.versions = List.copyOf(versions);
  }

  /** One consumer link: {@code consumer} trained with {@code upstream}. */
  public record Link(ModelRef consumer, UpstreamRef upstream) {}

  /** Every version of {@code model}, oldest first. */
  public List<ModelVersion> versionsOf(String model) {
    return versions.stream().filter(v -> v.model().name().equals(model)).sorted(ORDER).toList();
  }

  /** What the versions of {@code model} consume, per version. */
  public List<Link> upstreamOf(String model) {
    List<Link> links = new ArrayList<>();
    for (ModelVersion v : versionsOf(model)) {
      v.triplet().upstream().forEach(u -> links.add(new Link(v.model(), u)));
    }
    return links;
  }

  /** Every version, of any model, that consumes an artifact of any version of {@code model}. */
  public List<Link> downstreamOf(String model) {
    List<Link> links = new ArrayList<>();
    for (ModelVersion v : versions.stream().sorted(ORDER).toList()) {
      v.triplet().upstream().stream().filter(u -> u.model().name().equals(model))
          .forEach(u -> links.add(new Link(v.model(), u)));
    }
    return links;
  }

  /**
   * The latest version of each model that consumes {@code model} (what {@code backtest --downstream}
   * retrains), with the upstream slot it fills: latest by registration time, then by version; a
   * model whose latest version no longer consumes {@code model} is left out.
   */
  public Map<ModelVersion, UpstreamRef> latestDownstreamOf(String model) {
    Map<String, ModelVersion> latest = new LinkedHashMap<>();
    for (ModelVersion v : versions.stream().sorted(ORDER).toList()) {
      latest.put(v.model().name(), v);
    }
    Map<ModelVersion, UpstreamRef> result = new LinkedHashMap<>();
    for (ModelVersion v : latest.values()) {
      // A model whose latest version no longer consumes it is no longer downstream.
      v.triplet().upstream().stream().filter(u -> u.model().name().equals(model)).findFirst()
          .ifPresent(u -> result.put(v, u));
    }
    return result;
  }

  private static final Comparator<ModelVersion> ORDER =
      Comparator.comparing((ModelVersion v) -> v.model().name())
          .thenComparing(v -> v.registeredAt() == null ? java.time.Instant.EPOCH : v.registeredAt())
          .thenComparing(v -> v.model().version());
}
