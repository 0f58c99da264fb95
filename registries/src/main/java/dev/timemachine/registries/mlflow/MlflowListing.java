package dev.timemachine.registries.mlflow;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.model.Triplet;
import dev.timemachine.registries.mlflow.MlflowRegistry.VersionSummary;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Every version of every registered model, with its triplet or what is missing from it. Reads each
 * version's run and lists its outputs, but downloads nothing, so it stays quick on a big registry.
 */
final class MlflowListing {
  private static final int PAGE = 1000;

  private final MlflowHttp http;
  private final MlflowResolver resolver;

  MlflowListing(MlflowHttp http, MlflowResolver resolver) {
    this.http = http;
    this.resolver = resolver;
  }

  /** Sorted by name, then version number. */
  List<VersionSummary> versions() {
    List<VersionSummary> summaries = new ArrayList<>();
    for (MlflowApi.RegisteredModel model : registeredModels()) {
      String name = model.name();
      Map<String, List<String>> aliases = new TreeMap<>();
      for (MlflowApi.Alias alias : model.aliases()) {
        aliases.computeIfAbsent(alias.version(), v -> new ArrayList<>()).add(alias.alias());
      }
      for (MlflowApi.ModelVersionInfo version : modelVersionsOf(name)) {
        String number = version.version();
        Triplet triplet = null;
        String problem;
        try {
          new ModelRef(name, number); // a name timemachine cannot carry is a problem of this version only
          RecordedRun run = resolver.recordedRun(version);
          triplet = run.triplet();
          problem =
              resolver.listArtifacts(run.runId, run.outputsDir()).isEmpty()
                  ? "run " + run.runId + " logged no artifacts under " + run.outputsDir() + "/"
                  : null;
        } catch (TimemachineException e) {
          if (e.type() != ErrorType.INPUT_UNVERIFIABLE && e.type() != ErrorType.INVALID_INPUT) {
            throw e;
          }
          problem = e.getMessage();
        }
        summaries.add(
            new VersionSummary(name, number, aliases.getOrDefault(number, List.of()), version.runIdOrEmpty(), triplet, problem));
      }
    }
    return summaries;
  }

  private List<MlflowApi.RegisteredModel> registeredModels() {
    List<MlflowApi.RegisteredModel> models = new ArrayList<>();
    paginate("registered-models/search", Map.of(), MlflowApi.RegisteredModelsPage.class,
        page -> {
          models.addAll(page.registeredModels());
          return page.nextPageToken();
        });
    models.sort(Comparator.comparing(MlflowApi.RegisteredModel::name));
    return models;
  }

  private List<MlflowApi.ModelVersionInfo> modelVersionsOf(String name) {
    String quoted = name.contains("'") ? "\"" + name + "\"" : "'" + name + "'";
    List<MlflowApi.ModelVersionInfo> versions = new ArrayList<>();
    paginate("model-versions/search", Map.of("filter", "name=" + quoted), MlflowApi.ModelVersionsPage.class,
        page -> {
          versions.addAll(page.modelVersions());
          return page.nextPageToken();
        });
    versions.sort(Comparator.comparingLong(v -> number(v.version())));
    return versions;
  }

  private static long number(String version) {
    try {
      return Long.parseLong(version);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** Reads every page; {@code each} takes one and returns the next page's token. */
  private <T> void paginate(String endpoint, Map<String, String> filter, Class<T> type, Function<T, String> each) {
    String token = null;
    do {
      Map<String, String> query = new LinkedHashMap<>(filter);
      query.put("max_results", String.valueOf(PAGE));
      query.put("page_token", token);
      token = each.apply(http.get(endpoint, query, type));
    } while (token != null && !token.isEmpty());
  }
}
