package dev.timemachine.core.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.core.contract.FileSchema;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.ports.Progress;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Infers the schema of data files from their contents alone, the same way at registration and at
 * every backtest, so that the two can be compared: a CSV's header and each column's type, a JSON-lines
 * file's keys and theirs. Every row is read (a type that changes in the last row still counts). A
 * Parquet file's schema is read from its footer ({@link ParquetSchemas}); an unreadable one is refused
 * as invalid input naming the file.
 *
 * <p>Types, narrowest first: {@code bool} (only {@code true}/{@code false}, any case), {@code int},
 * {@code float} (ints and decimals), {@code string} (anything else). Empty cells and JSON nulls say
 * nothing about a type; a column that is empty throughout is {@code string}.
 */
public final class SchemaInference {
  public static final String BOOL = "bool";
  public static final String INT = "int";
  public static final String FLOAT = "float";
  public static final String STRING = "string";

  private static final Pattern INTEGER = Pattern.compile("[+-]?\\d+");
  private static final Pattern DECIMAL =
      Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?|[+-]?(nan|NaN|inf|Inf|infinity|Infinity)");

  private SchemaInference() {}

  /** The schemas of {@code files}, found under {@code dir}, in the order given. */
  public static List<FileSchema> inferAll(Path dir, List<FileEntry> files) {
    return inferPaths(dir, files.stream().map(FileEntry::path).toList());
  }

  /** The schemas of the files at {@code paths} (relative, with '/') under {@code dir}, in the order given. */
  public static List<FileSchema> inferPaths(Path dir, List<String> paths) {
    List<FileSchema> schemas = new ArrayList<>();
    for (String path : paths) {
      schemas.add(infer(dir.resolve(path), path));
    }
    return schemas;
  }

  /**
   * The schemas of a snapshot's files, read from a verified restore into a temporary directory that is
   * deleted afterwards. {@code data} must carry its file list.
   */
  public static List<FileSchema> ofSnapshot(Snapshots snapshots, DataRef data, Progress progress) {
    Path temp;
    try {
      temp = Files.createTempDirectory("timemachine-schema-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary directory to read a snapshot's schema", e);
    }
    try {
      snapshots.restore(data, temp, progress);
      List<FileEntry> files = data.files().isEmpty() ? snapshots.readManifest(data.snapshotUri()).files() : data.files();
      return inferAll(temp, files);
    } finally {
      Directories.deleteRecursively(temp);
    }
  }

  /** The schema of one file, by the format its name says. */
  public static FileSchema infer(Path file, String path) {
    String format = formatOf(path);
    if (FileSchema.OTHER.equals(format)) {
      return new FileSchema(path, format, List.of());
    }
    if (FileSchema.PARQUET.equals(format)) {
      return ParquetSchemas.read(file, path);
    }
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return FileSchema.CSV.equals(format) ? csv(reader, path) : jsonLines(reader, path);
    } catch (IOException e) {
      throw new UncheckedIOException("could not read " + file + " to infer its schema", e);
    }
  }

  /** The schema of a file's contents given as bytes (a Parquet file's or a text file's). */
  public static FileSchema infer(String path, byte[] content) {
    if (FileSchema.PARQUET.equals(formatOf(path))) {
      return ParquetSchemas.read(content, path);
    }
    return infer(path, new String(content, StandardCharsets.UTF_8));
  }

  /** The schema of a file's contents given as text, for tests and small files. */
  public static FileSchema infer(String path, String content) {
    String format = formatOf(path);
    if (FileSchema.PARQUET.equals(format)) {
      return ParquetSchemas.read(content.getBytes(StandardCharsets.UTF_8), path);
    }
    try (BufferedReader reader = new BufferedReader(new StringReader(content))) {
      return switch (format) {
        case FileSchema.CSV -> csv(reader, path);
        case FileSchema.JSONL -> jsonLines(reader, path);
        default -> new FileSchema(path, format, List.of());
      };
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The format a file's name says: {@code csv}, {@code jsonl}, {@code parquet} or {@code other}. */
  public static String formatOf(String path) {
    String lower = path.toLowerCase(Locale.ROOT);
    if (lower.endsWith(".csv")) {
      return FileSchema.CSV;
    }
    if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) {
      return FileSchema.JSONL;
    }
    if (lower.endsWith(".parquet")) {
      return FileSchema.PARQUET;
    }
    return FileSchema.OTHER;
  }

  private static FileSchema csv(BufferedReader reader, String path) throws IOException {
    CsvReader rows = new CsvReader(reader);
    List<String> header = rows.next();
    if (header == null) {
      return new FileSchema(path, FileSchema.CSV, List.of());
    }
    if (!header.isEmpty() && header.get(0).startsWith("\uFEFF")) {
      header.set(0, header.get(0).substring(1));
    }
    String[] types = new String[header.size()];
    for (List<String> row = rows.next(); row != null; row = rows.next()) {
      for (int i = 0; i < Math.min(row.size(), types.length); i++) {
        types[i] = widen(types[i], typeOfText(row.get(i)));
      }
    }
    List<FileSchema.Column> columns = new ArrayList<>();
    for (int i = 0; i < header.size(); i++) {
      columns.add(new FileSchema.Column(header.get(i), types[i] == null ? STRING : types[i]));
    }
    return new FileSchema(path, FileSchema.CSV, columns);
  }

  private static FileSchema jsonLines(BufferedReader reader, String path) throws IOException {
    Map<String, String> types = new LinkedHashMap<>();
    int lineNumber = 0;
    for (String line = reader.readLine(); line != null; line = reader.readLine()) {
      lineNumber++;
      if (line.isBlank()) {
        continue;
      }
      JsonNode node;
      try {
        node = Json.mapper().readTree(line);
      } catch (IOException e) {
        throw TimemachineException.invalidInput(path + " line " + lineNumber + " is not JSON: " + firstLine(e.getMessage()));
      }
      if (node == null || !node.isObject()) {
        throw TimemachineException.invalidInput(path + " line " + lineNumber + " is not a JSON object");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        types.merge(field.getKey(), nullToEmpty(typeOfJson(field.getValue())), (a, b) -> nullToEmpty(widen(emptyToNull(a), emptyToNull(b))));
      }
    }
    List<FileSchema.Column> columns = new ArrayList<>();
    types.forEach((name, type) -> columns.add(new FileSchema.Column(name, type.isEmpty() ? STRING : type)));
    return new FileSchema(path, FileSchema.JSONL, columns);
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  private static String firstLine(String s) {
    return s == null ? "" : s.lines().findFirst().orElse("");
  }

  /** The type a CSV cell shows, or null for an empty cell. */
  static String typeOfText(String cell) {
    String v = cell.strip();
    if (v.isEmpty()) {
      return null;
    }
    if (v.equalsIgnoreCase("true") || v.equalsIgnoreCase("false")) {
      return BOOL;
    }
    if (INTEGER.matcher(v).matches()) {
      return INT;
    }
    if (DECIMAL.matcher(v).matches()) {
      return FLOAT;
    }
    return STRING;
  }

  private static String typeOfJson(JsonNode v) {
    if (v == null || v.isNull()) {
      return null;
    }
    if (v.isBoolean()) {
      return BOOL;
    }
    if (v.isIntegralNumber()) {
      return INT;
    }
    if (v.isNumber()) {
      return FLOAT;
    }
    if (v.isObject()) {
      return "object";
    }
    if (v.isArray()) {
      return "array";
    }
    return STRING;
  }

  /** The narrowest type holding both; null means "no value seen yet". */
  static String widen(String a, String b) {
    if (a == null) {
      return b;
    }
    if (b == null || a.equals(b)) {
      return a;
    }
    if ((INT.equals(a) && FLOAT.equals(b)) || (FLOAT.equals(a) && INT.equals(b))) {
      return FLOAT;
    }
    return STRING;
  }

  /** RFC 4180 rows: quoted fields may hold commas, doubled quotes and line breaks. */
  private static final class CsvReader {
    private final Reader in;
    private boolean eof;

    CsvReader(Reader in) {
      this.in = in;
    }

    List<String> next() throws IOException {
      if (eof) {
        return null;
      }
      List<String> row = new ArrayList<>();
      StringBuilder field = new StringBuilder();
      boolean quoted = false;
      boolean any = false;
      while (true) {
        int c = in.read();
        if (c == -1) {
          eof = true;
          if (!any && row.isEmpty()) {
            return null;
          }
          row.add(field.toString());
          return row;
        }
        any = true;
        if (quoted) {
          if (c == '"') {
            in.mark(1);
            int d = in.read();
            if (d == '"') {
              field.append('"');
            } else {
              quoted = false;
              if (d != -1) {
                in.reset();
              }
            }
          } else {
            field.append((char) c);
          }
        } else if (c == '"') {
          quoted = true;
        } else if (c == ',') {
          row.add(field.toString());
          field.setLength(0);
        } else if (c == '\n') {
          row.add(stripCr(field));
          return row;
        } else {
          field.append((char) c);
        }
      }
    }

    private static String stripCr(StringBuilder field) {
      int n = field.length();
      return n > 0 && field.charAt(n - 1) == '\r' ? field.substring(0, n - 1) : field.toString();
    }
  }
}
