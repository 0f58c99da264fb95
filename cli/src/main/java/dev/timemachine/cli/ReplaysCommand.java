package dev.timemachine.cli;

import dev.timemachine.app.Config;
import dev.timemachine.app.ReplayIndex;
import dev.timemachine.app.TemporalRuntime;
import dev.timemachine.core.errors.TimemachineException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code timemachine replays list [--model] [--verdict] [--since]}: replays by their search attributes. */
@Command(name = "replays", mixinStandardHelpOptions = true,
    description = "Finds replays on the Temporal server by model, verdict and start time (its visibility query).",
    subcommands = {ReplaysCommand.ListReplays.class})
public final class ReplaysCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: list");
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = {"Lists replays, newest first, as a table, and prints the visibility query it sent",
          "(paste it into the Temporal UI or `temporal workflow list --query`)."})
  public static final class ListReplays implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", description = "Only this model (its registered name, e.g. churn).")
    String model;

    @Option(names = "--verdict", description = "Only this verdict, e.g. DIVERGED, INPUTS_UNVERIFIABLE, REPRODUCED_BITWISE.")
    String verdict;

    @Option(names = "--since", description = "Only replays started since: a date (2026-11-23), an instant (2026-11-23T02:00:00Z) or a duration (24h, 7d).")
    String since;

    @Option(names = "--limit", defaultValue = "100", description = "At most this many rows (default ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() {
      Instant from = since == null ? null : parseSince(since, Instant.now());
      Config config = Config.fromEnvironment();
      try (TemporalRuntime temporal = TemporalRuntime.connect(config)) {
        List<ReplayIndex.Row> rows = new ReplayIndex(temporal, config).list(model, verdict == null ? null : verdict.toUpperCase(), from, limit);
        var out = spec.commandLine().getOut();
        out.printf("query: %s%n", ReplayIndex.query(model, verdict == null ? null : verdict.toUpperCase(), from));
        out.printf("%-52s %-10s %-20s %-12s %-8s %-28s %-9s%n", "replay", "status", "started", "model", "version", "verdict", "trigger");
        for (ReplayIndex.Row r : rows) {
          out.printf("%-52s %-10s %-20s %-12s %-8s %-28s %-9s%n", r.workflowId(), r.status(),
              r.started() == null ? "-" : r.started().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString().replace("T", " ").replace("Z", ""),
              dash(r.model()), dash(r.version()), dash(r.verdict()), dash(r.trigger()));
        }
        out.printf("%d replay%s%n", rows.size(), rows.size() == 1 ? "" : "s");
        out.flush();
        return 0;
      }
    }

    private static String dash(String value) {
      return value == null ? "-" : value;
    }

    static Instant parseSince(String text, Instant now) {
      String t = text.trim();
      try {
        if (t.matches("\\d+[smhd]")) {
          long n = Long.parseLong(t.substring(0, t.length() - 1));
          Duration d = switch (t.charAt(t.length() - 1)) {
            case 's' -> Duration.ofSeconds(n);
            case 'm' -> Duration.ofMinutes(n);
            case 'h' -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
          };
          return now.minus(d);
        }
        if (t.matches("\\d{4}-\\d{2}-\\d{2}")) {
          return LocalDate.parse(t).atStartOfDay(ZoneOffset.UTC).toInstant();
        }
        return Instant.parse(t);
      } catch (DateTimeParseException | NumberFormatException e) {
        throw TimemachineException.invalidInput(
            "--since '" + text + "' is not a date (2026-11-23), an instant (2026-11-23T02:00:00Z) or a duration (24h, 7d)");
      }
    }
  }
}
