package dev.timemachine.core.data;

import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.errors.TimemachineException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.regex.Pattern;

/**
 * SHA-256 conventions used everywhere: a file digest is 64 lowercase hex characters; a root digest
 * (of a snapshot) and an image digest are written {@code sha256:<64 hex>}.
 *
 * <p>The root digest of a snapshot is the SHA-256 of its canonical manifest: one line per file,
 * sorted by path (by UTF-8 bytes), each {@code <sha256> <size> <path>\n}. Anyone can recompute it
 * with {@code sha256sum} and {@code stat}, which is the point: an auditor needs no timemachine to
 * check it.
 */
public final class Digests {
  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern PREFIXED = Pattern.compile("sha256:[0-9a-f]{64}");

  private Digests() {}

  public static boolean isSha256Hex(String value) {
    return value != null && HEX64.matcher(value).matches();
  }

  public static boolean isPrefixedSha256(String value) {
    return value != null && PREFIXED.matcher(value).matches();
  }

  public static String requireSha256Hex(String value, String what) {
    if (!isSha256Hex(value)) {
      throw TimemachineException.invalidInput(
          what + " must be 64 lowercase hex characters (a SHA-256), got '" + value + "'");
    }
    return value;
  }

  public static String sha256Hex(byte[] bytes) {
    return HexFormat.of().formatHex(newSha256().digest(bytes));
  }

  public static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  /** What {@link #sha256(InputStream, OutputStream, LongConsumer)} read: its SHA-256 in hex and its length. */
  public record Streamed(String sha256, long size) {}

  /**
   * The one streaming SHA-256 of this code base: reads {@code in} to its end (without closing it),
   * copies every byte to {@code copy} when it is not null, and tells {@code soFar} how many bytes have
   * been read after each chunk (throttling reports is the caller's business).
   */
  public static Streamed sha256(InputStream in, OutputStream copy, LongConsumer soFar) throws IOException {
    MessageDigest digest = newSha256();
    byte[] buffer = new byte[1 << 16];
    long size = 0;
    for (int n; (n = in.read(buffer)) >= 0; ) {
      if (n == 0) {
        continue;
      }
      digest.update(buffer, 0, n);
      if (copy != null) {
        copy.write(buffer, 0, n);
      }
      size += n;
      soFar.accept(size);
    }
    return new Streamed(HexFormat.of().formatHex(digest.digest()), size);
  }

  /** The SHA-256 and length of everything {@code in} has left. */
  public static Streamed sha256(InputStream in) throws IOException {
    return sha256(in, null, size -> {});
  }

  /** The canonical manifest text that the root digest is computed over. */
  public static String canonicalManifest(List<FileEntry> files) {
    List<FileEntry> sorted = new ArrayList<>(files);
    sorted.sort(Comparator.comparing(f -> f.path().getBytes(StandardCharsets.UTF_8), Digests::compareBytes));
    StringBuilder text = new StringBuilder();
    String previous = null;
    for (FileEntry file : sorted) {
      if (file.path().equals(previous)) {
        throw TimemachineException.invalidInput("manifest lists '" + file.path() + "' twice");
      }
      previous = file.path();
      text.append(file.sha256()).append(' ').append(file.size()).append(' ').append(file.path()).append('\n');
    }
    return text.toString();
  }

  /** The root digest, {@code sha256:<hex>}, of a snapshot with these files. */
  public static String rootDigest(List<FileEntry> files) {
    return "sha256:" + sha256Hex(canonicalManifest(files).getBytes(StandardCharsets.UTF_8));
  }

  private static int compareBytes(byte[] a, byte[] b) {
    return java.util.Arrays.compareUnsigned(a, b);
  }
}
