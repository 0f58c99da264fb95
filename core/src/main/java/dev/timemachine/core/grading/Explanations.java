package dev.timemachine.core.grading;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.difflib.DiffUtils;
import com.github.difflib.UnifiedDiffUtils;
import com.github.difflib.patch.Patch;
import dev.timemachine.core.grading.Explanation.ArtifactDiff;
import dev.timemachine.core.grading.Explanation.Cause;
import dev.timemachine.core.grading.Explanation.Functional;
import dev.timemachine.core.grading.Explanation.ProbeRun;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.model.TrainingResult;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The pure half of explaining a divergence: diffs of text-like artifacts (no library of the image
 * needed), the causes that follow from all the evidence, and the grade the functional comparison earns.
 * The half that must load models runs in the recorded image ({@code explain.py}, from the training host's
 * activity) and hands its findings here as {@link ArtifactDiff}s and a {@link Functional}.
 */
public final class Explanations {
  /** The most lines of a unified diff kept in a report. */
  public static final int MAX_DIFF_LINES = 200;
  /** The most characters of a unified diff kept in a report. */
  public static final int MAX_DIFF_CHARS = 16_000;
  /** Text artifacts larger than this are not diffed line by line (their hash differs; that is all). */
  public static final int MAX_TEXT_BYTES = 4 << 20;

  /**
   * Keys whose values change on every run and say nothing about the model: MLflow's {@code MLmodel}
   * ({@code utc_time_created}, {@code model_uuid}, {@code run_id}, {@code mlflow_version}) and the usual
   * timestamps and ids of metadata files.
   */
  public static final Set<String> VOLATILE_KEYS = Set.of(
      "utc_time_created", "model_uuid", "run_id", "mlflow_version", "artifact_path", "timestamp", "created",
      "created_at", "creation_time", "time_created", "date", "datetime", "generated_at", "saved_at", "start_time",
      "end_time", "hostname", "host", "uuid", "id_run", "databricks_runtime");

  private static final Set<String> TEXT_EXTENSIONS =
      Set.of("json", "yaml", "yml", "csv", "tsv", "txt", "md", "cfg", "ini", "toml", "log", "xml", "html", "jsonl");
  private static final Set<String> METADATA_NAMES = Set.of("mlmodel", "conda.yaml", "python_env.yaml", "meta.yaml",
      "metadata.json", "meta.json", "model_info.json", "version.txt");
  private static final Pattern VOLATILE_LINE =
      Pattern.compile("^(\\s*-?\\s*\"?)([A-Za-z_][A-Za-z0-9_.-]*)(\"?\\s*[:=]\\s*).*$");
  /** An ISO-8601 or similar timestamp anywhere in a line. */
  private static final Pattern TIMESTAMP =
      Pattern.compile("\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:?\\d{2})?");
  private static final Pattern UUID =
      Pattern.compile("\\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\\b");

  private Explanations() {}

  /** Whether {@code path} is compared in the JVM as text (by name), rather than in the image. */
  public static boolean textLike(String path) {
    String name = fileName(path).toLowerCase(Locale.ROOT);
    return METADATA_NAMES.contains(name) || TEXT_EXTENSIONS.contains(extension(name));
  }

  /**
   * The diff of a text-like artifact: a bounded unified diff, for JSON the changed keys, and whether it
   * differs only in volatile metadata (the volatile keys' values and timestamps/UUIDs normalised away).
   * Content that is not UTF-8 text is reported as binary.
   */
  public static ArtifactDiff textDiff(String path, byte[] original, byte[] rebuilt) {
    String kind = kindOf(path);
    if (original.length > MAX_TEXT_BYTES || rebuilt.length > MAX_TEXT_BYTES) {
      return new ArtifactDiff(path, kind, false, "too large to diff as text (" + original.length + " and "
          + rebuilt.length + " bytes)", null, null, null, null, null);
    }
    String a;
    String b;
    try {
      a = decode(original);
      b = decode(rebuilt);
    } catch (CharacterCodingException e) {
      return new ArtifactDiff(path, "binary", false, "not UTF-8 text", null, null, null, null, null);
    }
    List<String> aLines = Arrays.asList(a.split("\n", -1));
    List<String> bLines = Arrays.asList(b.split("\n", -1));
    String diff = unifiedDiff(path, aLines, bLines);
    List<String> changedKeys = null;
    boolean metadataOnly;
    if (kind.equals("json")) {
      JsonNode left = parseJson(a);
      JsonNode right = parseJson(b);
      if (left != null && right != null) {
        Set<String> keys = new TreeSet<>();
        changedPaths("", left, right, keys);
        changedKeys = List.copyOf(keys);
        metadataOnly = !keys.isEmpty() && keys.stream().allMatch(Explanations::volatilePath);
      } else {
        metadataOnly = normalise(aLines).equals(normalise(bLines));
      }
    } else {
      metadataOnly = normalise(aLines).equals(normalise(bLines));
      changedKeys = changedLineKeys(aLines, bLines);
    }
    String summary = metadataOnly
        ? "differs only in volatile metadata" + (changedKeys == null || changedKeys.isEmpty() ? "" : " (" + String.join(", ", changedKeys) + ")")
        : countChanged(aLines, bLines) + " line(s) differ";
    return new ArtifactDiff(path, metadataOnly ? "metadata" : kind, metadataOnly, summary,
        changedKeys == null || changedKeys.isEmpty() ? null : changedKeys, null, null, diff, null);
  }

  /** A bounded unified diff of two texts' lines. */
  public static String unifiedDiff(String path, List<String> original, List<String> rebuilt) {
    Patch<String> patch = DiffUtils.diff(original, rebuilt);
    List<String> lines = UnifiedDiffUtils.generateUnifiedDiff("recorded/" + path, "rebuilt/" + path, original, patch, 2);
    StringBuilder out = new StringBuilder();
    int n = 0;
    for (String line : lines) {
      if (n == MAX_DIFF_LINES || out.length() + line.length() > MAX_DIFF_CHARS) {
        out.append("... (").append(lines.size() - n).append(" more diff lines not shown)\n");
        break;
      }
      out.append(line).append('\n');
      n++;
    }
    return out.toString();
  }

  /**
   * The causes that the evidence supports, in a fixed order: what is missing or extra, then what the
   * diffs say of the artifacts, then behaviour and metrics, then what the probes found.
   */
  public static List<Cause> causes(
      RecordedOutputs recorded, TrainingResult rebuilt, Comparison comparison, List<ArtifactDiff> diffs,
      Functional functional, List<ProbeRun> probes) {
    List<Cause> causes = new ArrayList<>();
    List<String> missing = comparison.artifacts().stream().filter(a -> a.rebuiltSha256() == null)
        .map(ArtifactComparison::path).toList();
    if (!missing.isEmpty()) {
      causes.add(new Cause(DivergenceCause.OUTPUT_MISSING, missing.size() + " recorded artifact(s) not rebuilt", missing));
    }
    Set<String> recordedPaths = recorded.artifacts().stream().map(FileEntry::path).collect(Collectors.toSet());
    List<String> extra = rebuilt.outputs().stream().map(FileEntry::path).filter(p -> !recordedPaths.contains(p)).toList();
    if (!extra.isEmpty() && !recorded.outputRules().isEmpty()) {
      // With output rules a replay collects what the rules select; without them, every file is an output.
      causes.add(new Cause(DivergenceCause.OUTPUT_EXTRA, extra.size() + " output(s) not in the record", extra));
    } else if (!extra.isEmpty()) {
      causes.add(new Cause(DivergenceCause.OUTPUT_EXTRA, extra.size() + " output(s) not in the record", extra));
    }
    addFromDiffs(causes, diffs, DivergenceCause.METADATA_ONLY, d -> d.metadataOnly(), d -> d.path() + ": " + d.summary());
    addFromDiffs(causes, diffs, DivergenceCause.TEXT_CHANGED,
        d -> !d.metadataOnly() && Set.of("text", "json", "yaml", "csv").contains(d.kind()),
        d -> d.path() + ": " + d.summary());
    addFromDiffs(causes, diffs, DivergenceCause.PARAMS_CHANGED,
        d -> d.attributes() != null && d.attributes().stream().anyMatch(x -> "param".equals(x.kind())),
        d -> d.path() + ": " + d.attributes().stream().filter(x -> "param".equals(x.kind()))
            .map(x -> x.name() + (x.note() == null ? "" : " (" + x.note() + ")")).collect(Collectors.joining(", ")));
    addFromDiffs(causes, diffs, DivergenceCause.WEIGHTS_DRIFT_NUMERIC,
        d -> d.attributes() != null && d.attributes().stream().anyMatch(x -> x.maxAbs() != null && x.maxAbs() > 0),
        d -> d.path() + ": " + (d.firstDiverging() == null ? "" : "first diverging " + d.firstDiverging() + "; ")
            + d.attributes().stream().filter(x -> x.maxAbs() != null && x.maxAbs() > 0).limit(6)
                .map(x -> x.name() + " max abs " + format(x.maxAbs())).collect(Collectors.joining(", ")));
    addFromDiffs(causes, diffs, DivergenceCause.STRUCTURE_CHANGED,
        d -> d.attributes() != null && d.attributes().stream().anyMatch(x -> "structure".equals(x.kind())),
        d -> d.path() + ": " + d.attributes().stream().filter(x -> "structure".equals(x.kind()))
            .map(x -> x.name() + " (" + x.note() + ")").limit(6).collect(Collectors.joining(", ")));
    addFromDiffs(causes, diffs, DivergenceCause.UNEXPLAINED_BINARY_DIFFERENCE,
        d -> !d.metadataOnly() && (d.kind().equals("binary") || d.problem() != null),
        d -> d.path() + ": " + (d.problem() != null ? d.problem() : d.summary()));
    if (functional != null && Boolean.FALSE.equals(functional.identical())) {
      causes.add(new Cause(DivergenceCause.PREDICTIONS_CHANGED, "predictions on " + functional.probeSet() + " differ",
          List.of(describe(functional))));
    }
    List<String> outside = comparison.metrics().stream().filter(m -> !m.within())
        .map(m -> m.name() + " " + m.recorded() + " -> " + m.rebuilt() + " (" + m.tolerance() + ")").toList();
    if (!outside.isEmpty()) {
      causes.add(new Cause(DivergenceCause.METRICS_OUTSIDE_TOLERANCE, outside.size() + " metric(s) outside tolerance", outside));
    }
    causes.addAll(fromProbes(probes));
    return List.copyOf(causes);
  }

  /** What the nondeterminism probes say: {@code none} first, then the variations. */
  static List<Cause> fromProbes(List<ProbeRun> probes) {
    List<Cause> causes = new ArrayList<>();
    ProbeRun twice = probes.stream().filter(p -> p.variation().equals(Variations.NONE) && p.problem() == null)
        .findFirst().orElse(null);
    if (twice == null) {
      return causes;
    }
    boolean nondeterministic = twice.differingBetweenRuns() != null && !twice.differingBetweenRuns().isEmpty();
    if (nondeterministic) {
      causes.add(new Cause(DivergenceCause.NONDETERMINISTIC_TRAINING,
          "a second training from the same verified inputs differs from the first in "
              + String.join(", ", twice.differingBetweenRuns()),
          List.of("artifacts that differ between two rebuilds: " + String.join(", ", twice.differingBetweenRuns()))));
    } else if (twice.differingFromOriginal() != null && !twice.differingFromOriginal().isEmpty()) {
      causes.add(new Cause(DivergenceCause.ENVIRONMENT_DRIFT,
          "two rebuilds agree byte for byte with each other but not with the original",
          List.of("artifacts that differ from the original in both rebuilds: "
              + String.join(", ", twice.differingFromOriginal()))));
    }
    for (ProbeRun probe : probes) {
      DivergenceCause code = Variations.causeOf(probe.variation());
      if (code == null || probe.problem() != null) {
        continue;
      }
      boolean matchesOriginal = probe.differingFromOriginal() != null && probe.differingFromOriginal().isEmpty();
      boolean deterministicUnder = probe.runs() > 1 && probe.differingBetweenRuns() != null
          && probe.differingBetweenRuns().isEmpty();
      if (matchesOriginal) {
        causes.add(new Cause(code, "with " + Variations.describe(probe.variation()) + " the rebuild matches the original"
            + " byte for byte", List.of("probe " + probe.variation() + ": every recorded artifact identical")));
      } else if (nondeterministic && deterministicUnder) {
        causes.add(new Cause(code, "with " + Variations.describe(probe.variation()) + " two trainings agree with each"
            + " other", List.of("probe " + probe.variation() + ": " + probe.runs() + " runs identical; still differs from"
            + " the original in " + String.join(", ", probe.differingFromOriginal()))));
      }
    }
    return causes;
  }

  /**
   * The verdict once the artifacts are explained: a {@code REPRODUCED_WITHIN_TOLERANCE} (or a divergence
   * that is only metadata) becomes {@code REPRODUCED_FUNCTIONALLY} when no artifact is missing, every
   * metric is within its tolerance, and either the predictions on the probe set are identical within the
   * prediction tolerance or every differing artifact differs only in volatile metadata. Otherwise the
   * comparison's verdict stands.
   */
  public static Comparison grade(Comparison comparison, Explanation explanation) {
    Verdict verdict = comparison.verdict();
    if (explanation == null || !(verdict == Verdict.REPRODUCED_WITHIN_TOLERANCE || verdict == Verdict.DIVERGED)) {
      return comparison;
    }
    boolean missing = comparison.artifacts().stream().anyMatch(a -> a.rebuiltSha256() == null);
    boolean metricsWithin = comparison.metrics().stream().allMatch(MetricComparison::within);
    List<ArtifactComparison> differing = comparison.artifacts().stream().filter(a -> !a.identical()).toList();
    Set<String> metadataOnly = explanation.artifacts().stream().filter(ArtifactDiff::metadataOnly)
        .map(ArtifactDiff::path).collect(Collectors.toSet());
    boolean onlyMetadata = !differing.isEmpty() && differing.stream().allMatch(a -> metadataOnly.contains(a.path()));
    Functional functional = explanation.functional();
    boolean samePredictions = functional != null && Boolean.TRUE.equals(functional.identical());
    if (missing || !metricsWithin || !(onlyMetadata || samePredictions)) {
      return comparison;
    }
    String reason = differing.size() + " artifact(s) differ"
        + (onlyMetadata ? " only in volatile metadata (" + String.join(", ", metadataOnly) + ")"
            : "; on " + functional.probeSet() + " the rebuilt model predicts as the recorded one (" + describe(functional) + ")")
        + (comparison.metrics().isEmpty() ? "" : "; all " + comparison.metrics().size() + " metrics are within tolerance");
    return new Comparison(comparison.artifacts(), comparison.metrics(), Verdict.REPRODUCED_FUNCTIONALLY, reason);
  }

  /** The functional comparison in one line. */
  public static String describe(Functional f) {
    if (f.problem() != null) {
      return "not compared: " + f.problem();
    }
    StringBuilder s = new StringBuilder().append(f.rows()).append(" rows, ").append(f.task());
    if ("classifier".equals(f.task())) {
      s.append(", identical labels ").append(percent(f.labelAgreement()));
      if (f.maxProbabilityDiff() != null) {
        s.append(", max |Δp| ").append(format(f.maxProbabilityDiff()));
      }
    } else {
      s.append(", max abs diff ").append(format(f.maxAbsDiff())).append(", max rel diff ").append(format(f.maxRelDiff()));
    }
    return s.append(", tolerance ").append(format(f.tolerance())).toString();
  }

  private static String percent(Double share) {
    return share == null ? "?" : String.format(Locale.ROOT, "%.2f%%", share * 100);
  }

  static String format(Double value) {
    if (value == null) {
      return "?";
    }
    return value == 0 ? "0" : String.format(Locale.ROOT, "%.3g", value);
  }

  private static void addFromDiffs(
      List<Cause> causes, List<ArtifactDiff> diffs, DivergenceCause code,
      java.util.function.Predicate<ArtifactDiff> when, java.util.function.Function<ArtifactDiff, String> evidence) {
    List<String> found = diffs.stream().filter(when).map(evidence).toList();
    if (!found.isEmpty()) {
      causes.add(new Cause(code, code.meaning(), found));
    }
  }

  private static String kindOf(String path) {
    String name = fileName(path).toLowerCase(Locale.ROOT);
    if (name.equals("mlmodel")) {
      return "yaml";
    }
    return switch (extension(name)) {
      case "json", "jsonl" -> "json";
      case "yaml", "yml" -> "yaml";
      case "csv", "tsv" -> "csv";
      default -> "text";
    };
  }

  private static String fileName(String path) {
    int slash = path.lastIndexOf('/');
    return slash < 0 ? path : path.substring(slash + 1);
  }

  private static String extension(String name) {
    int dot = name.lastIndexOf('.');
    return dot < 0 ? "" : name.substring(dot + 1);
  }

  private static String decode(byte[] bytes) throws CharacterCodingException {
    return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes)).toString();
  }

  private static JsonNode parseJson(String text) {
    try {
      return Json.mapper().readTree(text);
    } catch (java.io.IOException | RuntimeException e) {
      return null;
    }
  }

  private static void changedPaths(String at, JsonNode a, JsonNode b, Set<String> out) {
    if (a.isObject() && b.isObject()) {
      Set<String> names = new LinkedHashSet<>();
      a.fieldNames().forEachRemaining(names::add);
      b.fieldNames().forEachRemaining(names::add);
      for (String name : names) {
        String path = at.isEmpty() ? name : at + "." + name;
        JsonNode x = a.get(name);
        JsonNode y = b.get(name);
        if (x == null || y == null) {
          out.add(path);
        } else {
          changedPaths(path, x, y, out);
        }
      }
    } else if (a.isArray() && b.isArray() && a.size() == b.size()) {
      Iterator<JsonNode> x = a.elements();
      Iterator<JsonNode> y = b.elements();
      int i = 0;
      while (x.hasNext()) {
        changedPaths(at + "[" + i++ + "]", x.next(), y.next(), out);
      }
    } else if (!a.equals(b)) {
      out.add(at.isEmpty() ? "(root)" : at);
    }
  }

  private static boolean volatilePath(String path) {
    String last = path.replaceAll("\\[\\d+]", "");
    int dot = last.lastIndexOf('.');
    return VOLATILE_KEYS.contains((dot < 0 ? last : last.substring(dot + 1)).toLowerCase(Locale.ROOT));
  }

  /** The lines with the values of volatile keys, timestamps and UUIDs replaced by placeholders. */
  static List<String> normalise(List<String> lines) {
    List<String> out = new ArrayList<>(lines.size());
    for (String line : lines) {
      Matcher m = VOLATILE_LINE.matcher(line);
      if (m.matches() && VOLATILE_KEYS.contains(m.group(2).toLowerCase(Locale.ROOT))) {
        out.add(m.group(1) + m.group(2) + m.group(3) + "<volatile>");
      } else {
        out.add(UUID.matcher(TIMESTAMP.matcher(line).replaceAll("<timestamp>")).replaceAll("<uuid>"));
      }
    }
    return out;
  }

  /** For key: value texts, the keys on lines that differ at the same position; null when lines were added or removed. */
  private static List<String> changedLineKeys(List<String> a, List<String> b) {
    if (a.size() != b.size()) {
      return null;
    }
    Set<String> keys = new TreeSet<>();
    for (int i = 0; i < a.size(); i++) {
      if (!a.get(i).equals(b.get(i))) {
        Matcher m = VOLATILE_LINE.matcher(a.get(i));
        if (!m.matches()) {
          return null;
        }
        keys.add(m.group(2));
      }
    }
    return List.copyOf(keys);
  }

  private static int countChanged(List<String> a, List<String> b) {
    Patch<String> patch = DiffUtils.diff(a, b);
    return patch.getDeltas().stream().mapToInt(d -> Math.max(d.getSource().size(), d.getTarget().size())).sum();
  }

  /** For the docs and the CLI: every code with its meaning, one per line. */
  public static Map<DivergenceCause, String> catalogue() {
    Map<DivergenceCause, String> all = new java.util.EnumMap<>(DivergenceCause.class);
    for (DivergenceCause c : DivergenceCause.values()) {
      all.put(c, c.meaning());
    }
    return all;
  }
}
