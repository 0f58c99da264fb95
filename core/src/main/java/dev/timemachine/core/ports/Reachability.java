package dev.timemachine.core.ports;

/**
 * Whether a repository's branches or tags contain a commit, so that a later checkout from that
 * repository will find it.
 *
 * @param ref the branch or tag that contains the commit (its tip or an ancestor of it), or null when
 *     none does
 */
public record Reachability(String ref) {
  public static final Reachability UNREACHABLE = new Reachability(null);

  public static Reachability via(String ref) {
    return new Reachability(ref);
  }

  public boolean reachable() {
    return ref != null;
  }
}
