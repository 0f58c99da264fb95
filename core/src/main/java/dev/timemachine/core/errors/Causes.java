package dev.timemachine.core.errors;

import java.util.Optional;

/**
 * The one place that walks a failure's cause chain and folds a message onto one line. Every adapter
 * turns a library's exception into one actionable line of the error model; doing that with one set of
 * rules keeps the lines alike (no stack-trace fragments, no multi-line server bodies) and a cause
 * cycle from looping.
 */
public final class Causes {
  /** Longest message kept on the line; a server's whole HTML error page helps nobody. */
  public static final int MAX_CHARS = 300;

  private Causes() {}

  /** The innermost cause, stopping at a cycle. */
  public static Throwable root(Throwable e) {
    Throwable t = e;
    for (int depth = 0; t.getCause() != null && t.getCause() != t && depth < 64; depth++) {
      t = t.getCause();
    }
    return t;
  }

  /** The first cause in the chain (the failure itself included) of the given type. */
  public static <T extends Throwable> Optional<T> find(Throwable e, Class<T> type) {
    Throwable t = e;
    for (int depth = 0; t != null && depth < 64; depth++, t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return Optional.of(type.cast(t));
      }
    }
    return Optional.empty();
  }

  /** The root cause's message (or its type if it has none), on one line. */
  public static String rootMessage(Throwable e) {
    Throwable root = root(e);
    return oneLine(root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage());
  }

  /** Every distinct message along the chain, outermost first, joined with ": ", on one line. */
  public static String chain(Throwable e) {
    StringBuilder line = new StringBuilder();
    Throwable t = e;
    for (int depth = 0; t != null && depth < 64; depth++, t = t.getCause() == t ? null : t.getCause()) {
      String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage().strip();
      if (!line.toString().contains(message)) {
        line.append(line.length() == 0 ? "" : ": ").append(message);
      }
    }
    return oneLine(line.toString());
  }

  /** Text with its line breaks (and the white space around them) folded into single spaces, bounded. */
  public static String oneLine(String text) {
    if (text == null) {
      return "";
    }
    String line = text.strip().replaceAll("\\s*\\R\\s*", " ");
    return line.length() > MAX_CHARS ? line.substring(0, MAX_CHARS) + "…" : line;
  }
}
