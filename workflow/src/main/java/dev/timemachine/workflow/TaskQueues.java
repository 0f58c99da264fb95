package dev.timemachine.workflow;

/** Default task queue names. */
public final class TaskQueues {
  /** Workflows and control activities (resolve, compare, report). */
  public static final String CONTROL = "timemachine-control";

  /** Training activities (checkout, pull, restore, train), on hosts with a Docker engine. */
  public static final String TRAINING = "timemachine-training";

  private TaskQueues() {}
}
