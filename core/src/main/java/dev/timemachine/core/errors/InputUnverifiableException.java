package dev.timemachine.core.errors;

import dev.timemachine.core.model.InputKind;

/**
 * One recorded input is missing or does not match what was recorded. The message names the exact
 * file, ref or digest, because an auditor must be able to check it.
 */
public final class InputUnverifiableException extends TimemachineException {
  private static final long serialVersionUID = 1L;
  private final InputKind input;

  public InputUnverifiableException(InputKind input, String message, Throwable cause) {
    super(ErrorType.INPUT_UNVERIFIABLE, message, null, cause);
    this.input = input;
  }

  public InputUnverifiableException(InputKind input, String message) {
    this(input, message, null);
  }

  public InputKind input() {
    return input;
  }
}
