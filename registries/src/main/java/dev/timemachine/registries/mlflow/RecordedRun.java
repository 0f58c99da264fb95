package dev.timemachine.registries.mlflow;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.data.Digests;
import dev.timemachine.core.model.EnvironmentRef;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.InputKind;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.model.RelativePaths;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.Tolerance;
import dev.timemachine.core.model.Triplet;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The parts of an MLflow run ({@code runs/get}) that timemachine reads, and the triplet they record.
 * Pure: no I/O, so the conventions are tested without a server. Every missing or malformed piece of
 * the triplet is collected before failing, so one error names everything there is to fix.
 */
final class RecordedRun {
  private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

  final String runId;
  final String artifactUri;
  final Map<String, String> tags;
  final Map<String, Double> metrics;
  private final List<MlflowApi.Dataset> datasets;
  /** Every dataset input, of any source type: those with a column schema become the contract's file schemas. */
  final List<MlflowApi.Dataset> allDatasets;
  private final String label;

  private RecordedRun(String runId, String artifactUri, Map<String, String> tags, Map<String, Double> metrics,
      List<MlflowApi.Dataset> datasets, List<MlflowApi.Dataset> allDatasets, String label) {
    this.runId = runId;
    this.artifactUri = artifactUri;
    this.tags = tags;
    this.metrics = metrics;
    this.datasets = datasets;
    this.allDatasets = allDatasets;
    this.label = label;
  }

  /**
   * @param run the {@code run} object of a {@code runs/get} answer
   * @param label the model version it is read for, e.g. {@code churn/3}, named in every error
   */
  static RecordedRun of(MlflowApi.Run run, String label) {
    Map<String, String> tags = new TreeMap<>();
    for (MlflowApi.KeyValue tag : run.data().tags()) {
      tags.put(tag.key(), tag.value() == null ? "" : tag.value());
    }
    Map<String, Double> metrics = new TreeMap<>();
    for (MlflowApi.Metric metric : run.data().metrics()) {
      if (metric.value() != null && Double.isFinite(metric.value())) {
        metrics.put(metric.key(), metric.value());
      }
    }
    List<MlflowApi.Dataset> datasets = new ArrayList<>();
    List<MlflowApi.Dataset> all = new ArrayList<>();
    for (MlflowApi.DatasetInput input : run.inputs().datasetInputs()) {
      if (input.dataset() != null) {
        all.add(input.dataset());
        if (MlflowTags.DATASET_SOURCE_TYPE.equals(input.dataset().sourceType())) {
          datasets.add(input.dataset());
        }
      }
    }
    String artifactUri = run.info().artifactUri();
    return new RecordedRun(run.info().id(), artifactUri == null ? "" : artifactUri, tags, metrics, datasets, List.copyOf(all), label);
  }

  private String prefix() {
    return "model version " + label + ": run " + runId + " ";
  }

  /** The recorded triplet; throws {@link InputUnverifiableException} naming every missing or malformed tag. */
  Triplet triplet() {
    Problems problems = new Problems();
    CodeRef code = code(problems);
    EnvironmentRef environment = environment(problems);
    DataRef data = data(problems);
    problems.throwIfAny();
    return new Triplet(code, environment, data);
  }

  private CodeRef code(Problems problems) {
    String repo = tags.getOrDefault(MlflowTags.GIT_REPO_URL, tags.get(MlflowTags.LEGACY_GIT_REPO_URL));
    String commit = tags.get(MlflowTags.GIT_COMMIT);
    String entry = tags.get(MlflowTags.ENTRY_POINT);
    String workingDir = tags.getOrDefault(MlflowTags.WORKING_DIR, ".");
    int before = problems.size();
    if (blank(repo)) {
      problems.missing(InputKind.CODE, MlflowTags.GIT_REPO_URL, "repo_url=...");
    }
    if (blank(commit)) {
      problems.missing(InputKind.CODE, MlflowTags.GIT_COMMIT, "commit=...");
    } else if (!COMMIT.matcher(commit).matches()) {
      problems.malformed(
          InputKind.CODE, MlflowTags.GIT_COMMIT, "'" + commit + "' is not a full 40-hex commit SHA", "commit=...");
    }
    List<String> argv = null;
    if (blank(entry)) {
      problems.missing(InputKind.CODE, MlflowTags.ENTRY_POINT, "entry_point=[...]");
    } else {
      argv = argv(entry);
      if (argv == null) {
        problems.malformed(
            InputKind.CODE, MlflowTags.ENTRY_POINT,
            "'" + entry + "' is not a JSON list of strings such as [\"python3\", \"train.py\"]", "entry_point=[...]");
      }
    }
    if (workingDir.isBlank()) {
      workingDir = ".";
    }
    try {
      RelativePaths.requireDirectory(workingDir, "working directory");
    } catch (TimemachineException e) {
      problems.malformed(InputKind.CODE, MlflowTags.WORKING_DIR, e.getMessage(), "working_dir=...");
    }
    if (problems.size() > before) {
      return null;
    }
    try {
      return new CodeRef(repo, commit, argv, workingDir, "true".equalsIgnoreCase(tags.get(MlflowTags.CODE_UNPUSHED)));
    } catch (TimemachineException e) {
      problems.add(InputKind.CODE, "records code that is not valid: " + e.getMessage(), "repo_url=..., commit=...");
      return null;
    }
  }

  private EnvironmentRef environment(Problems problems) {
    String image = tags.get(MlflowTags.IMAGE);
    if (blank(image)) {
      problems.missing(InputKind.ENVIRONMENT, MlflowTags.IMAGE, "image=...");
      return null;
    }
    try {
      return new EnvironmentRef(ImageRef.parse(image.trim()));
    } catch (TimemachineException e) {
      problems.malformed(InputKind.ENVIRONMENT, MlflowTags.IMAGE, e.getMessage(), "image=...");
      return null;
    }
  }

  private DataRef data(Problems problems) {
    Map<String, String> fromDataset = datasetFields(problems);
    int before = problems.size();
    String uri = dataField(MlflowTags.DATA_SNAPSHOT_URI, fromDataset, "snapshot_uri=...", problems);
    String digest = dataField(MlflowTags.DATA_ROOT_DIGEST, fromDataset, "root_digest=...", problems);
    String count = dataField(MlflowTags.DATA_FILE_COUNT, fromDataset, "file_count=...", problems);
    String bytes = dataField(MlflowTags.DATA_TOTAL_BYTES, fromDataset, "total_bytes=...", problems);
    if (digest != null && !Digests.isPrefixedSha256(digest)) {
      problems.malformed(InputKind.DATA, MlflowTags.DATA_ROOT_DIGEST, "'" + digest + "' is not sha256:<64 hex>", "root_digest=...");
    }
    Long fileCount = count == null ? null : nonNegative(count, MlflowTags.DATA_FILE_COUNT, "file_count=...", problems);
    Long totalBytes = bytes == null ? null : nonNegative(bytes, MlflowTags.DATA_TOTAL_BYTES, "total_bytes=...", problems);
    if (fileCount != null && fileCount > Integer.MAX_VALUE) {
      problems.malformed(InputKind.DATA, MlflowTags.DATA_FILE_COUNT, count + " files are more than timemachine supports", "file_count=...");
    }
    if (problems.size() > before) {
      return null;
    }
    try {
      return new DataRef(uri, digest, fileCount.intValue(), totalBytes, List.of());
    } catch (TimemachineException e) {
      problems.add(InputKind.DATA, "records data that is not valid: " + e.getMessage(), "snapshot_uri=..., root_digest=...");
      return null;
    }
  }

  /** The tag, or else the dataset input's field; a disagreement between the two is a problem. */
  private String dataField(String tag, Map<String, String> fromDataset, String how, Problems problems) {
    String fromTag = tags.get(tag);
    String other = fromDataset.get(tag);
    if (!blank(fromTag) && other != null && !fromTag.trim().equals(other)) {
      problems.add(
          InputKind.DATA,
          "has tag " + tag + " '" + fromTag + "' but its " + MlflowTags.DATASET_SOURCE_TYPE + " dataset input says '" + other + "'",
          how);
      return null;
    }
    String value = blank(fromTag) ? other : fromTag.trim();
    if (blank(value)) {
      problems.missing(InputKind.DATA, tag, how);
      return null;
    }
    return value;
  }

  /**
   * The snapshot fields of the run's {@value MlflowTags#DATASET_SOURCE_TYPE} dataset input, keyed by
   * the tag they stand in for; empty when there is none.
   */
  private Map<String, String> datasetFields(Problems problems) {
    Set<Map<String, String>> distinct = new LinkedHashSet<>();
    for (MlflowApi.Dataset dataset : datasets) {
      Map<String, String> fields = new LinkedHashMap<>();
      JsonNode source = parseObject(dataset.source() == null ? "" : dataset.source());
      JsonNode profile = parseObject(dataset.profile() == null ? "" : dataset.profile());
      if (source == null || profile == null) {
        problems.add(
            InputKind.DATA,
            "logged a " + MlflowTags.DATASET_SOURCE_TYPE + " dataset input '" + dataset.name()
                + "' whose source or profile is not a JSON object",
            "snapshot_uri=..., root_digest=...");
        continue;
      }
      putText(fields, MlflowTags.DATA_SNAPSHOT_URI, source.path("uri"));
      putText(fields, MlflowTags.DATA_ROOT_DIGEST, profile.path("root_digest"));
      putText(fields, MlflowTags.DATA_FILE_COUNT, profile.path("file_count"));
      putText(fields, MlflowTags.DATA_TOTAL_BYTES, profile.path("total_bytes"));
      distinct.add(fields);
    }
    if (distinct.size() > 1) {
      problems.add(
          InputKind.DATA,
          "logged " + distinct.size() + " different " + MlflowTags.DATASET_SOURCE_TYPE
              + " dataset inputs, so which snapshot it trained on is ambiguous",
          "snapshot_uri=..., root_digest=...");
      return Map.of();
    }
    return distinct.isEmpty() ? Map.of() : distinct.iterator().next();
  }

  private static void putText(Map<String, String> fields, String key, JsonNode value) {
    if (value.isTextual() || value.isNumber()) {
      fields.put(key, value.asText());
    }
  }

  private static JsonNode parseObject(String text) {
    try {
      JsonNode node = Json.mapper().readTree(text);
      return node != null && node.isObject() ? node : null;
    } catch (IOException e) {
      return null;
    }
  }

  private static Long nonNegative(String text, String tag, String how, Problems problems) {
    try {
      long value = Long.parseLong(text.trim());
      if (value >= 0) {
        return value;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    problems.malformed(InputKind.DATA, tag, "'" + text + "' is not a non-negative whole number", how);
    return null;
  }

  /** Parses a JSON argv list; null if it is not one. */
  static List<String> argv(String text) {
    try {
      JsonNode node = Json.mapper().readTree(text);
      if (node == null || !node.isArray() || node.isEmpty()) {
        return null;
      }
      List<String> argv = new ArrayList<>();
      for (JsonNode arg : node) {
        if (!arg.isTextual()) {
          return null;
        }
        argv.add(arg.asText());
      }
      return argv;
    } catch (IOException e) {
      return null;
    }
  }

  /** The artifact directory of the outputs, relative to the run's artifact root, without trailing slash. */
  String outputsDir() {
    String dir = tags.getOrDefault(MlflowTags.OUTPUTS_DIR, MlflowTags.DEFAULT_OUTPUTS_DIR).trim();
    while (dir.endsWith("/")) {
      dir = dir.substring(0, dir.length() - 1);
    }
    try {
      return RelativePaths.require(dir, "outputs directory");
    } catch (TimemachineException e) {
      throw invalid("has tag " + MlflowTags.OUTPUTS_DIR + " '" + dir + "', which is not a relative artifact path: " + e.getMessage());
    }
  }

  /** The metrics file's path inside the outputs as the tag records it: null if absent, "" for "none". */
  String metricsFileTag() {
    String file = tags.get(MlflowTags.METRICS_FILE);
    if (file == null || file.isBlank()) {
      return file == null ? null : "";
    }
    try {
      return RelativePaths.require(file.trim(), "metrics file");
    } catch (TimemachineException e) {
      throw invalid("has tag " + MlflowTags.METRICS_FILE + " '" + file + "', which is not a relative path: " + e.getMessage());
    }
  }

  /** Per-metric tolerances from {@code timemachine.tolerance.<metric>} tags. */
  Map<String, Tolerance> tolerances() {
    Map<String, Tolerance> tolerances = new TreeMap<>();
    tags.forEach(
        (key, value) -> {
          if (key.startsWith(MlflowTags.TOLERANCE_PREFIX) && key.length() > MlflowTags.TOLERANCE_PREFIX.length()) {
            try {
              tolerances.put(key.substring(MlflowTags.TOLERANCE_PREFIX.length()), Tolerance.parse(value.trim()));
            } catch (TimemachineException e) {
              throw invalid("has tag " + key + " '" + value + "', which is not a tolerance like abs:0.01,rel:0.001: " + e.getMessage());
            }
          }
        });
    return tolerances;
  }

  TimemachineException invalid(String problem) {
    return TimemachineException.invalidInput(prefix() + problem);
  }

  private static boolean blank(String value) {
    return value == null || value.isBlank();
  }

  /** Missing or malformed pieces of the triplet, each with the record_triplet argument that records it. */
  private final class Problems {
    private final List<InputKind> kinds = new ArrayList<>();
    private final List<String> texts = new ArrayList<>();
    private final Set<String> hows = new LinkedHashSet<>();

    int size() {
      return texts.size();
    }

    void missing(InputKind kind, String tag, String how) {
      add(kind, "has no tag " + tag, how);
    }

    void malformed(InputKind kind, String tag, String why, String how) {
      add(kind, "has a malformed tag " + tag + " (" + why + ")", how);
    }

    void add(InputKind kind, String text, String how) {
      kinds.add(kind);
      texts.add(text);
      hows.add(Objects.requireNonNull(how));
    }

    void throwIfAny() {
      if (texts.isEmpty()) {
        return;
      }
      String message =
          prefix() + String.join("; ", texts) + "; record " + (texts.size() == 1 ? "it" : "them") + " with "
              + MlflowTags.RECORD_CALL + "(..., " + String.join(", ", hows) + ")";
      throw new InputUnverifiableException(kinds.get(0), message);
    }
  }
}
