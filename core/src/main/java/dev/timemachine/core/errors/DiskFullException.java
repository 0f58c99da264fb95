package dev.timemachine.core.errors;

import java.nio.file.Path;

/**
 * A disk of this host is full ({@code No space left on device}, or a quota): an outage of the host, never a
 * fault of the model or of a recorded input, so never a verdict. It is {@link ErrorType#UNAVAILABLE} but not
 * retried: another attempt would download or train into the same full disk, taking the time and the space
 * that others need, and only freeing space helps. The service it names is the disk, by a path on it.
 */
public final class DiskFullException extends TimemachineException {
  private static final long serialVersionUID = 1L;
  private final String path;

  /**
   * @param path a path on the full disk (a work directory, a store root), named in the message and the hint
   * @param doing what failed, e.g. "restoring data.csv from s3://..."
   */
  public DiskFullException(Path path, String doing, Throwable cause) {
    super(ErrorType.UNAVAILABLE,
        "the disk of " + path + " is full (No space left on device) while " + doing,
        "free space on the disk of " + path + " (or give it a larger one), then run again", cause);
    this.path = path.toString();
  }

  /** The service that failed, as a replay's report names it. */
  public String service() {
    return "the disk of " + path;
  }

  @Override
  public boolean retryable() {
    return false;
  }

  /** Whether {@code e} or one of its causes says a disk is full (ENOSPC or EDQUOT, as the JDK words them). */
  public static boolean isDiskFull(Throwable e) {
    Throwable t = e;
    for (int depth = 0; t != null && depth < 64; depth++, t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof DiskFullException || says(t.getMessage())) {
        return true;
      }
      for (Throwable suppressed : t.getSuppressed()) {
        if (says(suppressed.getMessage())) {
          return true;
        }
      }
    }
    return false;
  }

  /** Whether a line of text (a log line, a message) says a disk is full. */
  public static boolean says(String text) {
    return text != null && (text.contains("No space left on device") || text.contains("Disk quota exceeded"));
  }
}
