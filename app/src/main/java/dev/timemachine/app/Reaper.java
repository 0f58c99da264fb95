package dev.timemachine.app;

import dev.timemachine.core.data.Directories;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.ReplayIds;
import dev.timemachine.core.ports.ContainerEngine;
import dev.timemachine.core.training.Leftovers;
import dev.timemachine.core.training.Leftovers.Decision;
import dev.timemachine.core.training.Leftovers.Kind;
import dev.timemachine.core.training.Leftovers.Leftover;
import dev.timemachine.core.training.Leftovers.Owner;
import dev.timemachine.core.training.Leftovers.WorkflowState;
import dev.timemachine.core.training.TrainingContainer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.WorkflowExecutionStatus;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.serviceclient.WorkflowServiceStubs;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs when a training worker starts: removes the training containers and work directories that a
 * crashed worker or CLI ({@code kill -9}) left behind, as {@link Leftovers} decides. A failure here
 * never stops the worker: it says what it could not check and goes on.
 */
public final class Reaper {
  private static final Logger log = LoggerFactory.getLogger(Reaper.class);

  /** What one pass found and did. */
  public record Result(List<Decision> decisions, List<String> problems) {
    public long reaped(Kind kind) {
      return decisions.stream().filter(d -> d.reap() && d.leftover().kind() == kind).count();
    }
  }

  private final ContainerEngine engine;
  private final Path workRoot;
  private final Function<String, WorkflowState> workflows;

  public Reaper(ContainerEngine engine, Path workRoot, Function<String, WorkflowState> workflows) {
    this.engine = engine;
    this.workRoot = workRoot.toAbsolutePath().normalize();
    this.workflows = workflows;
  }

  /** This process as the owner of what it creates. */
  public static Owner currentOwner() {
    ProcessHandle self = ProcessHandle.current();
    return new Owner(host(), self.pid(), self.info().startInstant().map(Instant::toEpochMilli).orElse(0L));
  }

  /** Whether {@code owner} (on this host) is a live process: the same pid started at the same time. */
  public static boolean alive(Owner owner) {
    Optional<ProcessHandle> process = ProcessHandle.of(owner.pid());
    if (process.isEmpty() || !process.get().isAlive()) {
      return false;
    }
    Optional<Instant> started = process.get().info().startInstant();
    // The start instant is known to the hundredth of a second at best: a reused pid starts much later.
    return started.isEmpty() || owner.startedAtMillis() == 0
        || Math.abs(started.get().toEpochMilli() - owner.startedAtMillis()) < 2_000;
  }

  /** The state of a workflow on a real server or the embedded one. */
  static Function<String, WorkflowState> temporal(WorkflowServiceStubs service, String namespace) {
    return workflowId -> {
      try {
        WorkflowExecutionStatus status =
            service.blockingStub().withDeadlineAfter(10, TimeUnit.SECONDS)
                .describeWorkflowExecution(DescribeWorkflowExecutionRequest.newBuilder().setNamespace(namespace)
                    .setExecution(WorkflowExecution.newBuilder().setWorkflowId(workflowId)).build())
                .getWorkflowExecutionInfo().getStatus();
        return status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
            ? WorkflowState.RUNNING : WorkflowState.CLOSED;
      } catch (StatusRuntimeException e) {
        return e.getStatus().getCode() == Status.Code.NOT_FOUND ? WorkflowState.UNKNOWN : WorkflowState.UNREACHABLE;
      }
    };
  }

  /** Finds what is left, decides, removes what nobody needs; logs every removal at WARN. */
  public Result reap() {
    List<String> problems = new ArrayList<>();
    List<Leftover> found = new ArrayList<>();
    try {
      String ownRoot = workRoot.toAbsolutePath().normalize().toString();
      for (ContainerEngine.Labelled c : engine.containersLabelled(TrainingContainer.LABEL_REPLAY)) {
        String root = c.labels().get(Leftovers.LABEL_WORK_ROOT);
        if (root != null && !root.equals(ownRoot)) {
          // Another installation's (another TIMEMACHINE_HOME, perhaps another Temporal server): not ours to judge.
          log.debug("keeping training container {}: it belongs to work root {}", c.name(), root);
          continue;
        }
        found.add(new Leftover(Kind.CONTAINER, c.name(), c.labels().get(TrainingContainer.LABEL_REPLAY),
            c.labels().get(Leftovers.LABEL_WORKFLOW), Owner.parse(c.labels().get(Leftovers.LABEL_OWNER)), c.running()));
      }
    } catch (TimemachineException e) {
      problems.add("could not list training containers: " + e.getMessage());
    }
    found.addAll(workDirs(problems));
    List<Decision> decisions = Leftovers.decide(found, host(), Reaper::alive, workflows);
    for (Decision d : decisions) {
      if (!d.reap()) {
        log.debug("keeping {} {}: {}", d.leftover().kind(), d.leftover().name(), d.why());
        continue;
      }
      try {
        if (d.leftover().kind() == Kind.CONTAINER) {
          engine.remove(d.leftover().name());
        } else {
          Directories.deleteRecursively(Path.of(d.leftover().name()));
        }
        log.warn("removed the {} {} of replay {} left behind: {}",
            d.leftover().kind() == Kind.CONTAINER ? "training container" : "work directory", d.leftover().name(),
            d.leftover().replayId(), d.why());
      } catch (RuntimeException e) {
        problems.add("could not remove " + d.leftover().name() + ": " + e.getMessage());
      }
    }
    for (String problem : problems) {
      log.warn("reaping leftovers of crashed replays: {}", problem);
    }
    return new Result(decisions, problems);
  }

  private List<Leftover> workDirs(List<String> problems) {
    List<Leftover> dirs = new ArrayList<>();
    if (!Files.isDirectory(workRoot)) {
      return dirs;
    }
    try (Stream<Path> children = Files.list(workRoot)) {
      for (Path dir : children.filter(Files::isDirectory).sorted().toList()) {
        String replayId = dir.getFileName().toString();
        if (!ReplayIds.isValid(replayId)) {
          continue; // not ours
        }
        String workflowId = null;
        Owner owner = null;
        Path ownerFile = dir.resolve(Leftovers.OWNER_FILE);
        if (Files.isRegularFile(ownerFile)) {
          List<String> lines = Files.readAllLines(ownerFile);
          workflowId = lines.isEmpty() ? null : lines.get(0).strip();
          owner = lines.size() < 2 ? null : Owner.parse(lines.get(1));
        }
        dirs.add(new Leftover(Kind.WORK_DIR, dir.toString(), replayId, workflowId, owner, false));
      }
    } catch (IOException e) {
      problems.add("could not list the work directory " + workRoot + ": " + e.getMessage());
    }
    return dirs;
  }

  private static String host() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }
}
