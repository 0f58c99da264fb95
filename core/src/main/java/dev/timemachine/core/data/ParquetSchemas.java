package dev.timemachine.core.data;

import dev.timemachine.core.contract.FileSchema;
import dev.timemachine.core.errors.TimemachineException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.parquet.format.ConvertedType;
import org.apache.parquet.format.FieldRepetitionType;
import org.apache.parquet.format.FileMetaData;
import org.apache.parquet.format.LogicalType;
import org.apache.parquet.format.SchemaElement;
import org.apache.parquet.format.TimeUnit;
import org.apache.parquet.format.Util;

/**
 * The schema of a Parquet file, read from its footer alone with Apache Parquet's own Thrift structures
 * ({@code parquet-format-structures}, no Hadoop): a file ends with its footer, the footer's length (4
 * bytes, little-endian) and {@code PAR1}. No row group is read.
 *
 * <p>Types, in the contract's words: {@code INT32}/{@code INT64} (also with an integer logical type) are
 * {@code int}, {@code FLOAT}/{@code DOUBLE} {@code float}, {@code BOOLEAN} {@code bool}, byte arrays
 * annotated {@code STRING}/{@code UTF8}/{@code ENUM}/{@code JSON} {@code string}. Others keep a name
 * that says what they are: {@code decimal(10,2)}, {@code date}, {@code time[ms]}, {@code timestamp[us]},
 * {@code binary}, {@code uuid}, {@code list<string>}, {@code map<string,int>}. The fields of a nested
 * group (a struct) are flattened with dots: {@code address.city}.
 */
final class ParquetSchemas {
  static final byte[] MAGIC = "PAR1".getBytes(StandardCharsets.US_ASCII);
  static final byte[] ENCRYPTED_MAGIC = "PARE".getBytes(StandardCharsets.US_ASCII);
  /** A footer larger than this is not believed: a corrupt length would otherwise allocate gigabytes. */
  static final int MAX_FOOTER = 64 * 1024 * 1024;

  private ParquetSchemas() {}

  static FileSchema read(Path file, String path) {
    try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
      long length = in.length();
      requireLength(path, length);
      byte[] tail = new byte[8];
      in.seek(length - 8);
      in.readFully(tail);
      int footerLength = footerLength(path, tail, length);
      byte[] footer = new byte[footerLength];
      in.seek(length - 8 - footerLength);
      in.readFully(footer);
      return schema(path, footer);
    } catch (IOException e) {
      throw TimemachineException.invalidInput(path + " could not be read to infer its Parquet schema: " + e.getMessage());
    }
  }

  static FileSchema read(byte[] content, String path) {
    long length = content.length;
    requireLength(path, length);
    byte[] tail = Arrays.copyOfRange(content, content.length - 8, content.length);
    int footerLength = footerLength(path, tail, length);
    return schema(path, Arrays.copyOfRange(content, (int) (length - 8 - footerLength), (int) (length - 8)));
  }

  private static void requireLength(String path, long length) {
    if (length < 12) {
      throw unreadable(path, "it is " + length + " bytes long, shorter than the smallest Parquet file (12)");
    }
  }

  private static int footerLength(String path, byte[] tail, long fileLength) {
    byte[] magic = Arrays.copyOfRange(tail, 4, 8);
    if (Arrays.equals(magic, ENCRYPTED_MAGIC)) {
      throw unreadable(path, "its footer is encrypted (PARE), and timemachine reads no encrypted footers");
    }
    if (!Arrays.equals(magic, MAGIC)) {
      throw unreadable(path, "it does not end with PAR1 (truncated, or not Parquet)");
    }
    long footer = (tail[0] & 0xFFL) | (tail[1] & 0xFFL) << 8 | (tail[2] & 0xFFL) << 16 | (tail[3] & 0xFFL) << 24;
    if (footer <= 0 || footer > fileLength - 12 || footer > MAX_FOOTER) {
      throw unreadable(path, "its footer length " + footer + " does not fit in its " + fileLength + " bytes");
    }
    return (int) footer;
  }

  private static FileSchema schema(String path, byte[] footer) {
    FileMetaData metadata;
    try {
      metadata = Util.readFileMetaData(new ByteArrayInputStream(footer), true);
    } catch (IOException | RuntimeException e) {
      throw unreadable(path, "its footer is not valid Parquet metadata (" + firstLine(e) + ")");
    }
    List<SchemaElement> elements = metadata.getSchema();
    if (elements == null || elements.isEmpty()) {
      throw unreadable(path, "its footer holds no schema");
    }
    List<FileSchema.Column> columns = new ArrayList<>();
    int[] next = {1};
    int children = elements.get(0).isSetNum_children() ? elements.get(0).getNum_children() : 0;
    try {
      for (int i = 0; i < children; i++) {
        flatten(elements, next, "", columns);
      }
    } catch (IndexOutOfBoundsException e) {
      throw unreadable(path, "its schema names more fields than it holds");
    }
    return new FileSchema(path, FileSchema.PARQUET, columns);
  }

  /** Adds the column(s) of the element at {@code next[0]} (and its subtree), advancing past them. */
  private static void flatten(List<SchemaElement> elements, int[] next, String prefix, List<FileSchema.Column> columns) {
    int index = next[0];
    SchemaElement e = elements.get(index);
    String name = prefix + e.getName();
    if (!isGroup(e)) {
      next[0] = index + 1;
      String type = primitiveType(e);
      columns.add(new FileSchema.Column(name, repeated(e) ? "list<" + type + ">" : type));
      return;
    }
    if (isList(e) || isMap(e) || repeated(e)) {
      columns.add(new FileSchema.Column(name, typeOf(elements, next)));
      return;
    }
    next[0] = index + 1;
    for (int i = 0; i < e.getNum_children(); i++) {
      flatten(elements, next, name + ".", columns);
    }
  }

  /** The type name of the element at {@code next[0]}, nested types spelled out; advances past its subtree. */
  private static String typeOf(List<SchemaElement> elements, int[] next) {
    SchemaElement e = elements.get(next[0]);
    next[0]++;
    if (!isGroup(e)) {
      String type = primitiveType(e);
      return repeated(e) ? "list<" + type + ">" : type;
    }
    if (isList(e) && e.getNum_children() == 1) {
      // LIST: a repeated group "list" holding one "element"; older writers repeat the element itself.
      SchemaElement repeatedField = elements.get(next[0]);
      if (isGroup(repeatedField) && repeatedField.getNum_children() == 1 && !"array".equals(repeatedField.getName())
          && !repeatedField.getName().endsWith("_tuple")) {
        next[0]++;
        return "list<" + typeOf(elements, next) + ">";
      }
      String inner = typeOf(elements, next);
      return inner.startsWith("list<") ? inner : "list<" + inner + ">";
    }
    if (isMap(e) && e.getNum_children() == 1 && isGroup(elements.get(next[0])) && elements.get(next[0]).getNum_children() == 2) {
      next[0]++; // the repeated group key_value
      String key = typeOf(elements, next);
      String value = typeOf(elements, next);
      return "map<" + key + "," + value + ">";
    }
    List<String> fields = new ArrayList<>();
    for (int i = 0; i < e.getNum_children(); i++) {
      String name = elements.get(next[0]).getName();
      fields.add(name + ":" + typeOf(elements, next));
    }
    String struct = "struct<" + String.join(",", fields) + ">";
    return repeated(e) ? "list<" + struct + ">" : struct;
  }

  private static boolean isGroup(SchemaElement e) {
    return !e.isSetType() && e.isSetNum_children();
  }

  private static boolean repeated(SchemaElement e) {
    return e.getRepetition_type() == FieldRepetitionType.REPEATED;
  }

  private static boolean isList(SchemaElement e) {
    return (e.isSetLogicalType() && e.getLogicalType().isSetLIST()) || e.getConverted_type() == ConvertedType.LIST;
  }

  private static boolean isMap(SchemaElement e) {
    return (e.isSetLogicalType() && e.getLogicalType().isSetMAP())
        || e.getConverted_type() == ConvertedType.MAP || e.getConverted_type() == ConvertedType.MAP_KEY_VALUE;
  }

  /** A leaf's type in the contract's words; the logical type wins over the converted one, which wins over the physical. */
  static String primitiveType(SchemaElement e) {
    if (e.isSetLogicalType()) {
      String logical = logicalType(e.getLogicalType());
      if (logical != null) {
        return logical;
      }
    }
    if (e.isSetConverted_type()) {
      String converted = convertedType(e);
      if (converted != null) {
        return converted;
      }
    }
    return switch (e.getType()) {
      case BOOLEAN -> SchemaInference.BOOL;
      case INT32, INT64 -> SchemaInference.INT;
      case FLOAT, DOUBLE -> SchemaInference.FLOAT;
      case INT96 -> "timestamp[int96]";
      case BYTE_ARRAY -> "binary";
      case FIXED_LEN_BYTE_ARRAY -> "binary(" + e.getType_length() + ")";
    };
  }

  private static String logicalType(LogicalType t) {
    if (t.isSetSTRING() || t.isSetENUM() || t.isSetJSON()) {
      return SchemaInference.STRING;
    }
    if (t.isSetINTEGER()) {
      return SchemaInference.INT;
    }
    if (t.isSetDECIMAL()) {
      return "decimal(" + t.getDECIMAL().getPrecision() + "," + t.getDECIMAL().getScale() + ")";
    }
    if (t.isSetDATE()) {
      return "date";
    }
    if (t.isSetTIME()) {
      return "time[" + unit(t.getTIME().getUnit()) + "]";
    }
    if (t.isSetTIMESTAMP()) {
      return "timestamp[" + unit(t.getTIMESTAMP().getUnit()) + "]";
    }
    if (t.isSetUUID()) {
      return "uuid";
    }
    if (t.isSetFLOAT16()) {
      return SchemaInference.FLOAT;
    }
    if (t.isSetBSON()) {
      return "bson";
    }
    if (t.isSetUNKNOWN()) {
      return "null";
    }
    if (t.isSetVARIANT()) {
      return "variant";
    }
    if (t.isSetGEOMETRY()) {
      return "geometry";
    }
    if (t.isSetGEOGRAPHY()) {
      return "geography";
    }
    return null;
  }

  private static String convertedType(SchemaElement e) {
    return switch (e.getConverted_type()) {
      case UTF8, ENUM, JSON -> SchemaInference.STRING;
      case INT_8, INT_16, INT_32, INT_64, UINT_8, UINT_16, UINT_32, UINT_64 -> SchemaInference.INT;
      case DECIMAL -> "decimal(" + e.getPrecision() + "," + e.getScale() + ")";
      case DATE -> "date";
      case TIME_MILLIS -> "time[ms]";
      case TIME_MICROS -> "time[us]";
      case TIMESTAMP_MILLIS -> "timestamp[ms]";
      case TIMESTAMP_MICROS -> "timestamp[us]";
      case BSON -> "bson";
      case INTERVAL -> "interval";
      default -> null;
    };
  }

  private static String unit(TimeUnit unit) {
    if (unit == null) {
      return "?";
    }
    return unit.isSetMILLIS() ? "ms" : unit.isSetMICROS() ? "us" : unit.isSetNANOS() ? "ns" : "?";
  }

  private static TimemachineException unreadable(String path, String why) {
    return TimemachineException.invalidInput(
        path + " is not a readable Parquet file: " + why + "; replace it with a complete copy, or remove it from the data");
  }

  private static String firstLine(Throwable e) {
    String line = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
    return line.isBlank() ? e.getClass().getSimpleName() : line;
  }
}
