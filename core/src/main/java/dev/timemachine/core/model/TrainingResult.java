package dev.timemachine.core.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;
import java.util.Map;

/**
 * What a training container did: its exit code (or that it timed out or ran out of memory), the tail
 * of its log, every file it wrote to the output directory with its hash, the metrics it reported, and
 * where the rebuilt outputs were kept as evidence.
 *
 * @param metricsProblem why the metrics file could not be read, or null
 * @param log the whole log as stored, or null (results recorded before logs were kept)
 * @param outputsProblem why the recorded output rules did not select the rebuilt outputs unambiguously, or null
 * @param sandboxNote why the sandbox is the likely cause of a failure (an output limit, a write to the
 *     read-only root file system), naming the setting and what relaxes it; or null
 * @param refusedOutputs entries of the output directory that were refused or noted, each by name (a
 *     link, a special file, a hard link to elsewhere, a name no report can hold, a cap); empty in
 *     results from before outputs were vetted
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record TrainingResult(
    String containerName,
    long exitCode,
    boolean timedOut,
    boolean oomKilled,
    long durationMs,
    List<String> logTail,
    List<FileEntry> outputs,
    Map<String, Double> metrics,
    String metricsProblem,
    String outputsUri,
    String outputsProblem,
    TrainingLog log,
    String sandboxNote,
    List<String> refusedOutputs) {
  public TrainingResult(
      String containerName, long exitCode, boolean timedOut, boolean oomKilled, long durationMs, List<String> logTail,
      List<FileEntry> outputs, Map<String, Double> metrics, String metricsProblem, String outputsUri) {
    this(containerName, exitCode, timedOut, oomKilled, durationMs, logTail, outputs, metrics, metricsProblem, outputsUri,
        null, null);
  }

  public TrainingResult(
      String containerName, long exitCode, boolean timedOut, boolean oomKilled, long durationMs, List<String> logTail,
      List<FileEntry> outputs, Map<String, Double> metrics, String metricsProblem, String outputsUri, String outputsProblem,
      TrainingLog log) {
    this(containerName, exitCode, timedOut, oomKilled, durationMs, logTail, outputs, metrics, metricsProblem, outputsUri,
        outputsProblem, log, null, List.of());
  }

  public TrainingResult {
    logTail = logTail == null ? List.of() : List.copyOf(logTail);
    outputs = outputs == null ? List.of() : List.copyOf(outputs);
    metrics = metrics == null ? Map.of() : Map.copyOf(metrics);
    refusedOutputs = refusedOutputs == null ? List.of() : List.copyOf(refusedOutputs);
  }

  public boolean succeeded() {
    return exitCode == 0 && !timedOut && !oomKilled;
  }

  /** One sentence on why training failed, for the report and the CLI. */
  public String failureSummary() {
    if (timedOut) {
      return "training timed out after " + durationMs / 1000 + " s and its container was removed";
    }
    if (oomKilled) {
      return "training ran out of memory (exit " + exitCode + ", OOM-killed)";
    }
    String exited = "training entry point exited with code " + exitCode;
    return sandboxNote == null ? exited : exited + ": " + sandboxNote;
  }
}
