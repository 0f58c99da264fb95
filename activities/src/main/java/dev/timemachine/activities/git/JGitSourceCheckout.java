package dev.timemachine.activities.git;

import dev.timemachine.domain.CodeRef;
import dev.timemachine.domain.InputKind;
import dev.timemachine.domain.InputUnverifiableException;
import dev.timemachine.ports.Progress;
import dev.timemachine.ports.SourceCheckout;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.api.errors.JGitInternalException;
import org.eclipse.jgit.dircache.DirCacheCheckout;
import org.eclipse.jgit.errors.IncorrectObjectTypeException;
import org.eclipse.jgit.errors.MissingObjectException;
import org.eclipse.jgit.lib.ConfigConstants;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ProgressMonitor;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.StoredConfig;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.transport.TagOpt;

/**
 * {@link SourceCheckout} with JGit, so that a training host needs no git binary. It clones without a
 * checkout and then writes exactly the recorded commit's tree with a detached HEAD, because JGit's
 * branch-oriented commands cannot check out an arbitrary SHA: cloning with the SHA as branch fails
 * with "Remote branch not found", and checking it out after a no-checkout clone fails with a checkout
 * conflict. The target is deleted first, so that a retried attempt starts from the same empty state.
 */
public final class JGitSourceCheckout implements SourceCheckout {
  private static final int TIMEOUT_SECONDS = 120;

  @Override
  public String checkout(CodeRef code, Path target, Progress progress) {
    String url = code.repositoryUrl();
    deleteRecursively(target);
    Monitor monitor = new Monitor(progress);
    try (Git git = clone(url, target, monitor);
        RevWalk walk = new RevWalk(git.getRepository())) {
      Repository repo = git.getRepository();
      RevCommit commit;
      try {
        commit = walk.parseCommit(ObjectId.fromString(code.commit()));
      } catch (MissingObjectException | IncorrectObjectTypeException e) {
        throw new InputUnverifiableException(InputKind.CODE, "commit " + code.commit() + " not found in " + url, e);
      }
      // The recorded bytes, whatever core.autocrlf this host's user configuration sets.
      StoredConfig config = repo.getConfig();
      config.setString(ConfigConstants.CONFIG_CORE_SECTION, null, ConfigConstants.CONFIG_KEY_AUTOCRLF, "false");
      config.save();
      DirCacheCheckout checkout = new DirCacheCheckout(repo, repo.lockDirCache(), commit.getTree());
      checkout.setProgressMonitor(monitor);
      checkout.checkout();
      monitor.rethrow();
      RefUpdate head = repo.updateRef(Constants.HEAD, true);
      head.setNewObjectId(commit);
      RefUpdate.Result result = head.forceUpdate();
      ObjectId resolved = repo.resolve(Constants.HEAD);
      if (resolved == null || !resolved.getName().equals(code.commit())) {
        throw new InputUnverifiableException(
            InputKind.CODE,
            "HEAD of the checkout of " + url + " is " + (resolved == null ? "unset" : resolved.getName())
                + ", not the recorded commit " + code.commit() + " (ref update " + result + ")");
      }
      progress.report("checked out " + code.commit() + " of " + url);
      return resolved.getName();
    } catch (IOException e) {
      monitor.rethrow();
      throw new UncheckedIOException("could not check out " + code.commit() + " of " + url + " into " + target, e);
    }
  }

  private static Git clone(String url, Path target, Monitor monitor) {
    try {
      return Git.cloneRepository()
          .setURI(url)
          .setDirectory(target.toFile())
          .setNoCheckout(true)
          .setCloneAllBranches(true)
          .setTagOption(TagOpt.FETCH_TAGS)
          .setTimeout(TIMEOUT_SECONDS)
          .setProgressMonitor(monitor)
          .call();
    } catch (GitAPIException | JGitInternalException e) {
      monitor.rethrow();
      throw new InputUnverifiableException(InputKind.CODE, "repository " + url + " cannot be cloned: " + reason(e), e);
    }
  }

  /** The innermost distinct messages of a failure, on one line. */
  private static String reason(Throwable e) {
    StringBuilder reason = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage().strip();
      if (!reason.toString().contains(message)) {
        reason.append(reason.length() == 0 ? "" : ": ").append(message);
      }
    }
    return reason.toString().replaceAll("\\s*\\R\\s*", " ");
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not delete the earlier checkout in " + dir, e);
    }
  }

  /**
   * Forwards JGit progress at most once a second. A report that throws (cancellation) is kept and
   * turned into a cancelled operation, because JGit would otherwise swallow or wrap it; the caller
   * rethrows it as it was.
   */
  private static final class Monitor implements ProgressMonitor {
    private static final long INTERVAL_NANOS = 1_000_000_000L;
    private final Progress progress;
    private long lastReport = System.nanoTime() - INTERVAL_NANOS;
    private String task = "";
    private int total;
    private int done;
    private RuntimeException failure;

    Monitor(Progress progress) {
      this.progress = progress;
    }

    @Override
    public void start(int totalTasks) {}

    @Override
    public synchronized void beginTask(String title, int totalWork) {
      task = title;
      total = totalWork;
      done = 0;
      report();
    }

    @Override
    public synchronized void update(int completed) {
      done += completed;
      report();
    }

    @Override
    public void endTask() {}

    @Override
    public synchronized boolean isCancelled() {
      return failure != null;
    }

    @Override
    public void showDuration(boolean enabled) {}

    synchronized void rethrow() {
      if (failure != null) {
        throw failure;
      }
    }

    private synchronized void report() {
      long now = System.nanoTime();
      if (failure != null || now - lastReport < INTERVAL_NANOS) {
        return;
      }
      lastReport = now;
      try {
        progress.report(total == UNKNOWN ? task + ": " + done : task + ": " + done + "/" + total);
      } catch (RuntimeException e) {
        failure = e;
      }
    }
  }
}
