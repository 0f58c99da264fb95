package dev.timemachine.ports;

import dev.timemachine.domain.CodeRef;
import java.nio.file.Path;

/** Checks out exactly the recorded commit of a code reference. */
public interface SourceCheckout {
  /**
   * Checks out {@code code.commit()} into {@code target} (created fresh, detached HEAD) and returns the
   * HEAD commit it verified. Throws {@code InputUnverifiableException} naming the repository or commit
   * when either cannot be found.
   */
  String checkout(CodeRef code, Path target, Progress progress);
}
