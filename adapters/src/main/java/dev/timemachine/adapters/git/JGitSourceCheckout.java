package dev.timemachine.adapters.git;

import dev.timemachine.core.data.Directories;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.errors.Causes;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.core.ports.Reachability;
import dev.timemachine.core.ports.SourceCheckout;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Optional;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.api.errors.JGitInternalException;
import org.eclipse.jgit.dircache.DirCacheCheckout;
import org.eclipse.jgit.errors.IncorrectObjectTypeException;
import org.eclipse.jgit.errors.MissingObjectException;
import org.eclipse.jgit.lib.ConfigConstants;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ProgressMonitor;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.StoredConfig;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevObject;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.TagOpt;
import org.eclipse.jgit.treewalk.TreeWalk;

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
    Directories.deleteRecursively(target);
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

  /**
   * Asks the repository's advertised refs first (ls-remote: cheap, and enough when a branch or tag
   * points at the commit, the usual case right after a push). Otherwise fetches every branch and tag
   * into a temporary bare repository and looks for one whose history contains the commit, since a
   * commit behind a branch tip is as reachable as the tip.
   */
  @Override
  public Reachability reachable(String repositoryUrl, String commit) {
    ObjectId wanted = commitId(commit);
    Collection<Ref> advertised;
    try {
      advertised = Git.lsRemoteRepository().setRemote(repositoryUrl).setHeads(true).setTags(true)
          .setTimeout(TIMEOUT_SECONDS).call();
    } catch (GitAPIException | JGitInternalException e) {
      throw unreachableRepository(repositoryUrl, e);
    }
    for (Ref ref : advertised) {
      if (wanted.equals(ref.getObjectId()) || wanted.equals(ref.getPeeledObjectId())) {
        return Reachability.via(ref.getName());
      }
    }
    return withFetched(repositoryUrl, repo -> {
      if (!repo.getObjectDatabase().has(wanted)) {
        return Reachability.UNREACHABLE;
      }
      try (RevWalk walk = new RevWalk(repo)) {
        RevCommit target;
        try {
          target = walk.parseCommit(wanted);
        } catch (IncorrectObjectTypeException e) {
          return Reachability.UNREACHABLE;
        }
        for (Ref ref : repo.getRefDatabase().getRefs()) {
          RevObject tip = walk.peel(walk.parseAny(ref.getObjectId()));
          if (tip instanceof RevCommit tipCommit && walk.isMergedInto(target, tipCommit)) {
            return Reachability.via(ref.getName());
          }
        }
      }
      return Reachability.UNREACHABLE;
    });
  }

  @Override
  public Optional<byte[]> readFile(String repositoryUrl, String commit, String path) {
    ObjectId wanted = commitId(commit);
    return withFetched(repositoryUrl, repo -> {
      try (RevWalk walk = new RevWalk(repo)) {
        RevCommit revCommit;
        try {
          revCommit = walk.parseCommit(wanted);
        } catch (MissingObjectException | IncorrectObjectTypeException e) {
          throw TimemachineException.notFound(
              "commit " + commit + " is not in " + repositoryUrl + " (no branch or tag of it contains it), so its "
                  + path + " cannot be read",
              "push it (git push origin HEAD), or give --entry-point as words or a JSON array");
        }
        try (TreeWalk file = TreeWalk.forPath(repo, path, revCommit.getTree())) {
          if (file == null || (file.getFileMode(0).getBits() & FileMode.TYPE_MASK) != FileMode.TYPE_FILE) {
            return Optional.empty();
          }
          return Optional.of(repo.open(file.getObjectId(0)).getBytes());
        }
      }
    });
  }

  private static ObjectId commitId(String commit) {
    if (commit == null || !commit.matches("[0-9a-f]{40}")) {
      throw TimemachineException.invalidInput(
          "code.commit must be a full 40-hex commit SHA (branches and tags move), got '" + commit + "'");
    }
    return ObjectId.fromString(commit);
  }

  private interface RepositoryReader<T> {
    T read(Repository repository) throws IOException;
  }

  /** Fetches every branch and tag of {@code url} into a temporary bare repository, reads it, deletes it. */
  private static <T> T withFetched(String url, RepositoryReader<T> reader) {
    Path dir;
    try {
      dir = Files.createTempDirectory("timemachine-fetch-");
    } catch (IOException e) {
      throw new UncheckedIOException("could not create a temporary repository to fetch " + url + " into", e);
    }
    try (Git git = Git.init().setBare(true).setDirectory(dir.toFile()).call()) {
      try {
        git.fetch()
            .setRemote(url)
            .setRefSpecs(new RefSpec("+refs/heads/*:refs/heads/*"), new RefSpec("+refs/tags/*:refs/tags/*"))
            .setTagOpt(TagOpt.NO_TAGS)
            .setTimeout(TIMEOUT_SECONDS)
            .call();
      } catch (GitAPIException | JGitInternalException e) {
        throw unreachableRepository(url, e);
      }
      return reader.read(git.getRepository());
    } catch (GitAPIException e) {
      throw new IllegalStateException("could not create a temporary repository in " + dir + ": " + reason(e), e);
    } catch (IOException e) {
      throw new UncheckedIOException("could not read what was fetched from " + url, e);
    } finally {
      deleteTemporary(dir);
    }
  }

  /**
   * Deletes a temporary fetch, tolerating files that vanish while it walks (JGit removes its lock
   * files asynchronously now and then) and never hiding the answer or the failure of the fetch: a
   * temporary directory left behind costs disk space, not correctness.
   */
  private static void deleteTemporary(Path dir) {
    for (int attempt = 0; attempt < 3 && Files.exists(dir); attempt++) {
      try {
        Directories.deleteRecursively(dir);
      } catch (UncheckedIOException e) {
        // Walk again: whatever appeared or vanished meanwhile is gone or settled by then.
      }
    }
  }

  private static TimemachineException unreachableRepository(String url, Exception e) {
    return new TimemachineException(
        ErrorType.CONFIGURATION,
        "repository " + url + " cannot be reached: " + reason(e),
        "check the repository URL (git remote get-url origin prints the one you push to) and that this host can reach it",
        e);
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
    return Causes.chain(e);
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
