package dev.timemachine.core.ports;

import dev.timemachine.core.model.CodeRef;
import java.nio.file.Path;
import java.util.Optional;

/** Checks out exactly the recorded commit of a code reference. */
public interface SourceCheckout {
  /**
   * Checks out {@code code.commit()} into {@code target} (created fresh, detached HEAD) and returns the
   * HEAD commit it verified. Throws {@code InputUnverifiableException} naming the repository or commit
   * when either cannot be found.
   */
  String checkout(CodeRef code, Path target, Progress progress);

  /**
   * Whether a branch or tag of {@code repositoryUrl} contains {@code commit}: checked at registration,
   * because a commit that was never pushed registers fine and fails its replay months later. A
   * repository that cannot be reached at all is a {@code CONFIGURATION} error naming the URL, never
   * an unreachable commit.
   */
  Reachability reachable(String repositoryUrl, String commit);

  /**
   * The content of {@code path} (relative to the repository root) in {@code commit} of {@code
   * repositoryUrl}, or empty when that commit has no such file. Reads the commit, not anyone's
   * working tree, so the file is exactly what a replay checks out. {@code NOT_FOUND} when the
   * repository has no such commit.
   */
  Optional<byte[]> readFile(String repositoryUrl, String commit, String path);
}
