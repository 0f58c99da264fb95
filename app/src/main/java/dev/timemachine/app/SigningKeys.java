package dev.timemachine.app;

import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.evidence.Ed25519Keys;
import dev.timemachine.core.evidence.Signer;
import dev.timemachine.core.ports.ObjectStore;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.util.Arrays;
import java.util.Set;

/**
 * The attestation signing key: an Ed25519 key pair in two PEM files, {@code timemachine-signing.key}
 * (the PKCS#8 private key followed by its public key, mode 0600; the JDK cannot derive the public half)
 * and {@code timemachine-signing.pub}. {@code TIMEMACHINE_SIGNING_KEY} names the private key file;
 * only this class reads it.
 */
public final class SigningKeys {
  public static final String ENV = "TIMEMACHINE_SIGNING_KEY";
  public static final String KEY_FILE = "timemachine-signing.key";
  public static final String PUBLIC_FILE = "timemachine-signing.pub";

  /** What a process does when no key is configured. */
  public enum Mode {
    /** Refuse (a long-running worker: its attestations are what auditors check). */
    REQUIRE,
    /** Use, or create, {@code $TIMEMACHINE_HOME/keys/timemachine-signing.key} (demo, local replays, tests). */
    CREATE_DEFAULT,
    /** Sign nothing: attestations say they are unsigned (worker --unsigned). */
    UNSIGNED
  }

  /** The files of a created key pair. */
  public record Created(Path keyFile, Path publicFile, String keyid) {}

  private SigningKeys() {}

  public static Path defaultKeyFile(Config config) {
    return config.home().resolve("keys").resolve(KEY_FILE);
  }

  /** The signer for this process, or null in {@link Mode#UNSIGNED}. */
  public static Signer resolve(Config config, Mode mode) {
    if (mode == Mode.UNSIGNED) {
      return null;
    }
    String configured = config.worker().signingKey();
    if (configured != null && !configured.isBlank()) {
      return load(Path.of(configured.trim()));
    }
    if (mode == Mode.REQUIRE) {
      throw TimemachineException.configuration(
          "no signing key: " + ENV + " is not set, so this worker's attestations could not be signed",
          "create one with `timemachine keys create` and export " + ENV + "=<dir>/" + KEY_FILE
              + ", or start the worker with --unsigned (its attestations then say they are unsigned)");
    }
    Path file = defaultKeyFile(config);
    if (!Files.exists(file)) {
      try {
        create(file.getParent());
      } catch (TimemachineException e) {
        // Two first runs at once on a fresh home: the other made the default key first; use it.
        if (e.type() != dev.timemachine.core.errors.ErrorType.CONFLICT || !Files.exists(file)) {
          throw e;
        }
      }
    }
    return load(file);
  }

  /** Writes a new key pair into {@code dir}; refuses to overwrite either file. */
  public static Created create(Path dir) {
    KeyPair pair = Ed25519Keys.generate();
    Path keyFile = dir.resolve(KEY_FILE);
    Path publicFile = dir.resolve(PUBLIC_FILE);
    for (Path p : new Path[] {keyFile, publicFile}) {
      if (Files.exists(p)) {
        throw TimemachineException.conflict(p + " already exists", "keys are never overwritten; choose another --out directory");
      }
    }
    try {
      Files.createDirectories(dir);
      byte[] privatePem = (Ed25519Keys.toPem(pair.getPrivate()) + Ed25519Keys.toPem(pair.getPublic())).getBytes(StandardCharsets.US_ASCII);
      Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rw-------");
      // Written whole beside it, then hard-linked into place: a concurrent reader sees no key or the whole
      // key, and a link never replaces a file that another process created first.
      Path tmp = Files.createTempFile(dir, ".signing-", ".tmp", PosixFilePermissions.asFileAttribute(ownerOnly));
      try {
        Files.setPosixFilePermissions(tmp, ownerOnly); // whatever the umask made of the attribute
        Files.write(tmp, privatePem, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        Files.createLink(keyFile, tmp);
      } finally {
        Files.deleteIfExists(tmp);
      }
      Files.write(publicFile, Ed25519Keys.toPem(pair.getPublic()).getBytes(StandardCharsets.US_ASCII), StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE);
    } catch (FileAlreadyExistsException e) {
      throw TimemachineException.conflict(e.getFile() + " already exists", "keys are never overwritten; choose another --out directory");
    } catch (IOException e) {
      throw TimemachineException.configuration("cannot write the key pair to " + dir + ": " + e.getMessage(), "choose a writable --out directory");
    }
    return new Created(keyFile, publicFile, Ed25519Keys.keyid(pair.getPublic()));
  }

  /** Reads a private key file (both PEM blocks); refuses one that others may read. */
  public static Signer load(Path keyFile) {
    String pem;
    try {
      if (Files.getFileAttributeView(keyFile, java.nio.file.attribute.PosixFileAttributeView.class) != null) {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(keyFile);
        if (perms.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
          throw TimemachineException.configuration(
              ENV + " " + keyFile + " is readable by others (" + PosixFilePermissions.toString(perms) + ")",
              "chmod 600 " + keyFile);
        }
      }
      pem = Files.readString(keyFile, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw TimemachineException.configuration(
          "cannot read the signing key " + keyFile + ": " + e.getMessage(), "point " + ENV + " at a file made by `timemachine keys create`");
    }
    return Signer.ed25519(Ed25519Keys.pair(Ed25519Keys.privateFromPem(pem, keyFile.toString()),
        Ed25519Keys.publicFromPem(pem, keyFile.toString())));
  }

  /** Publishes the public key as {@code keys/<keyid>.pub} (write-once; the same key again is a no-op). */
  public static String publish(ObjectStore store, Signer signer) {
    String key = "keys/" + signer.keyid() + ".pub";
    byte[] pem = signer.publicKeyPem().getBytes(StandardCharsets.US_ASCII);
    if (!store.putIfAbsent(key, pem) && !Arrays.equals(store.getBytes(key), pem)) {
      throw TimemachineException.conflict(store.uriOf(key) + " holds a different key", "remove the impostor and restart the worker");
    }
    return store.uriOf(key);
  }

  private static final java.util.concurrent.atomic.AtomicReference<java.util.concurrent.CompletableFuture<String>> BUILD_ID =
      new java.util.concurrent.atomic.AtomicReference<>();

  /**
   * {@link #workerBuildId()}, hashed once per process on a background thread that starts at the first
   * call: the jar is 80 MB, and a CLI's replay needs the id only when it writes the attestation.
   */
  public static java.util.function.Supplier<String> workerBuildIdInBackground() {
    java.util.concurrent.CompletableFuture<String> started = BUILD_ID.get();
    if (started == null) {
      java.util.concurrent.CompletableFuture<String> mine = new java.util.concurrent.CompletableFuture<>();
      if (BUILD_ID.compareAndSet(null, mine)) {
        Thread hasher = new Thread(() -> mine.complete(workerBuildId()), "timemachine-build-id");
        hasher.setDaemon(true);
        hasher.start();
      }
      started = BUILD_ID.get();
    }
    java.util.concurrent.CompletableFuture<String> id = started;
    return id::join;
  }

  /**
   * The sha256 of the jar this worker runs from, or {@code dev:classes} when it runs from class directories.
   * Hashed once per build of the jar: the id is kept beside it ({@code timemachine.jar.sha256}) with the
   * jar's size, modification time and inode, and used only while all three still match (a rebuilt,
   * replaced or rewritten jar is hashed again). Hashing the 80 MB jar took a third of an embedded
   * replay's CPU on 2 cores. A directory that cannot be written only means hashing every time.
   */
  public static String workerBuildId() {
    try {
      var source = SigningKeys.class.getProtectionDomain().getCodeSource();
      Path location = source == null ? null : Path.of(source.getLocation().toURI());
      if (location == null || !Files.isRegularFile(location)) {
        return "dev:classes";
      }
      return buildIdOf(location);
    } catch (Exception e) {
      return "dev:unknown";
    }
  }

  /** {@code sha256:<hex>} of {@code jar}, from its kept id when the jar's stamp still matches it. */
  static String buildIdOf(Path jar) throws IOException {
    Path kept = jar.resolveSibling(jar.getFileName() + ".sha256");
    String stamp = stampOf(jar);
    try {
      String[] line = Files.readString(kept).strip().split(" ");
      if (line.length == 2 && line[0].equals(stamp) && line[1].matches("sha256:[0-9a-f]{64}")) {
        return line[1];
      }
    } catch (IOException e) {
      // None kept yet (or unreadable): hash it.
    }
    var sha = Digests.newSha256();
    try (InputStream in = Files.newInputStream(jar)) {
      byte[] buffer = new byte[1 << 16];
      for (int n; (n = in.read(buffer)) > 0; ) {
        sha.update(buffer, 0, n);
      }
    }
    String id = "sha256:" + java.util.HexFormat.of().formatHex(sha.digest());
    if (stamp.equals(stampOf(jar))) { // not rewritten while it was read
      try {
        Path temp = kept.resolveSibling(kept.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        Files.writeString(temp, stamp + " " + id + "\n");
        Files.move(temp, kept, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException | UnsupportedOperationException e) {
        // A read-only directory: the next process hashes again.
      }
    }
    return id;
  }

  /** size/mtime(ns)/inode of {@code file}, as one word. */
  private static String stampOf(Path file) throws IOException {
    java.util.Map<String, Object> a;
    try {
      a = Files.readAttributes(file, "unix:size,lastModifiedTime,ino");
    } catch (UnsupportedOperationException e) {
      a = new java.util.HashMap<>(Files.readAttributes(file, "size,lastModifiedTime"));
      a.put("ino", "-");
    }
    return a.get("size") + "/" + ((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).to(java.util.concurrent.TimeUnit.NANOSECONDS)
        + "/" + a.get("ino");
  }

  public static String version() {
    String v = SigningKeys.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
