package dev.timemachine.core.errors;

/**
 * The single unchecked exception of timemachine's domain and ports. Adapters translate library
 * exceptions into it; activities translate it into an {@code ApplicationFailure} of the same {@link
 * #type()}; the CLI translates it into one line and an exit code.
 */
public class TimemachineException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final ErrorType type;
  private final String hint;

  public TimemachineException(ErrorType type, String message, String hint, Throwable cause) {
    super(message, cause);
    this.type = type;
    this.hint = hint;
  }

  public TimemachineException(ErrorType type, String message) {
    this(type, message, null, null);
  }

  public static TimemachineException invalidInput(String message) {
    return new TimemachineException(ErrorType.INVALID_INPUT, message);
  }

  public static TimemachineException notFound(String message, String hint) {
    return new TimemachineException(ErrorType.NOT_FOUND, message, hint, null);
  }

  public static TimemachineException conflict(String message, String hint) {
    return new TimemachineException(ErrorType.CONFLICT, message, hint, null);
  }

  public static TimemachineException configuration(String message, String hint) {
    return new TimemachineException(ErrorType.CONFIGURATION, message, hint, null);
  }

  public static TimemachineException unavailable(String message, Throwable cause) {
    return new TimemachineException(ErrorType.UNAVAILABLE, message, null, cause);
  }

  public ErrorType type() {
    return type;
  }

  /** Whether another attempt may succeed: the type's answer, unless a subclass knows better. */
  public boolean retryable() {
    return type.retryable();
  }

  /** What the user can do about it, or null. */
  public String hint() {
    return hint;
  }
}
