package dev.timemachine.core.data;

import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.model.UpstreamRef;
import dev.timemachine.core.ports.Progress;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Restores the artifacts of upstream model versions a training consumes, each from the store that
 * kept it by content, into {@code <target>/<name>/<artifact>}, and verifies each against the sha256
 * and size its consumer recorded. An artifact the store no longer holds, or whose bytes differ, makes
 * the data input unverifiable, naming the upstream version and artifact.
 */
public final class UpstreamArtifacts {
  private final Snapshots snapshots;

  public UpstreamArtifacts(Snapshots snapshots) {
    this.snapshots = snapshots;
  }

  /** Restores every artifact into {@code target} (emptied first); returns one line of evidence. */
  public String restore(List<UpstreamRef> upstream, Path target, Progress progress) {
    Directories.deleteRecursively(target);
    Path base = target.toAbsolutePath().normalize();
    List<String> evidence = new ArrayList<>();
    for (UpstreamRef u : upstream) {
      Path file = base.resolve(u.name()).resolve(u.artifact()).normalize();
      if (!file.startsWith(base.resolve(u.name()))) {
        throw new InputUnverifiableException(InputKind.DATA, "upstream artifact " + u + " would escape its directory");
      }
      progress.report("upstream " + u);
      try {
        Files.createDirectories(file.getParent());
        boolean held;
        try {
          held = u.storeUri() != null && snapshots.fetchObject(u.storeUri(), u.sha256(), file);
        } catch (TimemachineException e) {
          if (e.type() == dev.timemachine.core.errors.ErrorType.CONFLICT) {
            throw new InputUnverifiableException(InputKind.DATA,
                "upstream artifact " + u.model() + ":" + u.artifact() + " was altered in its store: " + e.getMessage());
          }
          throw e;
        }
        if (!held) {
          throw new InputUnverifiableException(InputKind.DATA,
              "upstream artifact " + u.model() + ":" + u.artifact() + " (sha256 " + u.sha256() + ") is not in "
                  + u.storeUri() + ": it was never kept there, or was deleted");
        }
        long size = Files.size(file);
        if (size != u.size()) {
          throw new InputUnverifiableException(InputKind.DATA, "upstream artifact " + u.model() + ":" + u.artifact()
              + " is " + size + " bytes, " + u.size() + " were recorded");
        }
        file.toFile().setReadOnly();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      evidence.add(u + " sha256:" + u.sha256());
    }
    return "upstream verified: " + String.join(", ", evidence);
  }
}
