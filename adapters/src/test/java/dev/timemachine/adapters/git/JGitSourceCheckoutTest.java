package dev.timemachine.adapters.git;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.Progress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator.ReplaceUnderscores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayNameGeneration(ReplaceUnderscores.class)
class JGitSourceCheckoutTest {
  private static final PersonIdent AUTHOR = new PersonIdent("Test", "test@example.invalid");

  @TempDir Path tmp;
  private Path origin;
  private String older;
  private String newer;
  private final JGitSourceCheckout checkout = new JGitSourceCheckout();
  private final List<String> reports = new ArrayList<>();
  private final Progress progress = reports::add;

  @BeforeEach
  void create_origin_with_two_commits() throws Exception {
    origin = tmp.resolve("origin");
    try (Git git = Git.init().setDirectory(origin.toFile()).setInitialBranch("main").call()) {
      older = commit(git, Map.of("train.py", "print('v1')\n", "data/params.txt", "lr=0.1\n"));
      newer = commit(git, Map.of("train.py", "print('v2')\n", "added-later.txt", "new\n"));
    }
  }

  @Test
  void checks_out_the_exact_older_commit_although_a_newer_one_exists() throws IOException {
    Path target = tmp.resolve("checkout");

    String head = checkout.checkout(code(origin.toString(), older), target, progress);

    assertThat(head).as("the returned HEAD").isEqualTo(older);
    assertThat(Files.readString(target.resolve("train.py"))).as("train.py of the older commit").isEqualTo("print('v1')\n");
    assertThat(Files.readString(target.resolve("data/params.txt"))).as("a file in a subdirectory").isEqualTo("lr=0.1\n");
    assertThat(target.resolve("added-later.txt")).as("a file only the newer commit has").doesNotExist();
    try (Repository repo = new FileRepositoryBuilder().setGitDir(target.resolve(".git").toFile()).build()) {
      assertThat(repo.exactRef(Constants.HEAD).isSymbolic()).as("HEAD is detached").isFalse();
      assertThat(repo.resolve(Constants.HEAD).getName()).as("HEAD on disk").isEqualTo(older);
    }
    assertThat(reports).as("progress reports").isNotEmpty().last().asString().contains(older);
  }

  @Test
  void accepts_a_file_url_and_checks_out_the_newest_commit_too() throws IOException {
    Path target = tmp.resolve("checkout");

    String head = checkout.checkout(code(origin.toUri().toString(), newer), target, progress);

    assertThat(head).as("the returned HEAD").isEqualTo(newer);
    assertThat(Files.readString(target.resolve("train.py"))).as("train.py of the newer commit").isEqualTo("print('v2')\n");
  }

  @Test
  void finds_a_commit_that_only_a_branch_other_than_the_default_reaches() throws Exception {
    String onBranch;
    try (Git git = Git.open(origin.toFile())) {
      git.checkout().setCreateBranch(true).setName("experiment").call();
      onBranch = commit(git, Map.of("train.py", "print('experiment')\n"));
      git.checkout().setName("main").call();
    }
    Path target = tmp.resolve("checkout");

    checkout.checkout(code(origin.toString(), onBranch), target, progress);

    assertThat(Files.readString(target.resolve("train.py"))).as("train.py of the branch commit").isEqualTo("print('experiment')\n");
  }

  @Test
  void checks_out_again_into_an_existing_directory_and_leaves_nothing_of_the_earlier_attempt() throws IOException {
    Path target = tmp.resolve("checkout");
    checkout.checkout(code(origin.toString(), newer), target, progress);
    Files.writeString(target.resolve("stray.txt"), "left by an earlier attempt");

    String head = checkout.checkout(code(origin.toString(), older), target, progress);

    assertThat(head).as("the returned HEAD").isEqualTo(older);
    assertThat(Files.readString(target.resolve("train.py"))).as("train.py after the second checkout").isEqualTo("print('v1')\n");
    assertThat(target.resolve("added-later.txt")).as("a file of the first checkout's commit").doesNotExist();
    assertThat(target.resolve("stray.txt")).as("a file an earlier attempt left").doesNotExist();
  }

  @Test
  void an_unknown_commit_is_unverifiable_and_named() {
    String unknown = "0123456789abcdef0123456789abcdef01234567";

    assertThatThrownBy(() -> checkout.checkout(code(origin.toString(), unknown), tmp.resolve("checkout"), progress))
        .as("checking out a commit the repository does not have")
        .isInstanceOfSatisfying(
            InputUnverifiableException.class, e -> assertThat(e.input()).as("input kind").isEqualTo(InputKind.CODE))
        .hasMessage("commit " + unknown + " not found in " + origin);
  }

  @Test
  void a_directory_that_is_not_a_repository_cannot_be_cloned() throws IOException {
    Path notARepo = Files.createDirectories(tmp.resolve("plain-dir"));
    Files.writeString(notARepo.resolve("readme.txt"), "no git here");

    assertThatThrownBy(() -> checkout.checkout(code(notARepo.toString(), older), tmp.resolve("checkout"), progress))
        .as("cloning a plain directory")
        .isInstanceOfSatisfying(
            InputUnverifiableException.class, e -> assertThat(e.input()).as("input kind").isEqualTo(InputKind.CODE))
        .hasMessageStartingWith("repository " + notARepo + " cannot be cloned: ");
  }

  @Test
  void a_missing_path_cannot_be_cloned() {
    Path missing = tmp.resolve("does-not-exist");

    assertThatThrownBy(() -> checkout.checkout(code(missing.toString(), older), tmp.resolve("checkout"), progress))
        .as("cloning a path that does not exist")
        .isInstanceOf(InputUnverifiableException.class)
        .hasMessageStartingWith("repository " + missing + " cannot be cloned: ");
  }

  @Test
  void a_progress_that_throws_cancels_the_checkout_with_that_exception() {
    RuntimeException cancelled = new IllegalStateException("activity cancelled");
    Progress cancelling = message -> {
      throw cancelled;
    };

    assertThatThrownBy(() -> checkout.checkout(code(origin.toString(), older), tmp.resolve("checkout"), cancelling))
        .as("the exception thrown by the progress")
        .isSameAs(cancelled);
  }

  @Test
  void a_pushed_branch_tip_is_reachable_via_that_branch() throws Exception {
    Path remote = bareRemoteOf(origin);

    var reachability = checkout.reachable(remote.toString(), newer);

    assertThat(reachability.reachable()).as("the tip of main").isTrue();
    assertThat(reachability.ref()).isEqualTo("refs/heads/main");
  }

  @Test
  void a_commit_in_a_branchs_history_but_not_its_tip_is_reachable() throws Exception {
    Path remote = bareRemoteOf(origin);

    var reachability = checkout.reachable(remote.toUri().toString(), older);

    assertThat(reachability.reachable()).as("an ancestor of main's tip").isTrue();
    assertThat(reachability.ref()).isEqualTo("refs/heads/main");
  }

  @Test
  void a_commit_present_locally_but_never_pushed_is_unreachable() throws Exception {
    Path remote = bareRemoteOf(origin);
    String unpushed;
    try (Git git = Git.open(origin.toFile())) {
      unpushed = commit(git, Map.of("train.py", "print('not pushed')\n"));
    }

    assertThat(checkout.reachable(remote.toString(), unpushed).reachable()).as("a commit only the local clone has").isFalse();
    assertThat(checkout.reachable(remote.toString(), "0123456789abcdef0123456789abcdef01234567").reachable())
        .as("a commit nobody has").isFalse();
  }

  @Test
  void a_repository_that_cannot_be_reached_is_a_configuration_error_naming_it() {
    Path missing = tmp.resolve("no-such-repo");

    assertThatThrownBy(() -> checkout.reachable(missing.toString(), older))
        .isInstanceOfSatisfying(TimemachineException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.CONFIGURATION))
        .hasMessageStartingWith("repository " + missing + " cannot be reached: ");
  }

  @Test
  void reads_a_file_of_the_exact_commit_not_of_the_newest() throws Exception {
    Path remote = bareRemoteOf(origin);

    assertThat(checkout.readFile(remote.toString(), older, "train.py")).get().extracting(String::new).isEqualTo("print('v1')\n");
    assertThat(checkout.readFile(remote.toString(), older, "data/params.txt")).as("in a subdirectory").isPresent();
    assertThat(checkout.readFile(remote.toString(), older, "added-later.txt")).as("only in the newer commit").isEmpty();
    assertThat(checkout.readFile(remote.toString(), older, "data")).as("a directory").isEmpty();
    assertThatThrownBy(() -> checkout.readFile(remote.toString(), "0123456789abcdef0123456789abcdef01234567", "train.py"))
        .isInstanceOfSatisfying(TimemachineException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.NOT_FOUND))
        .hasMessageContaining("is not in " + remote);
  }

  /** A bare clone of {@code repo}, as a hosted "origin" would be; commits made in {@code repo} later are not in it. */
  private Path bareRemoteOf(Path repo) throws Exception {
    Path remote = tmp.resolve("remote.git");
    Git.cloneRepository().setURI(repo.toString()).setDirectory(remote.toFile()).setBare(true).call().close();
    return remote;
  }

  private static CodeRef code(String url, String commit) {
    return new CodeRef(url, commit, List.of("python3", "train.py"), ".");
  }

  private static String commit(Git git, Map<String, String> files) throws Exception {
    Path root = git.getRepository().getWorkTree().toPath();
    for (Map.Entry<String, String> file : files.entrySet()) {
      Path path = root.resolve(file.getKey());
      Files.createDirectories(path.getParent());
      Files.writeString(path, file.getValue());
    }
    git.add().addFilepattern(".").call();
    return git.commit()
        .setMessage("change " + files.keySet())
        .setAuthor(AUTHOR)
        .setCommitter(AUTHOR)
        .setSign(false)
        .call()
        .getName();
  }

  @Test
  void through_a_mirror_a_second_checkout_fetches_nothing_and_its_git_directory_stands_alone() throws Exception {
    JGitSourceCheckout mirrored = new JGitSourceCheckout(tmp.resolve("mirrors"));
    assertThat(mirrored.checkout(code(origin.toString(), older), tmp.resolve("first"), progress)).isEqualTo(older);
    assertThat(reports).anySatisfy(r -> assertThat(r).contains("into this host's mirror"));

    // Warm: the origin is gone, so anything fetched would fail; the mirror holds the commit.
    Path moved = tmp.resolve("origin-moved");
    Files.move(origin, moved);
    reports.clear();
    Path second = tmp.resolve("second");
    assertThat(mirrored.checkout(code(origin.toString(), older), second, progress)).isEqualTo(older);
    assertThat(reports).anySatisfy(r -> assertThat(r).contains("nothing fetched"));
    assertThat(Files.readString(second.resolve("train.py"))).isEqualTo("print('v1')\n");
    assertThat(second.resolve("added-later.txt")).doesNotExist();

    // The checkout's .git has every object by itself: the mirror may go.
    dev.timemachine.core.data.Directories.deleteRecursively(tmp.resolve("mirrors"));
    try (Repository repo = new FileRepositoryBuilder().setGitDir(second.resolve(".git").toFile()).build();
        org.eclipse.jgit.revwalk.RevWalk walk = new org.eclipse.jgit.revwalk.RevWalk(repo)) {
      assertThat(repo.resolve(Constants.HEAD).getName()).isEqualTo(older);
      assertThat(walk.parseCommit(repo.resolve(Constants.HEAD)).getFullMessage()).isNotEmpty();
    }
  }

  @Test
  void a_mirror_fetches_a_commit_it_lacks_and_refuses_one_the_repository_lacks() throws Exception {
    JGitSourceCheckout mirrored = new JGitSourceCheckout(tmp.resolve("mirrors"));
    mirrored.checkout(code(origin.toString(), older), tmp.resolve("first"), progress);
    String third;
    try (Git git = Git.open(origin.toFile())) {
      third = commit(git, Map.of("train.py", "print('v3')\n"));
    }
    assertThat(mirrored.checkout(code(origin.toString(), third), tmp.resolve("third"), progress)).isEqualTo(third);
    assertThat(Files.readString(tmp.resolve("third/train.py"))).isEqualTo("print('v3')\n");

    assertThatThrownBy(() -> mirrored.checkout(code(origin.toString(), "0123456789012345678901234567890123456789"),
            tmp.resolve("none"), progress))
        .isInstanceOfSatisfying(InputUnverifiableException.class, e -> assertThat(e.input()).isEqualTo(InputKind.CODE))
        .hasMessageContaining("not found");
  }

  @Test
  void a_mirror_unused_since_the_cutoff_is_listed_and_deleted_unless_a_checkout_holds_it_or_used_it_since() throws Exception {
    JGitSourceCheckout mirrored = new JGitSourceCheckout(tmp.resolve("mirrors"));
    mirrored.checkout(code(origin.toString(), older), tmp.resolve("first"), progress);
    java.time.Instant afterUse = java.time.Instant.now().plusSeconds(1);

    assertThat(mirrored.unusedMirrors(afterUse.minusSeconds(60))).as("used within the grace period").isEmpty();
    List<JGitSourceCheckout.Mirror> unused = mirrored.unusedMirrors(afterUse);
    assertThat(unused).singleElement().satisfies(m -> {
      assertThat(m.url()).isEqualTo(origin.toString());
      assertThat(m.bytes()).isPositive();
    });
    JGitSourceCheckout.Mirror mirror = unused.get(0);

    // Held by a checkout of another process (the same POSIX record lock, fcntl, as a JVM's FileChannel.lock): left alone.
    Path lockFile = mirror.path().resolveSibling(mirror.path().getFileName() + ".lock");
    Process held = new ProcessBuilder("python3", "-c",
        "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(30)",
        lockFile.toString()).redirectErrorStream(true).start();
    try {
      assertThat(new java.io.BufferedReader(new java.io.InputStreamReader(held.getInputStream())).readLine()).isEqualTo("locked");
      assertThat(mirrored.deleteMirror(mirror)).as("a mirror another process holds").isFalse();
    } finally {
      held.destroy();
      held.waitFor();
    }
    assertThat(mirror.path()).exists();

    // Used again after it was listed: left alone too.
    mirrored.checkout(code(origin.toString(), older), tmp.resolve("second"), progress);
    assertThat(mirrored.deleteMirror(mirror)).as("a mirror used since the plan").isFalse();

    JGitSourceCheckout.Mirror fresh = mirrored.unusedMirrors(java.time.Instant.now().plusSeconds(1)).get(0);
    assertThat(mirrored.deleteMirror(fresh)).isTrue();
    assertThat(fresh.path()).doesNotExist();
    // The checkouts keep their objects; the next checkout fetches into a new mirror.
    try (Repository repo = new FileRepositoryBuilder().setGitDir(tmp.resolve("second/.git").toFile()).build()) {
      assertThat(repo.resolve(Constants.HEAD).getName()).isEqualTo(older);
    }
    reports.clear();
    assertThat(mirrored.checkout(code(origin.toString(), older), tmp.resolve("third"), progress)).isEqualTo(older);
    assertThat(reports).anySatisfy(r -> assertThat(r).contains("into this host's mirror"));
  }
}
