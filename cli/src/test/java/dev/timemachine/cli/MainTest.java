package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {
  @Test
  void aNamedSubcommandIsTheOnlyOneBuilt() {
    CommandLine cli = Main.newCommandLine(new String[] {"models", "list"});

    assertThat(cli.getSubcommands().keySet()).containsExactly("models");
  }

  @Test
  void withoutASubcommandTheWholeTreeIsBuiltInHelpOrder() {
    List<String> all = List.copyOf(Main.newCommandLine().getSubcommands().keySet());

    assertThat(all).hasSize(Main.COMMANDS.size()).startsWith("demo", "replay").endsWith("gc", "help");
    for (String[] args : List.of(new String[0], new String[] {"--help"}, new String[] {"help", "replay"},
        new String[] {"replya", "churn@1"})) {
      assertThat(Main.newCommandLine(args).getSubcommands().keySet()).as(String.join(" ", args)).containsExactlyElementsOf(all);
    }
  }

  @Test
  void aSubcommandBuiltAloneHelpsAndRefusesAsInTheWholeTree() {
    assertThat(usage(Main.newCommandLine(new String[] {"replay"}).getSubcommands().get("replay")))
        .isEqualTo(usage(Main.newCommandLine().getSubcommands().get("replay")))
        .contains("Usage: timemachine replay");

    assertThat(run("replay", "--no-such-option")).isEqualTo(run(Main.newCommandLine(), "replay", "--no-such-option"))
        .contains("Missing required parameter: 'MODEL'", "see `timemachine replay --help`");
  }

  private static String usage(CommandLine command) {
    StringWriter text = new StringWriter();
    command.usage(new PrintWriter(text));
    return text.toString();
  }

  private static String run(String... args) {
    return run(Main.newCommandLine(args), args);
  }

  private static String run(CommandLine cli, String... args) {
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err));
    assertThat(cli.execute(args)).isEqualTo(2);
    return err.toString();
  }
}
