package dev.timemachine.core.fleet;

import java.util.List;

/**
 * One version a registry lists, as a selector sees it: its name, version, aliases, and why it cannot
 * be replayed (null when it can).
 */
public record Candidate(String registry, String name, String version, List<String> aliases, String problem) {
  public Candidate {
    aliases = aliases == null ? List.of() : List.copyOf(aliases);
  }
}
