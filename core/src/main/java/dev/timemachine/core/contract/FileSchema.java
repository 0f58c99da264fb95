package dev.timemachine.core.contract;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.model.RelativePaths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape of one data file as a model's code reads it: its path in the snapshot, its format, and
 * for a CSV its header with each column's inferred type, for JSON lines its keys with theirs, for
 * Parquet the schema of its footer (nested fields flattened with dots). A file of another format is
 * recorded by path alone ({@code columns} empty), so its presence is still checked.
 *
 * @param format {@code csv}, {@code jsonl}, {@code parquet} or {@code other}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record FileSchema(String path, String format, List<Column> columns) {
  public static final String CSV = "csv";
  public static final String JSONL = "jsonl";
  public static final String PARQUET = "parquet";
  public static final String OTHER = "other";

  public FileSchema {
    RelativePaths.require(path, "schema file path");
    format = format == null ? OTHER : format;
    columns = columns == null ? List.of() : List.copyOf(columns);
  }

  /**
   * One column (CSV, Parquet) or key (JSON lines) and its type: {@code int}, {@code float}, {@code bool} or
   * {@code string}, or for what is none of these a name that says what it is ({@code decimal(10,2)},
   * {@code timestamp[us]}, {@code binary}, {@code list<string>}).
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Column(String name, String type) {}

  /** Columns by name, in file order. */
  public Map<String, String> typesByName() {
    Map<String, String> types = new LinkedHashMap<>();
    columns.forEach(c -> types.put(c.name(), c.type()));
    return types;
  }
}
