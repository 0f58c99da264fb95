package dev.timemachine.cli;

import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ModelVersion;
import dev.timemachine.registries.mlflow.MlflowRegistry;
import dev.timemachine.app.Components;
import dev.timemachine.app.Config;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code timemachine models list}. */
@Command(name = "models", mixinStandardHelpOptions = true, description = "Lists registered model versions.",
    subcommands = {ModelsCommand.ListModels.class})
public final class ModelsCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: list");
  }

  /** Prints one line per version: name@version, commit, image digest, data root digest. */
  @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists the versions of a registry.")
  public static final class ListModels implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--registry", defaultValue = "manifest", description = "manifest (default) or mlflow")
    String registry;

    @Option(names = "--json", description = "Print the versions as a JSON array.")
    boolean json;

    @Override
    public Integer call() {
      try (Components components = new Components(Config.fromEnvironment())) {
        if (components.registries().registry(registry) instanceof MlflowRegistry mlflow) {
          return listMlflow(mlflow);
        }
        List<ModelVersion> versions = components.registries().registry(registry).list();
        var out = spec.commandLine().getOut();
        if (json) {
          out.print(Json.toString(versions.stream().map(ModelVersion::forWorkflow).toList()));
        } else if (versions.isEmpty()) {
          spec.commandLine().getErr().println("no model versions registered in " + registry);
        } else {
          out.printf("%-28s %-12s %-22s %s%n", "MODEL", "COMMIT", "IMAGE DIGEST", "DATA ROOT");
          for (ModelVersion v : versions) {
            out.printf("%-28s %-12s %-22s %s%n", (registry.equals("manifest") ? "" : registry + ":") + v.model(),
                v.triplet().code().commit().substring(0, 12),
                v.triplet().environment().image().digest().substring(0, 19) + "…",
                v.triplet().data().rootDigest().substring(0, 19) + "…");
          }
        }
        out.flush();
        return 0;
      }
    }

    /**
     * Every MLflow model version, replayable or not: a version whose run lacks part of its triplet
     * is listed with what is missing, since that is what its owner needs to know. Nothing is
     * downloaded, so this stays quick on a big registry.
     */
    private int listMlflow(MlflowRegistry mlflow) {
      List<MlflowRegistry.VersionSummary> versions = mlflow.versions();
      var out = spec.commandLine().getOut();
      if (json) {
        out.print(Json.toString(versions));
      } else if (versions.isEmpty()) {
        spec.commandLine().getErr().println("no model versions registered in MLflow at " + mlflow.trackingUri());
      } else {
        out.printf("%-36s %-12s %-12s %-22s %s%n", "MODEL", "ALIASES", "COMMIT", "IMAGE DIGEST", "DATA ROOT");
        for (MlflowRegistry.VersionSummary v : versions) {
          String model = "mlflow:" + v.name() + "/" + v.version();
          String aliases = v.aliases().isEmpty() ? "-" : String.join(",", v.aliases());
          if (v.triplet() == null || !v.replayable()) {
            out.printf("%-36s %-12s not replayable: %s%n", model, aliases, v.problem());
          } else {
            out.printf("%-36s %-12s %-12s %-22s %s%n", model, aliases,
                v.triplet().code().commit().substring(0, 12),
                v.triplet().environment().image().digest().substring(0, 19) + "…",
                v.triplet().data().rootDigest().substring(0, 19) + "…");
          }
        }
      }
      out.flush();
      return 0;
    }
  }
}
