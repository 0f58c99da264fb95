package dev.timemachine.core.errors;

/**
 * The stable error types of timemachine. The name of each constant is the {@code type} of the Temporal
 * {@code ApplicationFailure} that carries it across the activity boundary, and the CLI maps each one to
 * an exit code, so renaming a constant is a breaking change.
 */
public enum ErrorType {
  /** Malformed user input: a bad reference, digest, key or option. Never retried. */
  INVALID_INPUT(false, 2),
  /** A model version, snapshot or object that does not exist. Never retried. */
  NOT_FOUND(false, 2),
  /** A write that would overwrite immutable content (a registered version, a report). Never retried. */
  CONFLICT(false, 2),
  /** Missing or wrong configuration (store URI, credentials, Docker host). Never retried. */
  CONFIGURATION(false, 2),
  /** One of the three recorded inputs cannot be obtained or does not match its recorded hash. */
  INPUT_UNVERIFIABLE(false, 3),
  /**
   * A dependency (object store, Docker engine, registry, a disk) is unavailable. Retried with backoff; a
   * command that ends with it is an outage, exit 4 like a replay's {@code ERROR}, never a usage error.
   */
  UNAVAILABLE(true, 4);

  private final boolean retryable;
  private final int exitCode;

  ErrorType(boolean retryable, int exitCode) {
    this.retryable = retryable;
    this.exitCode = exitCode;
  }

  public boolean retryable() {
    return retryable;
  }

  /** The CLI exit code for a command that ends with this error. */
  public int exitCode() {
    return exitCode;
  }
}
