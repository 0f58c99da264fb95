package dev.timemachine.core.contract;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Keeps a contract of a dataset with many files small enough to travel with every replay and backtest
 * (a workflow payload is bounded): files of one format under one directory that all share their
 * columns, as the shards of a partitioned dataset do, are recorded once, as a group. Pure.
 */
public final class FileSchemas {
  /** Up to this many files a contract names each one; beyond it, it groups what it can. */
  public static final int MAX_LISTED = 100;

  private FileSchemas() {}

  /**
   * {@code schemas} as they are when there are at most {@code maxListed}; else each file goes into the
   * topmost directory (the snapshot's root {@code "."} included) under which every file of its format
   * has the same columns and that holds at least two of them, and a file no such directory holds stays
   * on its own. The order is the files' order, a group where its first file was. Groups never overlap:
   * whether a directory is uniform is a property of the directory, the same for every file under it.
   */
  public static List<FileSchema> compact(List<FileSchema> schemas, int maxListed) {
    if (schemas.size() <= maxListed) {
      return schemas;
    }
    Map<String, Set<List<FileSchema.Column>>> shapes = new HashMap<>();
    Map<String, Integer> counts = new HashMap<>();
    for (FileSchema file : schemas) {
      if (file.isGroup()) {
        continue;
      }
      for (String dir : ancestors(file.path())) {
        String key = dir + "\u0000" + file.format();
        shapes.computeIfAbsent(key, k -> new HashSet<>()).add(file.columns());
        counts.merge(key, 1, Integer::sum);
      }
    }
    List<FileSchema> result = new ArrayList<>();
    Set<String> grouped = new HashSet<>();
    for (FileSchema file : schemas) {
      String group = null;
      if (!file.isGroup()) {
        for (String dir : ancestors(file.path())) {
          String key = dir + "\u0000" + file.format();
          if (shapes.get(key).size() == 1 && counts.get(key) >= 2) {
            group = dir;
            break;
          }
        }
      }
      if (group == null) {
        result.add(file);
      } else if (grouped.add(group + "\u0000" + file.format())) {
        result.add(FileSchema.group(group, file.format(), file.columns(), counts.get(group + "\u0000" + file.format())));
      }
    }
    return result;
  }

  /** The directories above {@code path}, topmost first: {@code "."}, then {@code a}, {@code a/b}, ... */
  private static List<String> ancestors(String path) {
    List<String> dirs = new ArrayList<>();
    dirs.add(".");
    int slash = path.indexOf('/');
    while (slash > 0) {
      dirs.add(path.substring(0, slash));
      slash = path.indexOf('/', slash + 1);
    }
    return dirs;
  }
}
