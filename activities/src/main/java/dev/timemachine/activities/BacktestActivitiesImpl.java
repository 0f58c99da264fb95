package dev.timemachine.activities;

import dev.timemachine.core.contract.ContractCheck;
import dev.timemachine.core.contract.FileSchema;
import dev.timemachine.core.contract.ModelContract;
import dev.timemachine.core.data.SchemaInference;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ReplayIds;
import dev.timemachine.core.ports.ObjectStore;
import dev.timemachine.core.report.BacktestReport;
import dev.timemachine.workflow.BacktestActivities;
import dev.timemachine.workflow.Failures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * The backtest's own steps, thin: schemas come from {@code core.data.SchemaInference} over the files
 * {@code restoreData} verified into {@code <workRoot>/<runId>/data/}, the check from {@code core.contract}.
 */
public final class BacktestActivitiesImpl implements BacktestActivities {
  private final ObjectStore reports;
  private final Path workRoot;

  /**
   * @param reports the store reports are written to, under {@code backtests/<backtestId>.json}
   * @param workRoot the training host's work directory, the same as {@link TrainingActivitiesImpl}'s
   */
  public BacktestActivitiesImpl(ObjectStore reports, Path workRoot) {
    this.reports = reports;
    this.workRoot = workRoot.toAbsolutePath().normalize();
  }

  public static String reportKey(String backtestId) {
    return "backtests/" + ReplayIds.require(backtestId) + ".json";
  }

  @Override
  public ContractCheck checkContract(String runId, ModelContract contract) {
    return Failures.call("the training host's work directory", () -> ContractCheck.of(contract, schemas(runId)));
  }

  @Override
  public ModelContract inferContract(String runId) {
    return Failures.call("the training host's work directory", () -> new ModelContract(
        dev.timemachine.core.contract.FileSchemas.compact(schemas(runId), dev.timemachine.core.contract.FileSchemas.MAX_LISTED),
        List.of()));
  }

  private List<FileSchema> schemas(String runId) {
    Path data = workRoot.resolve(ReplayIds.require(runId)).resolve("data");
    if (!Files.isDirectory(data)) {
      throw TimemachineException.unavailable("the data of " + runId + " is not in " + workRoot + " on this host", null);
    }
    try (Stream<Path> walk = Files.walk(data)) {
      List<String> paths =
          walk.filter(Files::isRegularFile).map(p -> data.relativize(p).toString().replace('\\', '/')).sorted().toList();
      return SchemaInference.inferPaths(data, paths);
    } catch (IOException e) {
      throw new UncheckedIOException("could not list " + data, e);
    }
  }

  @Override
  public String writeBacktestReport(BacktestReport report) {
    return writeOnce(report.backtestId(), Json.toBytes(report));
  }

  @Override
  public String writeDownstreamReport(dev.timemachine.core.report.DownstreamReport report) {
    return writeOnce(report.id(), Json.toBytes(report));
  }

  /** Writes {@code backtests/<id>.json} once; an identical retry is a no-op, a different one a conflict. */
  private String writeOnce(String id, byte[] content) {
    return Failures.call("the object store",
        () -> {
          String key = reportKey(id);
          if (!reports.putIfAbsent(key, content) && !Arrays.equals(reports.getBytes(key), content)) {
            throw TimemachineException.conflict(
                "a different backtest report already exists at " + reports.uriOf(key),
                "reports are immutable; backtest again under a new id");
          }
          return reports.uriOf(key);
        });
  }
}
