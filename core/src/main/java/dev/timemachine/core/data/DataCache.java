package dev.timemachine.core.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A content-addressed cache of verified data files on the training host: {@code
 * <dir>/<first two hex>/<sha256>}, each entry a read-only file that a restore hard-links into its work
 * directory instead of reading the object from the store and hashing it again.
 *
 * <p>Only the verifier writes entries: a restored file whose sha256 and size matched the snapshot's
 * record is linked into the cache ({@link #adopt}), and beside it {@code <sha256>.verified} records
 * the entry's size, modification time (nanoseconds) and inode as they were right after verification.
 *
 * <p><b>How a corrupted entry is detected.</b> An entry is used only if its record exists and the
 * entry's size, mtime and inode still equal it, the entry is a regular file (not a link) and is not
 * writable by anyone. Any write to the file changes its mtime (and, unless it had been re-opened
 * read-write after a {@code chmod}, is refused by the mode); replacing it changes the inode; truncating
 * or appending changes the size. An entry that fails the check is dropped (entry and record deleted) and
 * the file is read from the store and verified as if there were no cache. What this cannot see is a
 * change that keeps size, mtime and inode (an edit followed by {@code touch -d} to the old time, or
 * bit rot on the disk): for that, {@link Mode#REHASH} ({@code TIMEMACHINE_DATA_CACHE=rehash}) re-hashes
 * every entry it uses (still copying nothing and reading nothing from the store). Either way, the
 * snapshot's manifest is still read from the store and must hash to the recorded root digest.
 */
public final class DataCache {
  /** How much the cache is trusted. */
  public enum Mode {
    /** Entries whose recorded size, mtime and inode still match are linked in without reading them. */
    TRUST_RECORD,
    /** Every entry used is re-hashed first (reads the local file, never the store). */
    REHASH
  }

  private final Path dir;
  private final Mode mode;
  private final AtomicInteger hits = new AtomicInteger();
  private final AtomicInteger dropped = new AtomicInteger();
  private final java.util.concurrent.ConcurrentLinkedQueue<String> notes = new java.util.concurrent.ConcurrentLinkedQueue<>();

  public DataCache(Path dir, Mode mode) {
    this.dir = dir.toAbsolutePath().normalize();
    this.mode = mode;
  }

  public Path dir() {
    return dir;
  }

  /** Entries linked in so far, and entries dropped because they no longer matched their record. */
  public int hits() {
    return hits.get();
  }

  public int dropped() {
    return dropped.get();
  }

  /**
   * What happened since the last call that a user should hear (an entry dropped, and why), taken from
   * the queue; the caller reports it from its own thread.
   */
  public java.util.List<String> takeNotes() {
    java.util.List<String> taken = new java.util.ArrayList<>();
    for (String note; (note = notes.poll()) != null; ) {
      taken.add(note);
    }
    return taken;
  }

  Path entry(String sha256) {
    Digests.requireSha256Hex(sha256, "cache entry sha256");
    return dir.resolve(sha256.substring(0, 2)).resolve(sha256);
  }

  private static Path record(Path entry) {
    return entry.resolveSibling(entry.getFileName() + ".verified");
  }

  /** What the verifier saw: size, mtime in nanoseconds, inode. */
  private record Stamp(long size, long mtimeNanos, Object inode) {
    String text() {
      return size + " " + mtimeNanos + " " + inode + "\n";
    }

    static Stamp of(Path file) throws IOException {
      var attributes = Files.readAttributes(file, "unix:size,lastModifiedTime,ino", LinkOption.NOFOLLOW_LINKS);
      return new Stamp((Long) attributes.get("size"),
          ((java.nio.file.attribute.FileTime) attributes.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS),
          attributes.get("ino"));
    }
  }

  /**
   * Hard-links the cached content of {@code sha256} to {@code destination} (which must not exist) if a
   * trusted entry of {@code size} bytes is there; false when there is none (or it was dropped), and
   * the caller restores from the store.
   */
  public boolean linkInto(String sha256, long size, Path destination) {
    Path entry = entry(sha256);
    Path record = record(entry);
    try {
      if (!Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS)) {
        return false;
      }
      String problem = problem(entry, record, sha256, size);
      if (problem != null) {
        drop(entry, record, problem);
        return false;
      }
      linkCreatingParent(destination, entry);
      hits.incrementAndGet();
      return true;
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException | UnsupportedOperationException e) {
      // Another file system (no hard links across devices) or no unix attributes: restore from the store.
      return false;
    }
  }

  /** Why {@code entry} cannot be trusted, or null. */
  private String problem(Path entry, Path record, String sha256, long size) throws IOException {
    if (!Files.isRegularFile(record, LinkOption.NOFOLLOW_LINKS)) {
      return "no verification record";
    }
    String recorded = Files.readString(record, StandardCharsets.UTF_8);
    Stamp now = Stamp.of(entry);
    if (!recorded.equals(now.text())) {
      return "size/mtime/inode " + now.text().strip() + " differ from the record " + recorded.strip();
    }
    if (now.size() != size) {
      return "it holds " + now.size() + " bytes, the snapshot records " + size;
    }
    var permissions = Files.getPosixFilePermissions(entry, LinkOption.NOFOLLOW_LINKS);
    if (permissions.stream().anyMatch(p -> p.name().endsWith("WRITE"))) {
      return "it is writable (" + PosixFilePermissions.toString(permissions) + ")";
    }
    if (mode == Mode.REHASH) {
      String actual = FileHashing.sha256(entry);
      if (!actual.equals(sha256)) {
        return "its content hashes to " + actual;
      }
    }
    return null;
  }

  private void drop(Path entry, Path record, String why) {
    dropped.incrementAndGet();
    notes.add("data cache entry " + entry + " dropped: " + why + "; the file was read from the store and verified again");
    try {
      Files.deleteIfExists(record);
      Files.deleteIfExists(entry);
    } catch (IOException e) {
      notes.add("could not remove the data cache entry " + entry + ": " + e);
    }
  }

  /**
   * Takes {@code verified}, a restored file whose content was just checked against {@code sha256},
   * into the cache: made read-only, hard-linked as the entry, and its stamp recorded. Best effort: a
   * cache that cannot be written changes nothing about the restore.
   */
  public void adopt(Path verified, String sha256) {
    Path entry = entry(sha256);
    Path record = record(entry);
    Path temp = null;
    try {
      Files.setPosixFilePermissions(verified, PosixFilePermissions.fromString("r--r--r--"));
      temp = entry.resolveSibling("." + sha256 + ".tmp-" + Thread.currentThread().getId() + "-" + System.nanoTime());
      linkCreatingParent(temp, verified);
      Files.deleteIfExists(record);
      move(temp, entry);
      temp = null;
      Path recordTemp = entry.resolveSibling("." + sha256 + ".verified.tmp-" + System.nanoTime());
      Files.writeString(recordTemp, Stamp.of(entry).text(), StandardCharsets.UTF_8);
      move(recordTemp, record);
    } catch (IOException | UnsupportedOperationException e) {
      // Not cached (another file system, no hard links): the next restore reads the store again.
    } finally {
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException ignored) {
          // A stray temporary link is named as one and never trusted.
        }
      }
    }
  }

  /**
   * Hard-links {@code link} to {@code existing}, making {@code link}'s directory only when the link
   * says it is missing: one system call per file on the common path, where a restore of 20,000 files
   * would otherwise ask for every file's directory again (bench/replay.sh data-20k).
   */
  static void linkCreatingParent(Path link, Path existing) throws IOException {
    try {
      Files.createLink(link, existing);
    } catch (NoSuchFileException e) {
      if (Files.isDirectory(link.getParent())) {
        throw e; // it is the existing file that is gone
      }
      Files.createDirectories(link.getParent());
      Files.createLink(link, existing);
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException | FileAlreadyExistsException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
