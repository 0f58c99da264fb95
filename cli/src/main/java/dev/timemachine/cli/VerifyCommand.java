package dev.timemachine.cli;

import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.evidence.Ed25519Keys;
import dev.timemachine.core.evidence.ReplayStatement;
import dev.timemachine.core.evidence.Verification;
import dev.timemachine.core.model.ReplayIds;
import dev.timemachine.core.ports.ObjectStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code timemachine verify <replayId | report URI | attestation file> [--key PUB]}. */
@Command(name = "verify", mixinStandardHelpOptions = true,
    description = {"Checks a replay's evidence: the attestation's signature, the statement against the report field by field,",
        "the stored rebuilt outputs, log and report against their attested sha256, and the model version's history chain.",
        "Prints one line per check; exits 0 only if all pass, else 1 naming the first failing check and field."})
public final class VerifyCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "REPLAY", description = "A replay id, a report URI (…/reports/<id>.json) or an attestation file.")
  String target;

  @Option(names = "--key", paramLabel = "PUB",
      description = "The public key (PEM) to verify with. Without it, the store's keys/<keyid>.pub, which only proves that whoever can write the store signed.")
  Path key;

  @Override
  public Integer call() throws IOException {
    Config config = Config.fromEnvironment();
    PublicKey trusted = key == null ? null : Ed25519Keys.publicFromPem(Files.readString(key, StandardCharsets.US_ASCII), key.toString());
    try (Components components = new Components(config)) {
      ObjectStore store;
      byte[] envelope;
      String source;
      Path file = Path.of(target);
      if (!target.contains("://") && Files.isRegularFile(file)) {
        store = components.store();
        envelope = Files.readAllBytes(file);
        source = file.toString();
      } else if (target.contains("://")) {
        int at = target.lastIndexOf("/reports/");
        if (at < 0 || !target.endsWith(".json")) {
          throw TimemachineException.invalidInput("a report URI ends in /reports/<replayId>.json, got " + target);
        }
        String name = target.substring(at + "/reports/".length());
        String replayId = ReplayIds.require(name.replaceFirst("(\\.intoto)?\\.json$", ""));
        store = components.openStore(target.substring(0, at));
        source = store.uriOf(ReplayStatement.attestationKey(replayId));
        envelope = store.getBytes(ReplayStatement.attestationKey(replayId));
      } else {
        String replayId = ReplayIds.require(target);
        store = components.store();
        source = store.uriOf(ReplayStatement.attestationKey(replayId));
        envelope = store.getBytes(ReplayStatement.attestationKey(replayId));
      }
      var out = spec.commandLine().getOut();
      out.printf("attestation: %s%n", source);
      Verification.Result result = Verification.verify(envelope, store, trusted);
      for (Verification.Check check : result.checks()) {
        out.printf("%-4s %-14s %s%s%n", check.passed() ? "ok" : "FAIL", check.name(),
            check.field() == null ? "" : check.field() + ": ", check.detail());
      }
      Verification.Check failure = result.firstFailure();
      if (failure == null) {
        out.printf("verified: replay %s, every check passed%n", result.replayId());
        out.flush();
        return 0;
      }
      out.printf("NOT VERIFIED: first failing check '%s', field %s%n", failure.name(), failure.field());
      out.flush();
      return 1;
    }
  }
}
