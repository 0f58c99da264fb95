package dev.timemachine.cli;

import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.Lineage;
import dev.timemachine.core.model.ModelVersion;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code timemachine lineage encoder}: which versions a model consumes, and which consume it. */
@Command(
    name = "lineage",
    mixinStandardHelpOptions = true,
    description = {
      "Prints, for a model of the built-in registry, the upstream artifacts each of its versions consumed (register",
      "--upstream) and every version of any model that consumes one of its artifacts, with the sha256 each recorded.",
      "`backtest MODEL@VERSION --downstream` retrains the latest of those with a new version's artifact."
    })
public final class LineageCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "MODEL", description = "A model name (or name@version: its name is used).")
  String model;

  @Option(names = "--json", description = "Print {model, upstream: [...], downstream: [...]} as JSON.")
  boolean json;

  @Override
  public Integer call() {
    String name = model.contains("@") ? model.substring(0, model.lastIndexOf('@')) : model;
    try (Components components = new Components(Config.fromEnvironment())) {
      Lineage lineage = new Lineage(components.manifestRegistry().list());
      List<ModelVersion> versions = lineage.versionsOf(name);
      List<Lineage.Link> upstream = lineage.upstreamOf(name);
      List<Lineage.Link> downstream = lineage.downstreamOf(name);
      if (versions.isEmpty() && downstream.isEmpty()) {
        throw TimemachineException.notFound("no model '" + name + "' is registered in the built-in registry",
            "timemachine models list shows what is");
      }
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("model", name);
        doc.put("versions", versions.stream().map(v -> v.model().toString()).toList());
        doc.put("upstream", upstream);
        doc.put("downstream", downstream);
        doc.put("latestDownstream", lineage.latestDownstreamOf(name).keySet().stream().map(v -> v.model().toString()).toList());
        out.print(Json.toString(doc));
        out.flush();
        return 0;
      }
      out.printf("%s: %d version(s) %s%n", name, versions.size(), versions.stream().map(v -> v.model().version()).toList());
      out.printf("upstream (what %s consumes):%n", name);
      if (upstream.isEmpty()) {
        out.println("  none");
      }
      upstream.forEach(l -> out.printf("  %-20s <- %s:%s  sha256 %s  at %s%n", l.consumer(), l.upstream().model(),
          l.upstream().artifact(), l.upstream().sha256().substring(0, 12) + "…", l.upstream().containerPath()));
      out.printf("downstream (what consumes %s):%n", name);
      if (downstream.isEmpty()) {
        out.println("  none");
      }
      var latest = lineage.latestDownstreamOf(name).keySet();
      downstream.forEach(l -> out.printf("  %-20s <- %s:%s%s%n", l.consumer(), l.upstream().model(), l.upstream().artifact(),
          latest.stream().anyMatch(v -> v.model().equals(l.consumer())) ? "  (latest: backtest --downstream retrains it)" : ""));
      out.flush();
      return 0;
    }
  }
}
