package dev.timemachine.core.data;

import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.OutputRule;
import dev.timemachine.core.model.OutputRules;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Collects a training's outputs from its output directory: lists it, applies the output rules
 * ({@link OutputRules#select}, the same function at registration and after a replay), and hashes
 * what they select under its recorded name. Only selected files are read.
 */
public final class OutputCollection {
  private OutputCollection() {}

  /** The outputs by recorded name, and the selection they came from (its unmatched patterns and problems). */
  public record Collected(Path directory, List<FileEntry> files, OutputRules.Selection selection) {
    public Collected {
      files = List.copyOf(files);
    }

    /** The file recorded as {@code name}, or null if no output has that name. */
    public Path fileNamed(String name) {
      String source = selection.sourceOf(name);
      return source == null ? null : directory.resolve(source);
    }

    /** Where the file recorded as {@code name} came from, relative to the output directory, or null. */
    public String sourceOf(String name) {
      return selection.sourceOf(name);
    }
  }

  public static Collected collect(Path directory, List<OutputRule> rules) {
    OutputRules.Selection selection = OutputRules.select(FileHashing.listTree(directory), rules);
    List<FileEntry> files = new ArrayList<>();
    for (OutputRules.Selected s : selection.files()) {
      files.add(FileHashing.hash(directory, s.source(), s.name()));
    }
    return new Collected(directory, files, selection);
  }
}
