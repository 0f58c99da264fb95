package dev.timemachine.cli;

import dev.timemachine.app.Config;
import dev.timemachine.app.FleetRunner;
import dev.timemachine.app.FleetSchedules;
import dev.timemachine.app.TemporalRuntime;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.fleet.Selector;
import io.temporal.client.schedules.ScheduleActionExecutionStartWorkflow;
import io.temporal.client.schedules.ScheduleDescription;
import io.temporal.client.schedules.ScheduleListDescription;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code timemachine schedule create|list|describe|trigger|pause|unpause|delete|backfill}. */
@Command(name = "schedule", mixinStandardHelpOptions = true,
    description = "Nightly fleet replays as Temporal Schedules (needs TEMPORAL_ADDRESS and a running worker).",
    subcommands = {
      ScheduleCommand.Create.class, ScheduleCommand.ListSchedules.class, ScheduleCommand.Describe.class,
      ScheduleCommand.Trigger.class, ScheduleCommand.Pause.class, ScheduleCommand.Unpause.class,
      ScheduleCommand.Delete.class, ScheduleCommand.Backfill.class
    })
public final class ScheduleCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(),
        "a subcommand is required: create, list, describe, trigger, pause, unpause, delete or backfill");
  }

  /** Runs body with the schedules of the configured server. */
  abstract static class Base implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      Config config = Config.fromEnvironment();
      try (TemporalRuntime temporal = TemporalRuntime.connect(config)) {
        return run(new FleetSchedules(temporal, config), config, temporal, spec.commandLine().getOut());
      }
    }

    abstract int run(FleetSchedules schedules, Config config, TemporalRuntime temporal, PrintWriter out);
  }

  @Command(name = "create", mixinStandardHelpOptions = true, description = "Creates a schedule that replays a fleet.")
  public static final class Create extends Base {
    @Parameters(index = "0", paramLabel = "NAME", description = "Schedule and fleet name (letters, digits, . _ -).")
    String name;

    @Option(names = "--cron", required = true, description = "When, as cron, e.g. \"0 2 * * *\" (02:00 every night).")
    String cron;

    @Option(names = "--selector", required = true, description = FleetCommand.SELECTOR_HELP)
    String selector;

    @Option(names = "--concurrency", defaultValue = "4", description = "Replays in flight at once (default 4).")
    int concurrency;

    @Option(names = "--timezone", defaultValue = "UTC", description = "Time zone of the cron and of the night's date (default UTC).")
    String timeZone;

    @Option(names = "--jitter", defaultValue = "PT5M", description = "Random delay up to this, ISO-8601 (default PT5M).")
    Duration jitter;

    @Option(names = "--catchup-window", defaultValue = "PT6H",
        description = "A night missed while the server was down still runs if it is at most this late (default PT6H).")
    Duration catchup;

    @Option(names = "--no-write-back", description = "Leave the registries untouched.")
    boolean noWriteBack;

    @CommandLine.Mixin LimitOptions limits;

    @Override
    int run(FleetSchedules schedules, Config config, TemporalRuntime temporal, PrintWriter out) {
      Selector.parse(selector);
      try {
        java.time.ZoneId.of(timeZone);
      } catch (java.time.DateTimeException e) {
        throw TimemachineException.invalidInput("unknown time zone '" + timeZone + "', e.g. Europe/Berlin or UTC");
      }
      var request = new FleetRunner(temporal, config)
          .request(name, selector, concurrency, "schedule", timeZone, limits.apply(config), !noWriteBack);
      schedules.create(name, new FleetSchedules.Settings(cron, timeZone, jitter, catchup), request);
      out.printf("schedule %s created: %s (%s), fleet %s, concurrency %d, overlap skip, catch-up %s, jitter %s%n",
          name, cron, timeZone, selector, concurrency, catchup, jitter);
      out.flush();
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists the fleet schedules.")
  public static final class ListSchedules extends Base {
    @Override
    int run(FleetSchedules schedules, Config config, TemporalRuntime temporal, PrintWriter out) {
      out.printf("%-28s %-26s %s%n", "NAME", "NEXT", "LAST STARTED");
      for (ScheduleListDescription s : schedules.list()) {
        var next = s.getInfo().getNextActionTimes();
        var recent = s.getInfo().getRecentActions();
        out.printf("%-28s %-26s %s%n", s.getScheduleId(), next.isEmpty() ? "-" : next.get(0),
            recent.isEmpty() ? "-" : recent.get(recent.size() - 1).getStartedAt());
      }
      out.flush();
      return 0;
    }
  }

  @Command(name = "describe", mixinStandardHelpOptions = true, description = "Shows a schedule, its next and recent runs.")
  public static final class Describe extends Base {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    int run(FleetSchedules schedules, Config config, TemporalRuntime temporal, PrintWriter out) {
      ScheduleDescription d = schedules.describe(name);
      var spec = d.getSchedule().getSpec();
      out.printf("schedule: %s%n", d.getId());
      out.printf("when:     %s (%s), jitter %s%n", spec.getCronExpressions(), spec.getTimeZoneName(), spec.getJitter());
      out.printf("policy:   overlap %s, catch-up %s%n", d.getSchedule().getPolicy().getOverlap(),
          d.getSchedule().getPolicy().getCatchupWindow());
      out.printf("state:    %s%s%n", d.getSchedule().getState().isPaused() ? "paused" : "active",
          d.getSchedule().getState().getNote() == null ? "" : " (" + d.getSchedule().getState().getNote() + ")");
      out.printf("runs:     %d started, %d skipped (overlap), %d missed (catch-up window)%n", d.getInfo().getNumActions(),
          d.getInfo().getNumActionsSkippedOverlap(), d.getInfo().getNumActionsMissedCatchupWindow());
      d.getInfo().getNextActionTimes().stream().limit(3).forEach(t -> out.printf("next:     %s%n", t));
      d.getInfo().getRecentActions().forEach(a -> out.printf("recent:   due %s, started %s, workflow %s%n", a.getScheduledAt(),
          a.getStartedAt(), a.getAction() instanceof ScheduleActionExecutionStartWorkflow w ? w.getWorkflowId() : "?"));
      d.getInfo().getRunningActions().forEach(a -> out.printf("running:  %s%n",
          a instanceof ScheduleActionExecutionStartWorkflow w ? w.getWorkflowId() : a));
      out.flush();
      return 0;
    }
  }

  @Command(name = "trigger", mixinStandardHelpOptions = true, description = "Starts the schedule's fleet now (skipped if one runs).")
  public static final class Trigger extends Base {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    int run(FleetSchedules schedules, Config config, TemporalRuntime temporal, PrintWriter out) {
      schedules.trigger(name);
      out.printf("schedule %s triggered; `timemachine schedule describe %s` shows the run%n", name, name);
      out.flush();
      return 0;
    }
  }

  @Command(name = "pause", mixinStandardHelpOptions = true, description = "Pauses a schedule.")
  public static final class Pause extends Base {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Option(names = "--note", defaultValue = "paused with timemachine schedule pause")
    String note;

    @Override
    int run(FleetSchedules schedules, Config config, TemporalRuntime temporal, PrintWriter out) {
      schedules.pause(name, note);
      out.printf("schedule %s paused%n", name);
      out.flush();
      return 0;
    }
  }

  @Command(name = "unpause", mixinStandardHelpOptions = true, description = "Resumes a paused schedule.")
  public static final class Unpause extends Base {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    int run(FleetSchedules schedules, Config config, TemporalRuntime temporal, PrintWriter out) {
      schedules.unpause(name, "unpaused with timemachine schedule unpause");
      out.printf("schedule %s unpaused%n", name);
      out.flush();
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true, description = "Deletes a schedule (running fleets go on).")
  public static final class Delete extends Base {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    int run(FleetSchedules schedules, Config config, TemporalRuntime temporal, PrintWriter out) {
      schedules.delete(name);
      out.printf("schedule %s deleted%n", name);
      out.flush();
      return 0;
    }
  }

  @Command(name = "backfill", mixinStandardHelpOptions = true,
      description = "Runs the nights the schedule would have run between --from and --to (each as its own night).")
  public static final class Backfill extends Base {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Option(names = "--from", required = true, description = "Start, a date (2026-11-20, midnight UTC) or an instant.")
    String from;

    @Option(names = "--to", required = true, description = "End (exclusive), a date or an instant.")
    String to;

    @Override
    int run(FleetSchedules schedules, Config config, TemporalRuntime temporal, PrintWriter out) {
      Instant start = instant(from);
      Instant end = instant(to);
      schedules.backfill(name, start, end);
      out.printf("schedule %s: backfill of %s to %s requested; `timemachine schedule describe %s` shows the runs%n",
          name, start, end, name);
      out.flush();
      return 0;
    }

    static Instant instant(String text) {
      try {
        return text.length() == 10 ? LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant()
            : OffsetDateTime.parse(text).toInstant();
      } catch (DateTimeParseException e) {
        throw TimemachineException.invalidInput("'" + text + "' is neither a date (2026-11-20) nor an instant (2026-11-20T02:00:00Z)");
      }
    }
  }
}
