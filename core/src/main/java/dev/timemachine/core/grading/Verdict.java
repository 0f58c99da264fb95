package dev.timemachine.core.grading;

/** The graded outcome of a replay, best first. */
public enum Verdict {
  /** Every recorded artifact came back byte for byte identical. */
  REPRODUCED_BITWISE(0),
  /**
   * Some artifact differs, but the rebuilt model behaves as the recorded one: on the recorded probe set
   * its predictions are identical within the prediction tolerance (or every differing artifact differs
   * only in volatile metadata), and every recorded metric is within its tolerance.
   */
  REPRODUCED_FUNCTIONALLY(0),
  /** Some artifact differs, but every recorded metric is within its tolerance. */
  REPRODUCED_WITHIN_TOLERANCE(0),
  /** Training succeeded but an artifact is missing or a metric is outside its tolerance. */
  DIVERGED(1),
  /** A recorded input could not be obtained or did not match its hash; no training was started. */
  INPUTS_UNVERIFIABLE(3),
  /** The training entry point exited non-zero, was killed, or timed out. */
  TRAINING_FAILED(1),
  /**
   * No verdict: a service the replay needs (image registry, object store, Docker engine, git host, model
   * registry) stayed unavailable past the transient deadline, or a step of timemachine itself failed.
   * Says nothing about the model, so it is never written back to the registry.
   */
  ERROR(4);

  private final int exitCode;

  Verdict(int exitCode) {
    this.exitCode = exitCode;
  }

  /** The CLI exit code for a replay that ends with this verdict. */
  public int exitCode() {
    return exitCode;
  }

  public boolean reproduced() {
    return this == REPRODUCED_BITWISE || this == REPRODUCED_FUNCTIONALLY || this == REPRODUCED_WITHIN_TOLERANCE;
  }
}
