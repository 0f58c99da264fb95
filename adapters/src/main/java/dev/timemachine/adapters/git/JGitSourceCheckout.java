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
import java.util.List;
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

  /** Where the bare mirrors live ({@code <work>/.cache/git}), or null to clone every time. */
  private final Path mirrors;

  /** Clones every checkout afresh (registration, the pre-flight). */
  public JGitSourceCheckout() {
    this(null);
  }

  /**
   * Checks out through a bare mirror per repository URL under {@code mirrors} (a training host's
   * cache): the commit is fetched into the mirror only when the mirror lacks it (the one commit if the
   * server grants a want by SHA, else its branches and tags, incrementally), and the checkout's own
   * {@code .git} gets the mirror's immutable object files by hard link, so it is complete on its own
   * and nothing is copied. HEAD is verified against the recorded commit as for a fresh clone.
   */
  public JGitSourceCheckout(Path mirrors) {
    this.mirrors = mirrors == null ? null : mirrors.toAbsolutePath().normalize();
  }

  @Override
  public String checkout(CodeRef code, Path target, Progress progress) {
    String url = code.repositoryUrl();
    Directories.deleteRecursively(target);
    Monitor monitor = new Monitor(progress);
    try (Git git = mirrors == null ? clone(url, target, monitor) : fromMirror(url, commitId(code.commit()), target, monitor,
            progress);
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

  /**
   * A bare mirror of this host, as gc sees it.
   *
   * @param lastUsed when a checkout last went through it (its lock file's time, set at every use)
   */
  public record Mirror(Path path, String url, long bytes, java.time.Instant lastUsed) {}

  /** The mirrors of this host that no checkout used since {@code cutoff}; none without a mirror root. */
  public List<Mirror> unusedMirrors(java.time.Instant cutoff) {
    if (mirrors == null || !Files.isDirectory(mirrors)) {
      return List.of();
    }
    List<Mirror> unused = new java.util.ArrayList<>();
    try (java.util.stream.Stream<Path> list = Files.list(mirrors)) {
      for (Path mirror : list.sorted().toList()) {
        String name = mirror.getFileName().toString();
        if (!name.endsWith(".git") || !Files.isDirectory(mirror, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        java.time.Instant used = lastUsed(mirror);
        if (used.isBefore(cutoff)) {
          Path urlFile = mirror.resolve("timemachine-url");
          String url = Files.isRegularFile(urlFile) ? Files.readString(urlFile).strip() : "(unknown)";
          unused.add(new Mirror(mirror, url, bytesUnder(mirror), used));
        }
      }
    } catch (IOException e) {
      throw TimemachineException.unavailable("cannot list the git mirrors in " + mirrors + ": " + e, e);
    }
    return unused;
  }

  /**
   * Deletes {@code mirror} under its lock, unless a checkout holds the lock now or used the mirror
   * since it was listed (its last use moved): then it is left, and false returned. The lock file stays
   * (a process waiting on it must lock the same file as the next one). Checkouts made through the
   * mirror keep every object: theirs are hard links.
   */
  public boolean deleteMirror(Mirror mirror) {
    Path lockFile = mirror.path().resolveSibling(mirror.path().getFileName() + ".lock");
    synchronized (MIRROR_MONITORS.computeIfAbsent(mirror.path(), m -> new Object())) {
      try (var channel = java.nio.channels.FileChannel.open(lockFile,
              java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
          var lock = channel.tryLock()) {
        if (lock == null || !lastUsed(mirror.path()).equals(mirror.lastUsed())) {
          return false;
        }
        Directories.deleteRecursively(mirror.path());
        return true;
      } catch (java.nio.channels.OverlappingFileLockException e) {
        return false;
      } catch (IOException e) {
        throw TimemachineException.unavailable("cannot delete the git mirror " + mirror.path() + ": " + e, e);
      }
    }
  }

  private static long bytesUnder(Path dir) throws IOException {
    try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
      return walk.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).mapToLong(p -> {
        try {
          return Files.size(p);
        } catch (IOException e) {
          return 0; // gone meanwhile
        }
      }).sum();
    }
  }

  private static java.time.Instant lastUsed(Path mirror) throws IOException {
    Path lockFile = mirror.resolveSibling(mirror.getFileName() + ".lock");
    return Files.getLastModifiedTime(Files.exists(lockFile) ? lockFile : mirror).toInstant();
  }

  /** The mirror of {@code url}: a bare repository named by the sha256 of the URL. */
  Path mirrorOf(String url) {
    String name = dev.timemachine.core.data.Digests.sha256Hex(url.getBytes(java.nio.charset.StandardCharsets.UTF_8))
        .substring(0, 32);
    return mirrors.resolve(name + ".git");
  }

  /**
   * Makes sure the mirror of {@code url} holds {@code commit} (fetching it under a file lock, so two
   * replays of one repository fetch once), then initialises {@code target} with the mirror's object
   * files hard-linked into its {@code .git/objects}: packs and loose objects are never rewritten in
   * place, so a later fetch or repack of the mirror cannot change what the checkout holds.
   */
  private Git fromMirror(String url, ObjectId commit, Path target, Monitor monitor, Progress progress) throws IOException {
    Path mirror = mirrorOf(url);
    Files.createDirectories(mirrors);
    // One thread of this process at a time (a file lock is per process), one process of this host at a time.
    synchronized (MIRROR_MONITORS.computeIfAbsent(mirror, m -> new Object())) {
      return fromMirrorLocked(url, commit, mirror, target, monitor, progress);
    }
  }

  private static final java.util.concurrent.ConcurrentHashMap<Path, Object> MIRROR_MONITORS =
      new java.util.concurrent.ConcurrentHashMap<>();

  private Git fromMirrorLocked(String url, ObjectId commit, Path mirror, Path target, Monitor monitor, Progress progress)
      throws IOException {
    try (var channel = java.nio.channels.FileChannel.open(mirrors.resolve(mirror.getFileName() + ".lock"),
            java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
        var lock = channel.lock()) {
      // Its last use, for gc (unusedMirrors): the lock file's time, set under the lock.
      Files.setLastModifiedTime(mirrors.resolve(mirror.getFileName() + ".lock"),
          java.nio.file.attribute.FileTime.from(java.time.Instant.now()));
      if (!Files.isDirectory(mirror.resolve("objects"))) {
        try (Git init = Git.init().setBare(true).setDirectory(mirror.toFile()).call()) {
          Files.writeString(mirror.resolve("timemachine-url"), url + "\n");
        } catch (GitAPIException e) {
          throw new UncheckedIOException(new IOException("could not create the mirror " + mirror + ": " + reason(e), e));
        }
      }
      try (Git bare = Git.open(mirror.toFile())) {
        if (!hasCommit(bare.getRepository(), commit)) {
          progress.report("fetching " + commit.getName() + " of " + url + " into this host's mirror");
          fetchInto(bare, url, commit, monitor);
        } else {
          progress.report("commit " + commit.getName() + " of " + url + " is in this host's mirror: nothing fetched");
        }
      }
      try (Git init = Git.init().setDirectory(target.toFile()).call()) {
        // Created; opened again below, once the objects are in place.
      } catch (GitAPIException e) {
        throw new UncheckedIOException(new IOException("could not create " + target + ": " + reason(e), e));
      }
      Path from = mirror.resolve("objects");
      Path to = target.resolve(".git").resolve("objects");
      try (java.util.stream.Stream<Path> files = Files.walk(from)) {
        for (Path file : (Iterable<Path>) files::iterator) {
          Path relative = from.relativize(file);
          String first = relative.getNameCount() == 0 ? "" : relative.getName(0).toString();
          if (!Files.isRegularFile(file, java.nio.file.LinkOption.NOFOLLOW_LINKS) || first.equals("info")
              || file.getFileName().toString().startsWith("tmp") || file.getFileName().toString().endsWith(".lock")) {
            continue;
          }
          Path link = to.resolve(relative.toString());
          Files.createDirectories(link.getParent());
          try {
            Files.createLink(link, file);
          } catch (IOException | UnsupportedOperationException e) {
            Files.copy(file, link, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          }
        }
      }
      return Git.open(target.toFile());
    }
  }

  private static boolean hasCommit(Repository repo, ObjectId commit) {
    try (RevWalk walk = new RevWalk(repo)) {
      walk.parseCommit(commit);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** The one commit if the server grants a want by SHA; else every branch and tag (only what the mirror lacks). */
  private static void fetchInto(Git bare, String url, ObjectId commit, Monitor monitor) {
    try {
      bare.fetch().setRemote(url).setRefSpecs(new RefSpec(commit.getName() + ":refs/timemachine/" + commit.getName()))
          .setTagOpt(TagOpt.NO_TAGS).setTimeout(TIMEOUT_SECONDS).setProgressMonitor(monitor).call();
      if (hasCommit(bare.getRepository(), commit)) {
        return;
      }
    } catch (GitAPIException | JGitInternalException e) {
      monitor.rethrow();
      // Servers that do not allow a want by SHA refuse it: fetch what they advertise instead.
    }
    try {
      bare.fetch().setRemote(url)
          .setRefSpecs(new RefSpec("+refs/heads/*:refs/heads/*"), new RefSpec("+refs/tags/*:refs/tags/*"))
          .setTagOpt(TagOpt.NO_TAGS).setTimeout(TIMEOUT_SECONDS).setProgressMonitor(monitor).call();
    } catch (GitAPIException | JGitInternalException e) {
      monitor.rethrow();
      throw new InputUnverifiableException(InputKind.CODE, "repository " + url + " cannot be fetched: " + reason(e), e);
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
