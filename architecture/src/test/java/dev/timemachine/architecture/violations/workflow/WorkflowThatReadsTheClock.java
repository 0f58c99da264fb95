package dev.timemachine.architecture.violations.workflow;

/** Reads the wall clock in workflow code: a replay would see another value. */
public final class WorkflowThatReadsTheClock {
  public long deadline() {
    return System.currentTimeMillis() + 1000;
  }
}
