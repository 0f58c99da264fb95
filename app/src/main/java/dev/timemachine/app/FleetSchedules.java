package dev.timemachine.app;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.ReplayIds;
import dev.timemachine.workflow.FleetReplayWorkflow;
import dev.timemachine.workflow.FleetRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.temporal.api.enums.v1.ScheduleOverlapPolicy;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.schedules.Schedule;
import io.temporal.client.schedules.ScheduleActionStartWorkflow;
import io.temporal.client.schedules.ScheduleBackfill;
import io.temporal.client.schedules.ScheduleClient;
import io.temporal.client.schedules.ScheduleClientOptions;
import io.temporal.client.schedules.ScheduleDescription;
import io.temporal.client.schedules.ScheduleException;
import io.temporal.client.schedules.ScheduleHandle;
import io.temporal.client.schedules.ScheduleListDescription;
import io.temporal.client.schedules.ScheduleOptions;
import io.temporal.client.schedules.SchedulePolicy;
import io.temporal.client.schedules.ScheduleSpec;
import io.temporal.client.schedules.ScheduleState;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Function;

/**
 * Nightly fleets as Temporal Schedules: each schedule starts a {@link FleetReplayWorkflow} with its
 * selector on the control queue. A night still running when the next is due is skipped (overlap
 * SKIP); a night missed while the server was down is started if it is within the catch-up window;
 * jitter spreads the start of many schedules. The schedule id is the fleet's name.
 */
public final class FleetSchedules {
  public static final Duration DEFAULT_JITTER = Duration.ofMinutes(5);
  public static final Duration DEFAULT_CATCHUP = Duration.ofHours(6);

  private final ScheduleClient schedules;
  private final Config config;

  public FleetSchedules(TemporalRuntime temporal, Config config) {
    if (temporal.embedded()) {
      throw TimemachineException.configuration("schedules need a Temporal server; the in-process one has none",
          "set TEMPORAL_ADDRESS (e.g. 127.0.0.1:7233, started by scripts/temporal.sh) and run `timemachine worker`");
    }
    this.schedules = ScheduleClient.newInstance(temporal.service(),
        ScheduleClientOptions.newBuilder().setNamespace(config.namespace()).build());
    this.config = config;
  }

  /** What a schedule is made of. */
  public record Settings(String cron, String timeZone, Duration jitter, Duration catchupWindow) {}

  public void create(String name, Settings settings, FleetRequest fleet) {
    ReplayIds.require(name);
    Schedule schedule = Schedule.newBuilder()
        .setAction(ScheduleActionStartWorkflow.newBuilder()
            .setWorkflowType(FleetReplayWorkflow.class)
            .setArguments(fleet)
            .setOptions(WorkflowOptions.newBuilder().setWorkflowId("fleet-" + name).setTaskQueue(config.controlQueue())
                .setTypedSearchAttributes(io.temporal.common.SearchAttributes.newBuilder()
                    .set(dev.timemachine.workflow.SearchAttributes.TRIGGER,
                        dev.timemachine.workflow.SearchAttributes.Trigger.SCHEDULE.value())
                    .build())
                .build())
            .build())
        .setSpec(ScheduleSpec.newBuilder()
            .setCronExpressions(List.of(settings.cron()))
            .setTimeZoneName(settings.timeZone() == null ? "UTC" : settings.timeZone())
            .setJitter(settings.jitter())
            .build())
        .setPolicy(SchedulePolicy.newBuilder()
            .setOverlap(ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_SKIP)
            .setCatchupWindow(settings.catchupWindow())
            .build())
        .setState(ScheduleState.newBuilder().setNote("timemachine fleet " + fleet.selector()).build())
        .build();
    call(name, () -> schedules.createSchedule(name, schedule, ScheduleOptions.newBuilder().build()));
  }

  public List<ScheduleListDescription> list() {
    return call("(list)", () -> schedules.listSchedules().filter(s -> s.getSchedule().getAction() instanceof io.temporal.client.schedules.ScheduleListActionStartWorkflow w && "FleetReplayWorkflow".equals(w.getWorkflow())).toList());
  }

  public ScheduleDescription describe(String name) {
    return on(name, ScheduleHandle::describe);
  }

  public void trigger(String name) {
    on(name, h -> {
      h.trigger(ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_SKIP);
      return null;
    });
  }

  public void pause(String name, String note) {
    on(name, h -> {
      h.pause(note);
      return null;
    });
  }

  public void unpause(String name, String note) {
    on(name, h -> {
      h.unpause(note);
      return null;
    });
  }

  public void delete(String name) {
    on(name, h -> {
      h.delete();
      return null;
    });
  }

  /**
   * Starts the nights the schedule would have started between {@code from} and {@code to}; each one
   * knows the night it stands for (Temporal's scheduled start time), so its summary is that night's.
   */
  public void backfill(String name, Instant from, Instant to) {
    if (!from.isBefore(to)) {
      throw TimemachineException.invalidInput("--from must be before --to");
    }
    on(name, h -> {
      // ALLOW_ALL: the nights of a backfill do not skip each other; each replays its own night.
      h.backfill(List.of(new ScheduleBackfill(from, to, ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)));
      return null;
    });
  }

  private <T> T on(String name, Function<ScheduleHandle, T> action) {
    return call(name, () -> action.apply(schedules.getHandle(name)));
  }

  private <T> T call(String name, java.util.function.Supplier<T> body) {
    try {
      return body.get();
    } catch (ScheduleException e) {
      throw translate(name, e);
    } catch (StatusRuntimeException e) {
      throw translate(name, e);
    } catch (RuntimeException e) {
      for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
        if (t instanceof StatusRuntimeException status) {
          throw translate(name, status);
        }
      }
      throw e;
    }
  }

  private TimemachineException translate(String name, RuntimeException e) {
    Status.Code code = e instanceof StatusRuntimeException s ? s.getStatus().getCode()
        : e.getCause() instanceof StatusRuntimeException s ? s.getStatus().getCode() : Status.Code.UNKNOWN;
    if (e instanceof io.temporal.client.schedules.ScheduleAlreadyRunningException || code == Status.Code.ALREADY_EXISTS) {
      return new TimemachineException(ErrorType.CONFLICT, "schedule '" + name + "' already exists",
          "pick another name, or `timemachine schedule delete " + name + "` first", e);
    }
    if (code == Status.Code.NOT_FOUND) {
      return TimemachineException.notFound("no schedule '" + name + "' in namespace " + config.namespace(),
          "`timemachine schedule list` shows the schedules");
    }
    if (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) {
      return TimemachineException.unavailable("the Temporal server at " + config.temporalAddress() + " does not answer", e);
    }
    return TimemachineException.unavailable("schedule '" + name + "': " + e.getMessage(), e);
  }
}
