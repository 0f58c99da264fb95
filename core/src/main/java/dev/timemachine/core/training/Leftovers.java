package dev.timemachine.core.training;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * What a training host may find when a worker starts after a crash ({@code kill -9} of a worker or of
 * an embedded CLI): training containers and work directories of replays, and which of them to reap.
 *
 * <p>Every training container carries the labels {@link TrainingContainer#LABEL_REPLAY}, {@link
 * #LABEL_WORKFLOW} and {@link #LABEL_OWNER}; every work directory holds an {@link #OWNER_FILE} with the
 * same two facts. A leftover is reaped only when nobody can still need it: its owner process is gone
 * (or unknown) <em>and</em> the Temporal server says its workflow is not running. A running workflow's
 * container is kept on purpose: the next attempt of its {@code train} step finds it again by name and
 * follows it instead of training a second time. A server that cannot be asked keeps everything.
 */
public final class Leftovers {
  /** The workflow a training container belongs to (a backtest's containers carry the backtest's id). */
  public static final String LABEL_WORKFLOW = "dev.timemachine.workflow";
  /** The process that started a training container: {@link Owner#toString()}. */
  public static final String LABEL_OWNER = "dev.timemachine.owner";
  /**
   * On a container: the absolute work root of the worker that made it. A reaper leaves a container of
   * another work root alone: another installation on the same engine (another TIMEMACHINE_HOME, maybe
   * another Temporal server that still runs its workflow) owns it, and its own workers reap it.
   */
  public static final String LABEL_WORK_ROOT = "dev.timemachine.workroot";
  /** In a work directory: the workflow id on its first line, the owner on its second. */
  public static final String OWNER_FILE = ".timemachine-owner";

  private Leftovers() {}

  /** A training container or a work directory of a replay. */
  public enum Kind {
    CONTAINER,
    WORK_DIR
  }

  /** What the Temporal server says of a workflow id. */
  public enum WorkflowState {
    RUNNING,
    CLOSED,
    /** Never heard of: an embedded server started afresh, or a history past its retention. */
    UNKNOWN,
    /** The server could not be asked: nothing is reaped on a guess. */
    UNREACHABLE
  }

  /**
   * The process that started a container or created a work directory: host name, pid and the
   * process's start time in epoch milliseconds (a pid alone is reused).
   */
  public record Owner(String host, long pid, long startedAtMillis) {
    public Owner {
      Objects.requireNonNull(host, "host");
    }

    /** {@code host/pid/startedAtMillis}. */
    @Override
    public String toString() {
      return host + "/" + pid + "/" + startedAtMillis;
    }

    /** The owner written by {@link #toString()}, or null for null, blank or anything else. */
    public static Owner parse(String text) {
      if (text == null) {
        return null;
      }
      String[] parts = text.strip().split("/");
      if (parts.length != 3 || parts[0].isEmpty()) {
        return null;
      }
      try {
        return new Owner(parts[0], Long.parseLong(parts[1]), Long.parseLong(parts[2]));
      } catch (NumberFormatException e) {
        return null;
      }
    }
  }

  /**
   * One thing found on the host. {@code name} is the container name or the directory path; {@code
   * workflowId} falls back to the replay id for containers of versions before the label existed;
   * {@code owner} is null when unknown; {@code running} is whether a container still runs.
   */
  public record Leftover(Kind kind, String name, String replayId, String workflowId, Owner owner, boolean running) {
    public Leftover {
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(replayId, "replayId");
      workflowId = workflowId == null || workflowId.isBlank() ? replayId : workflowId;
    }
  }

  /** What to do with a leftover, and why, in words for the worker's log. */
  public record Decision(Leftover leftover, boolean reap, String why) {}

  /**
   * Decides for each leftover. {@code ownerAlive} answers for an owner on this host; an owner on
   * another host (a Docker engine shared between hosts) is taken to be alive: that host reaps its own.
   */
  public static List<Decision> decide(
      List<Leftover> found, String thisHost, Predicate<Owner> ownerAlive, Function<String, WorkflowState> workflows) {
    List<Decision> decisions = new ArrayList<>();
    for (Leftover leftover : found) {
      decisions.add(decide(leftover, thisHost, ownerAlive, workflows));
    }
    return decisions;
  }

  private static Decision decide(
      Leftover leftover, String thisHost, Predicate<Owner> ownerAlive, Function<String, WorkflowState> workflows) {
    Owner owner = leftover.owner();
    if (owner != null && !owner.host().equals(thisHost)) {
      return new Decision(leftover, false, "its owner is on host " + owner.host());
    }
    if (owner != null && ownerAlive.test(owner)) {
      return new Decision(leftover, false, "its owner process " + owner.pid() + " is alive");
    }
    WorkflowState state = workflows.apply(leftover.workflowId());
    String gone = owner == null ? "its owner is unknown" : "its owner process " + owner.pid() + " is gone";
    return switch (state == null ? WorkflowState.UNREACHABLE : state) {
      case RUNNING -> new Decision(leftover, false,
          "workflow " + leftover.workflowId() + " is still running; its next attempt picks it up");
      case UNREACHABLE -> new Decision(leftover, false,
          "the Temporal server could not say whether workflow " + leftover.workflowId() + " still runs");
      case CLOSED -> new Decision(leftover, true, gone + " and workflow " + leftover.workflowId() + " has closed");
      // A running container that names no owner, of a workflow this server never saw, may be another
      // server's (a worker of an older version on the same engine): it cannot be told from an orphan.
      case UNKNOWN -> owner == null && leftover.running()
          ? new Decision(leftover, false,
              "it runs, names no owner, and the Temporal server does not know workflow " + leftover.workflowId())
          : new Decision(leftover, true,
              gone + " and the Temporal server does not know workflow " + leftover.workflowId());
    };
  }
}
