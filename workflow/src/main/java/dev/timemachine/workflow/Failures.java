package dev.timemachine.workflow;

import dev.timemachine.core.errors.DiskFullException;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.InputKind;
import io.temporal.api.enums.v1.RetryState;
import io.temporal.api.enums.v1.TimeoutType;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.TimeoutFailure;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The one failure codec of timemachine, used by the activities (encode), the workflow and the CLI
 * (decode). A {@link TimemachineException} leaves an activity as an {@link ApplicationFailure} whose type
 * is the exception's {@link ErrorType} name, non-retryable unless the exception says otherwise, with one
 * {@link FailureDetails} as its details. Anything else (a bug, an unexpected library exception) is left to
 * Temporal, which retries it with backoff.
 */
public final class Failures {
  /** Failure types that retrying cannot fix: every {@link ErrorType} that is not {@code retryable()}. */
  public static final String[] DO_NOT_RETRY =
      Arrays.stream(ErrorType.values()).filter(t -> !t.retryable()).map(Enum::name).toArray(String[]::new);

  /** The type of a decoded failure that was a timeout with no application failure behind it. */
  public static final String TIMEOUT = "TIMEOUT";

  private Failures() {}

  /**
   * A failure as the workflow and the CLI see it.
   *
   * @param type an {@link ErrorType} name, {@link #TIMEOUT}, or another failure's type or class name
   * @param message one line: the original message, or what timed out
   * @param details never null; {@link FailureDetails#NONE} when the failure had none
   * @param timedOut whether the step ended by a timeout (e.g. the transient deadline), whatever the last
   *     attempt's failure was
   */
  public record Decoded(String type, String message, FailureDetails details, boolean timedOut) {
    /** The error type, or null when the type is not one of timemachine's. */
    public ErrorType errorType() {
      return Arrays.stream(ErrorType.values()).filter(t -> t.name().equals(type)).findFirst().orElse(null);
    }

    public boolean is(ErrorType errorType) {
      return errorType.name().equals(type);
    }

    public InputKind input() {
      return details.input() == null ? null : InputKind.valueOf(details.input());
    }

    /** As a {@link TimemachineException} for the CLI; unknown types count as {@code UNAVAILABLE}. */
    public TimemachineException toException() {
      ErrorType known = errorType();
      return new TimemachineException(known == null ? ErrorType.UNAVAILABLE : known, message, details.hint(), null);
    }
  }

  public static <T> T call(String service, Supplier<T> body) {
    try {
      return body.get();
    } catch (TimemachineException e) {
      throw encode(e, service);
    }
  }

  public static void run(String service, Runnable body) {
    call(
        service,
        () -> {
          body.run();
          return null;
        });
  }

  /** The failure an activity throws for {@code e}, naming the service the step talks to. */
  public static ApplicationFailure encode(TimemachineException e, String service) {
    String input = e instanceof InputUnverifiableException unverifiable ? unverifiable.input().name() : null;
    // A full disk is the failed service, whatever the step was talking to.
    String failed = e instanceof DiskFullException disk ? disk.service() : service;
    FailureDetails details = new FailureDetails(input, e.hint(), failed);
    return e.retryable()
        ? ApplicationFailure.newFailureWithCause(e.getMessage(), e.type().name(), e.getCause(), details)
        : ApplicationFailure.newNonRetryableFailureWithCause(e.getMessage(), e.type().name(), e.getCause(), details);
  }

  /**
   * Decodes any failure a workflow or client sees (an {@code ActivityFailure}, a {@code
   * WorkflowFailedException}, ...) by walking its causes once: the first {@link ApplicationFailure} gives
   * type, message and details; a {@link TimeoutFailure} or an activity whose retries ran out of time on
   * the way marks it timed out, and a timeout is the answer when no application failure is behind it.
   */
  public static Decoded decode(Throwable failure) {
    TimeoutFailure timeout = null;
    boolean timedOut = false;
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof ActivityFailure activity && activity.getRetryState() == RetryState.RETRY_STATE_TIMEOUT) {
        timedOut = true;
      }
      if (t instanceof TimeoutFailure found && timeout == null) {
        timeout = found;
        timedOut = true;
      }
      if (t instanceof ApplicationFailure app) {
        return new Decoded(app.getType(), app.getOriginalMessage(), details(app), timedOut);
      }
    }
    if (timeout != null) {
      return new Decoded(TIMEOUT, "the step timed out (" + timeout.getTimeoutType() + ")", FailureDetails.NONE, true);
    }
    return new Decoded(
        failure.getClass().getSimpleName(), String.valueOf(failure.getMessage()), FailureDetails.NONE, false);
  }

  /**
   * Whether {@code failure} is a step that no worker picked up from its task queue in time (its
   * schedule-to-start timeout): for a step pinned to one training host, that host is gone. Temporal never
   * retries this timeout, so the workflow must handle it.
   */
  public static boolean notPickedUp(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof TimeoutFailure timeout && timeout.getTimeoutType() == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START) {
        return true;
      }
    }
    return false;
  }

  /** One line for a failed step: its own message if it said one, else what timed out. */
  public static String describe(Throwable failure) {
    return decode(failure).message();
  }

  /**
   * The named details; failures recorded before the codec carried positional strings ({@code [input,
   * hint]} or {@code [hint]}), which are read as no details.
   */
  private static FailureDetails details(ApplicationFailure app) {
    try {
      if (app.getDetails() == null || app.getDetails().getSize() != 1) {
        return FailureDetails.NONE;
      }
      FailureDetails details = app.getDetails().get(0, FailureDetails.class);
      return details == null ? FailureDetails.NONE : details;
    } catch (RuntimeException e) {
      return FailureDetails.NONE;
    }
  }
}
