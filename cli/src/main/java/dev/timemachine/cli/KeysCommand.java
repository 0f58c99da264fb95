package dev.timemachine.cli;

import dev.timemachine.app.Config;
import dev.timemachine.app.SigningKeys;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code timemachine keys create [--out DIR]}: the Ed25519 key pair attestations are signed with. */
@Command(name = "keys", mixinStandardHelpOptions = true, description = "Attestation signing keys.",
    subcommands = {KeysCommand.Create.class})
public final class KeysCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (create)");
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = {"Writes a new Ed25519 key pair: timemachine-signing.key (private, mode 0600) and timemachine-signing.pub.",
          "Never overwrites. Keep the private key away from the store (see README, Evidence for auditors)."})
  static final class Create implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", description = "Directory (default $TIMEMACHINE_HOME/keys).")
    Path out;

    @Override
    public Integer call() {
      Config config = Config.fromEnvironment();
      Path dir = out != null ? out.toAbsolutePath() : SigningKeys.defaultKeyFile(config).getParent();
      SigningKeys.Created created = SigningKeys.create(dir);
      var o = spec.commandLine().getOut();
      o.printf("private key: %s (mode 0600)%n", created.keyFile());
      o.printf("public key:  %s%n", created.publicFile());
      o.printf("keyid:       %s%n", created.keyid());
      o.printf("export %s=%s%n", SigningKeys.ENV, created.keyFile());
      o.flush();
      return 0;
    }
  }
}
