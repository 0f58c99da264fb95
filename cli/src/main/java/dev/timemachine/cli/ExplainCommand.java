package dev.timemachine.cli;

import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ReplayIds;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.report.ExplanationText;
import dev.timemachine.core.report.ReplayReport;
import dev.timemachine.core.evidence.ReplayStatement;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** Prints why a replay's artifacts differ, from its stored report: causes, model-aware diffs, behaviour, probes. */
@Command(name = "explain", mixinStandardHelpOptions = true,
    description = {"Prints a readable account of why a replay did not come back byte for byte: the causes (stable",
        "codes, docs/divergence-causes.md) with their evidence, a diff of every differing artifact (text and JSON",
        "diffs, MLmodel metadata, scikit-learn parameters and fitted attributes, tensors), the predictions on the",
        "probe set, and the nondeterminism probes. Reads the stored report only."})
public final class ExplainCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "REPLAY", description = "The replay id.")
  String replayId;

  @Override
  public Integer call() {
    ReplayIds.require(replayId);
    try (Components components = new Components(Config.fromEnvironment())) {
      ObjectStore store = components.store();
      String key = ReplayStatement.reportKey(replayId);
      ReplayReport report = Json.parse(store.getBytes(key), ReplayReport.class, store.uriOf(key));
      spec.commandLine().getOut().print(ExplanationText.render(report));
      spec.commandLine().getOut().flush();
      return 0;
    }
  }
}
