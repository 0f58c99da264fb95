package dev.timemachine.workflow;

import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.errors.TimemachineException;
import io.temporal.failure.ApplicationFailure;
import java.util.function.Supplier;

/**
 * The activity side of the one error model: a {@link TimemachineException} leaves an activity as an
 * {@link ApplicationFailure} whose type is the exception's {@code ErrorType} name, non-retryable
 * unless the type says otherwise. Anything else (a bug, an unexpected library exception) is left to
 * Temporal, which retries it with backoff.
 */
public final class Failures {
  private Failures() {}

  public static <T> T call(Supplier<T> body) {
    try {
      return body.get();
    } catch (TimemachineException e) {
      throw toFailure(e);
    }
  }

  public static void run(Runnable body) {
    call(
        () -> {
          body.run();
          return null;
        });
  }

  public static ApplicationFailure toFailure(TimemachineException e) {
    String message = e.getMessage();
    Object[] details =
        e instanceof InputUnverifiableException unverifiable
            ? new Object[] {unverifiable.input().name(), e.hint()}
            : new Object[] {e.hint()};
    return e.type().retryable()
        ? ApplicationFailure.newFailureWithCause(message, e.type().name(), e.getCause(), details)
        : ApplicationFailure.newNonRetryableFailureWithCause(message, e.type().name(), e.getCause(), details);
  }
}
