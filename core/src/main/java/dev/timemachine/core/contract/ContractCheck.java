package dev.timemachine.core.contract;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * New data held against a model contract, before any container starts. Pure: the schemas are inferred
 * elsewhere ({@code core.data.SchemaInference}) and compared here.
 *
 * <p>A file the contract names must be there under the same path with every recorded column, each of
 * the same type; an {@code int} column where a {@code float} was recorded is accepted (integral values
 * are floats), any other change of type is a difference. Added columns and added files are reported and
 * allowed: code that selects its columns by name still runs. A contract with an MLflow signature also
 * needs every input column the signature names in some file of the new data (the difference is reported
 * under {@value MlflowSignature#LABEL}). A group of files in the contract ({@link FileSchema#isGroup})
 * holds every new file of its format under its directory to its columns, each distinct difference
 * reported once with how many files have it; a group none of whose files is left is a missing file.
 *
 * @param differences what breaks the contract, one per column or file, e.g. {@code customers.csv:
 *     column 'support_calls' missing}
 * @param additions what the new data has beyond the contract, e.g. {@code customers.csv: column 'region'
 *     added (string)}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ContractCheck(List<Difference> differences, List<String> additions) {
  public ContractCheck {
    differences = differences == null ? List.of() : List.copyOf(differences);
    additions = additions == null ? List.of() : List.copyOf(additions);
  }

  /**
   * One way the new data breaks the contract.
   *
   * @param kind {@code FILE_MISSING}, {@code COLUMN_MISSING} or {@code TYPE_CHANGED}
   * @param column the column, or null for a file
   * @param expected the recorded type, or for a missing file a candidate it may have been renamed to (or null)
   * @param actual the new type, or null
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Difference(String file, String column, String kind, String expected, String actual) {
    public static final String FILE_MISSING = "FILE_MISSING";
    public static final String COLUMN_MISSING = "COLUMN_MISSING";
    public static final String TYPE_CHANGED = "TYPE_CHANGED";

    /** The difference without its file name, e.g. {@code column 'tenure_months' int → string}. */
    @JsonIgnore
    String detail() {
      return switch (kind) {
        case FILE_MISSING -> "file missing" + (expected == null ? "" : " (renamed to '" + expected + "'? it has the same columns)");
        case COLUMN_MISSING -> "column '" + column + "' missing";
        default -> "column '" + column + "' " + expected + " → " + actual;
      };
    }

    @Override
    public String toString() {
      return file + ": " + detail();
    }
  }

  public static ContractCheck of(ModelContract contract, List<FileSchema> actual) {
    Map<String, FileSchema> byPath = new LinkedHashMap<>();
    actual.forEach(s -> byPath.put(s.path(), s));
    Set<String> contractPaths = new HashSet<>();
    List<FileSchema> groups = new ArrayList<>();
    contract.files().forEach(f -> {
      if (f.isGroup()) {
        groups.add(f);
      } else {
        contractPaths.add(f.path());
      }
    });
    List<Difference> differences = new ArrayList<>();
    List<String> additions = new ArrayList<>();
    for (FileSchema expected : contract.files()) {
      if (expected.isGroup()) {
        checkGroup(expected, actual, contractPaths, differences, additions);
        continue;
      }
      FileSchema found = byPath.get(expected.path());
      if (found == null) {
        differences.add(new Difference(expected.path(), null, Difference.FILE_MISSING,
            renamedTo(expected, actual, contractPaths, groups), null));
        continue;
      }
      compare(expected.path(), expected, found, differences, additions);
    }
    for (FileSchema s : actual) {
      if (!contractPaths.contains(s.path()) && groups.stream().noneMatch(g -> g.covers(s))) {
        additions.add(s.path() + ": file added");
      }
    }
    differences.addAll(signatureDifferences(contract, actual));
    return new ContractCheck(differences, additions);
  }

  /** One recorded file against the new one, under {@code label}. */
  private static void compare(
      String label, FileSchema expected, FileSchema found, List<Difference> differences, List<String> additions) {
    Map<String, String> foundTypes = found.typesByName();
    for (FileSchema.Column column : expected.columns()) {
      String now = foundTypes.get(column.name());
      if (now == null) {
        differences.add(new Difference(label, column.name(), Difference.COLUMN_MISSING, column.type(), null));
      } else if (!compatible(column.type(), now)) {
        differences.add(new Difference(label, column.name(), Difference.TYPE_CHANGED, column.type(), now));
      }
    }
    Map<String, String> expectedTypes = expected.typesByName();
    foundTypes.forEach((name, type) -> {
      if (!expectedTypes.containsKey(name)) {
        additions.add(label + ": column '" + name + "' added (" + type + ")");
      }
    });
  }

  /**
   * Every new file a group holds, against the group's columns; each distinct difference once, saying in
   * how many of the files and in which one first (20,000 shards that changed alike are one line, not
   * 20,000). A group none of whose files is there any more is a missing file.
   */
  private static void checkGroup(FileSchema group, List<FileSchema> actual, Set<String> contractPaths,
      List<Difference> differences, List<String> additions) {
    List<FileSchema> held = actual.stream().filter(a -> !contractPaths.contains(a.path()) && group.covers(a)).toList();
    if (held.isEmpty()) {
      differences.add(new Difference(group.label(), null, Difference.FILE_MISSING, null, null));
      return;
    }
    Map<Difference, List<String>> seen = new LinkedHashMap<>();
    Map<String, List<String>> added = new LinkedHashMap<>();
    for (FileSchema file : held) {
      List<Difference> own = new ArrayList<>();
      List<String> ownAdded = new ArrayList<>();
      compare("", group, file, own, ownAdded);
      own.forEach(d -> seen.computeIfAbsent(d, k -> new ArrayList<>()).add(file.path()));
      ownAdded.forEach(a -> added.computeIfAbsent(a, k -> new ArrayList<>()).add(file.path()));
    }
    String under = ".".equals(group.path()) ? "" : group.path() + "/ ";
    seen.forEach((d, files) -> differences.add(new Difference(
        under + "(" + files.size() + " of " + held.size() + " " + group.format() + " files, e.g. " + files.get(0) + ")",
        d.column(), d.kind(), d.expected(), d.actual())));
    added.forEach((a, files) -> additions.add(
        under + "(" + files.size() + " of " + held.size() + " " + group.format() + " files, e.g. " + files.get(0) + ")" + a));
  }

  /**
   * The inputs of the version's MLflow signature that no file of the new data has as a column (or has
   * with another type): the model could not be called on what the new data holds. Optional inputs may
   * be missing. New data in which no file has columns (no CSV, JSON lines or Parquet) is not held to it.
   */
  private static List<Difference> signatureDifferences(ModelContract contract, List<FileSchema> actual) {
    List<MlflowSignature.Input> inputs = MlflowSignature.inputs(contract.mlflowSignature());
    Map<String, String> columns = new LinkedHashMap<>();
    actual.forEach(s -> s.typesByName().forEach(columns::putIfAbsent));
    List<Difference> differences = new ArrayList<>();
    if (columns.isEmpty()) {
      return differences;
    }
    for (MlflowSignature.Input input : inputs) {
      String now = columns.get(input.name());
      if (now == null && input.required()) {
        differences.add(new Difference(MlflowSignature.LABEL, input.name(), Difference.COLUMN_MISSING, input.type(), null));
      } else if (now != null && !"any".equals(input.type()) && !compatible(input.type(), now)) {
        differences.add(new Difference(MlflowSignature.LABEL, input.name(), Difference.TYPE_CHANGED, input.type(), now));
      }
    }
    return differences;
  }

  private static boolean compatible(String recorded, String now) {
    return Objects.equals(recorded, now) || ("float".equals(recorded) && "int".equals(now));
  }

  /** A new file, in neither the contract nor one of its groups, with the same format and column names as a missing one. */
  private static String renamedTo(
      FileSchema missing, List<FileSchema> actual, Set<String> contractPaths, List<FileSchema> groups) {
    if (missing.columns().isEmpty()) {
      return null;
    }
    for (FileSchema s : actual) {
      if (!contractPaths.contains(s.path()) && groups.stream().noneMatch(g -> g.covers(s))
          && s.format().equals(missing.format()) && s.typesByName().keySet().equals(missing.typesByName().keySet())) {
        return s.path();
      }
    }
    return null;
  }

  @JsonIgnore
  public boolean satisfied() {
    return differences.isEmpty();
  }

  /**
   * The differences in one line, grouped by file: {@code customers.csv: column 'support_calls'
   * missing; column 'tenure_months' int → string}.
   */
  public String summary() {
    Map<String, List<String>> byFile = new LinkedHashMap<>();
    differences.forEach(d -> byFile.computeIfAbsent(d.file(), f -> new ArrayList<>()).add(d.detail()));
    List<String> parts = new ArrayList<>();
    byFile.forEach((file, details) -> parts.add(file + ": " + String.join("; ", details)));
    return String.join("; ", parts);
  }

  /** Every threshold {@code metrics} miss, e.g. {@code accuracy 0.81 < 0.85}. */
  public static List<String> thresholdViolations(List<MetricThreshold> thresholds, Map<String, Double> metrics) {
    List<String> violations = new ArrayList<>();
    for (MetricThreshold t : thresholds) {
      String v = t.violation(metrics);
      if (v != null) {
        violations.add(v);
      }
    }
    return violations;
  }
}
