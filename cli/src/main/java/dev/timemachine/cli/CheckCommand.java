package dev.timemachine.cli;

import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.app.SigningKeys;
import dev.timemachine.core.check.Preflight;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.fleet.Selection;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code timemachine check <spec | selector> [--deep]}: whether each version can still be replayed,
 * without checking out, pulling or training anything.
 */
@Command(name = "check", mixinStandardHelpOptions = true,
    description = {"Checks, without training, that every recorded input of each version can still be had: the commit is in a",
        "branch or tag of its repository, the image manifest is in its registry by digest, the snapshot manifest and every",
        "object are in the store with their recorded sizes (--deep: re-hashed); and that the store and signing key are reachable.",
        "Exits 3 when an input is gone, 4 when a service did not answer (no verdict either way), else 0."})
public final class CheckCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "SPEC|SELECTOR", description = "a version (churn@3, mlflow:churn/3) or " + FleetCommand.SELECTOR_HELP)
  String target;

  @Option(names = "--deep", description = "Also read and re-hash every data file (reads the whole snapshot).")
  boolean deep;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    try (Components components = new Components(Config.fromEnvironment())) {
      List<Preflight.Item> shared = new ArrayList<>();
      shared.add(store(components));
      shared.add(signingKey(components));
      Selection selection = components.fleetCatalog().select(target);
      Preflight preflight = components.preflight();
      List<Preflight.Result> results = new ArrayList<>();
      for (String version : selection.specs()) {
        results.add(preflight.check(version, deep, message -> {}));
      }
      out.printf("%-28s %-12s %-12s %s%n", "version", "input", "status", "detail");
      for (Preflight.Item item : shared) {
        out.printf("%-28s %-12s %-12s %s%n", "(all)", item.input(), item.status(), item.detail());
      }
      for (Preflight.Result result : results) {
        for (Preflight.Item item : result.items()) {
          out.printf("%-28s %-12s %-12s %s%n", result.spec(), item.input(), item.status(), item.detail());
        }
      }
      for (Selection.Excluded excluded : selection.excluded()) {
        out.printf("%-28s %-12s %-12s %s%n", excluded.spec(), "registry", "MISSING", excluded.reason());
      }
      long gone = results.stream().filter(Preflight.Result::missing).count() + selection.excluded().size();
      boolean unreachable = results.stream().anyMatch(Preflight.Result::unreachable)
          || shared.stream().anyMatch(i -> i.status() != Preflight.Status.OK);
      out.printf("%d version%s checked: %d replayable, %d with inputs gone%s%n", results.size() + selection.excluded().size(),
          results.size() + selection.excluded().size() == 1 ? "" : "s",
          results.stream().filter(r -> !r.missing() && !r.unreachable()).count(), gone,
          unreachable ? ", some services did not answer (see UNREACHABLE)" : "");
      out.flush();
      if (gone > 0) {
        return 3;
      }
      return unreachable ? 4 : 0;
    }
  }

  private static Preflight.Item store(Components components) {
    try {
      components.store().list("keys/");
      return new Preflight.Item("store", Preflight.Status.OK, components.store().rootUri() + " answers");
    } catch (TimemachineException e) {
      return new Preflight.Item("store", Preflight.Status.UNREACHABLE, e.getMessage());
    }
  }

  /** The configured key (TIMEMACHINE_SIGNING_KEY), else the default one if it exists: does it load? */
  private static Preflight.Item signingKey(Components components) {
    Config config = components.config();
    String configured = config.worker().signingKey();
    boolean hasDefault = java.nio.file.Files.exists(SigningKeys.defaultKeyFile(config));
    if ((configured == null || configured.isBlank()) && !hasDefault) {
      return new Preflight.Item("signing", Preflight.Status.OK,
          "no key configured (" + SigningKeys.ENV + "); a local replay creates " + SigningKeys.defaultKeyFile(config));
    }
    try {
      var signer = SigningKeys.resolve(config, configured == null || configured.isBlank() ? SigningKeys.Mode.CREATE_DEFAULT : SigningKeys.Mode.REQUIRE);
      return new Preflight.Item("signing", Preflight.Status.OK, "signing key " + signer.keyid() + " loads");
    } catch (TimemachineException e) {
      return new Preflight.Item("signing", Preflight.Status.UNREACHABLE, e.getMessage());
    }
  }
}
