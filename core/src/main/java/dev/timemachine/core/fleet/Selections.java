package dev.timemachine.core.fleet;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Matches a {@link Selector} against what the registries list. A version that an item matches but
 * that cannot be replayed is excluded with the registry's reason; an explicit item that matches
 * nothing, and a pattern that matches nothing, are reported too, so that a typo in a nightly selector
 * does not silently replay nothing.
 */
public final class Selections {
  private Selections() {}

  /**
   * @param defaultRegistry the registry an item without a prefix means
   * @param candidates every version a registry lists, by registry name (called once per registry)
   */
  public static Selection resolve(Selector selector, String defaultRegistry, Function<String, List<Candidate>> candidates) {
    Map<String, List<Candidate>> listed = new LinkedHashMap<>();
    Map<String, Selection.Selected> selected = new LinkedHashMap<>();
    Map<String, Selection.Excluded> excluded = new LinkedHashMap<>();
    for (Selector.Item item : selector.items()) {
      String registry = item.registry() == null ? defaultRegistry : item.registry();
      List<Candidate> all = listed.computeIfAbsent(registry, candidates);
      List<Candidate> matched = match(item, all);
      if (matched.isEmpty()) {
        excluded.putIfAbsent(item.text(), new Selection.Excluded(item.text(),
            item.explicit() ? "not found in the " + registry + " registry" : "matches no version in the " + registry + " registry"));
        continue;
      }
      for (Candidate c : matched) {
        String spec = specOf(c, defaultRegistry);
        if (c.problem() != null) {
          excluded.putIfAbsent(spec, new Selection.Excluded(spec, c.problem()));
        } else {
          selected.putIfAbsent(spec, new Selection.Selected(spec, registry, c.name(), c.version(), because(item, c)));
        }
      }
    }
    return new Selection(selector.text(), new ArrayList<>(selected.values()), new ArrayList<>(excluded.values()));
  }

  /** The spec a replay of this candidate is started with. */
  public static String specOf(Candidate c, String defaultRegistry) {
    if (c.registry().equals(defaultRegistry)) {
      return c.name() + "@" + c.version();
    }
    return c.registry() + ":" + c.name() + ("mlflow".equals(c.registry()) ? "/" : "@") + c.version();
  }

  private static List<Candidate> match(Selector.Item item, List<Candidate> all) {
    List<Candidate> named = all.stream().filter(c -> item.matchesName(c.name())).toList();
    return switch (item.match()) {
      case VERSION -> named.stream().filter(c -> item.matchesVersion(c.version())).toList();
      case ALIAS -> named.stream().filter(c -> c.aliases().stream().anyMatch(item::matchesVersion)).toList();
      case LATEST -> latestPerName(named);
    };
  }

  /** The highest version of each name: numerically when both are numbers, else by text. */
  static List<Candidate> latestPerName(List<Candidate> candidates) {
    Map<String, Candidate> latest = new LinkedHashMap<>();
    for (Candidate c : candidates) {
      latest.merge(c.name(), c, (a, b) -> VERSION_ORDER.compare(a.version(), b.version()) >= 0 ? a : b);
    }
    return new ArrayList<>(latest.values());
  }

  static final Comparator<String> VERSION_ORDER =
      (a, b) -> {
        if (a.matches("\\d{1,18}") && b.matches("\\d{1,18}")) {
          return Long.compare(Long.parseLong(a), Long.parseLong(b));
        }
        return a.compareTo(b);
      };

  private static String because(Selector.Item item, Candidate c) {
    return switch (item.match()) {
      case VERSION -> item.explicit() ? item.text() : item.text() + " (version " + c.version() + ")";
      case ALIAS -> {
        Set<String> aliases = new LinkedHashSet<>();
        c.aliases().stream().filter(item::matchesVersion).forEach(aliases::add);
        yield item.text() + " (alias " + String.join(",", aliases) + ")";
      }
      case LATEST -> item.text() + " (highest version of " + c.name() + ")";
    };
  }
}
