package dev.timemachine.core.contract;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.timemachine.core.errors.TimemachineException;
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
 * <p>Or the shape of a <em>group</em> of files ({@code files} set): the {@code files} files of {@code
 * format} under the directory {@code path} ({@code "."}: the whole snapshot), all with these columns, as
 * a sharded dataset has them. {@link FileSchemas#compact} records a dataset of many files so; a
 * contract check then holds every file of that format under the directory to these columns, and needs
 * at least one to be there.
 *
 * @param format {@code csv}, {@code jsonl}, {@code parquet} or {@code other}
 * @param files null for one file at {@code path}; for a group, how many files it had when recorded
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record FileSchema(
    String path, String format, List<Column> columns, @JsonInclude(JsonInclude.Include.NON_NULL) Integer files) {
  public static final String CSV = "csv";
  public static final String JSONL = "jsonl";
  public static final String PARQUET = "parquet";
  public static final String OTHER = "other";

  public FileSchema {
    if (files == null) {
      RelativePaths.require(path, "schema file path");
    } else {
      RelativePaths.requireDirectory(path, "schema directory");
      if (files < 1) {
        throw TimemachineException.invalidInput("a group of file schemas under '" + path + "' must hold a file, not " + files);
      }
    }
    format = format == null ? OTHER : format;
    columns = columns == null ? List.of() : List.copyOf(columns);
  }

  public FileSchema(String path, String format, List<Column> columns) {
    this(path, format, columns, null);
  }

  /** A group: the files of one format under one directory that share these columns. */
  public static FileSchema group(String directory, String format, List<Column> columns, int files) {
    return new FileSchema(directory, format, columns, files);
  }

  @JsonIgnore
  public boolean isGroup() {
    return files != null;
  }

  /** Whether this group holds {@code file} (a single file's schema): of its format, under its directory. */
  public boolean covers(FileSchema file) {
    return isGroup() && !file.isGroup() && format.equals(file.format())
        && (".".equals(path) || file.path().startsWith(path + "/"));
  }

  /** How a report names it: the file's path, or for a group e.g. {@code shards/ (20000 csv files)}. */
  @JsonIgnore
  public String label() {
    return !isGroup() ? path : (".".equals(path) ? "" : path + "/ ") + "(" + files + " " + format + " files)";
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
