package dev.timemachine.cli;

import dev.timemachine.app.Config;
import dev.timemachine.core.errors.TimemachineException;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code timemachine} command line. */
@Command(
    name = "timemachine",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Rebuilds a registered ML model version from its recorded code, environment and data, and grades the result.",
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:REPRODUCED_BITWISE, REPRODUCED_FUNCTIONALLY or REPRODUCED_WITHIN_TOLERANCE (or a command that succeeded)",
      "1:DIVERGED or TRAINING_FAILED",
      "2:usage or configuration error",
      "3:INPUTS_UNVERIFIABLE",
      "4:ERROR: no verdict; a service (registry, object store, Docker engine, git host) stayed down past TIMEMACHINE_TRANSIENT_DEADLINE, or a disk is full (any command: an outage)",
      "5:CONTRACT_VIOLATED (backtest)"
    })
public final class Main implements Runnable {
  /** The subcommands, in the order of the usage help. */
  static final List<Class<?>> COMMANDS = List.of(
      DemoCommand.class,
      ReplayCommand.class,
      ExplainCommand.class,
      CalibrateCommand.class,
      BacktestCommand.class,
      LineageCommand.class,
      RegisterCommand.class,
      SnapshotCommand.class,
      ModelsCommand.class,
      FleetCommand.class,
      CheckCommand.class,
      ReplaysCommand.class,
      ScheduleCommand.class,
      WorkerCommand.class,
      KeysCommand.class,
      VerifyCommand.class,
      HistoryCommand.class,
      ReportCommand.class,
      GcCommand.class,
      CommandLine.HelpCommand.class);

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    Timings.start();
    CommandLine cli = newCommandLine(args);
    Timings.mark("cli");
    int exit = cli.execute(args);
    if (Config.timingsRequested()) {
      Timings.mark("exit");
      Timings.print(cli.getErr());
    }
    System.exit(exit);
  }

  /** A command line with every subcommand and timemachine's error handling, for tests. */
  public static CommandLine newCommandLine() {
    return withHandlers(withSubcommands(new CommandLine(new Main()), COMMANDS));
  }

  /**
   * The command line for {@code args}: when the first argument names a subcommand, only that one is
   * built (picocli reflects over every option of every subcommand it is given: about 200 ms for all
   * of them, paid by each run); otherwise (help, a typo, an option) all of them, so that the usage
   * help and the errors are those of the whole tree.
   */
  static CommandLine newCommandLine(String[] args) {
    // picocli looks for Groovy closures in every option unless told not to (picocli 4.7 startup advice).
    System.setProperty("picocli.disable.closures", "true");
    List<Class<?>> needed = COMMANDS;
    if (args.length > 0) {
      for (Class<?> command : COMMANDS) {
        if (command != CommandLine.HelpCommand.class && command.getAnnotation(Command.class).name().equals(args[0])) {
          needed = List.of(command);
        }
      }
    }
    return withHandlers(withSubcommands(new CommandLine(new Main()), needed));
  }

  private static CommandLine withSubcommands(CommandLine cli, List<Class<?>> commands) {
    for (Class<?> command : commands) {
      cli.addSubcommand(command);
    }
    return cli;
  }

  private static CommandLine withHandlers(CommandLine cli) {
    cli.setExecutionExceptionHandler(new ErrorHandler());
    cli.setParameterExceptionHandler(new UsageErrorHandler());
    return cli;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getErr());
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
  }

  /** One clear line (and what to do) on stderr, and the exit code of the error's type. */
  static final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cli, CommandLine.ParseResult parsed) {
      var err = cli.getErr();
      if (Config.jsonErrorsRequested()) {
        TimemachineException known = ex instanceof TimemachineException e ? e : null;
        int exit = known == null ? 2 : known.type().exitCode();
        printJson(err, known == null ? "BUG" : known.type().name(),
            known == null ? ex.getClass().getSimpleName() + ": " + ex.getMessage() : known.getMessage(),
            known == null ? "this is a bug in timemachine; rerun with TIMEMACHINE_DEBUG=1 for the stack trace" : known.hint(),
            exit);
        return exit;
      }
      if (ex instanceof TimemachineException e) {
        err.println("error: " + e.getMessage());
        if (e.hint() != null) {
          err.println("hint: " + e.hint());
        }
        err.flush();
        return e.type().exitCode();
      }
      err.println("error: " + ex.getClass().getSimpleName() + ": " + ex.getMessage());
      err.println("hint: this is a bug in timemachine; rerun with TIMEMACHINE_DEBUG=1 for the stack trace and report it");
      if (Config.stackTracesRequested()) {
        ex.printStackTrace(err);
      }
      err.flush();
      return 2;
    }
  }

  static final class UsageErrorHandler implements CommandLine.IParameterExceptionHandler {
    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
      var err = ex.getCommandLine().getErr();
      if (Config.jsonErrorsRequested()) {
        printJson(err, "USAGE", ex.getMessage(), "see `timemachine "
            + ex.getCommandLine().getCommandSpec().qualifiedName(" ").replaceFirst("^timemachine ?", "") + " --help`", 2);
        return 2;
      }
      err.println("error: " + ex.getMessage());
      err.println("hint: see `timemachine " + ex.getCommandLine().getCommandSpec().qualifiedName(" ").replaceFirst("^timemachine ?", "") + " --help`");
      err.flush();
      return 2;
    }
  }

  /** {@code TIMEMACHINE_ERROR_FORMAT=json}: one line, {"error": {"kind", "message", "hint", "exit"}}. */
  static void printJson(java.io.PrintWriter err, String kind, String message, String hint, int exit) {
    java.util.Map<String, Object> error = new java.util.LinkedHashMap<>();
    error.put("kind", kind);
    error.put("message", message);
    if (hint != null) {
      error.put("hint", hint);
    }
    error.put("exit", exit);
    try {
      err.println(dev.timemachine.core.json.Json.mapper().writer()
          .without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
          .writeValueAsString(java.util.Map.of("error", error)));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      err.println("error: " + message);
    }
    err.flush();
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"timemachine " + (v == null ? "dev" : v)};
    }
  }
}
