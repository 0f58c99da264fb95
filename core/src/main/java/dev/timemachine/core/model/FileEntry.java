package dev.timemachine.core.model;

import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/** One file of a snapshot or of a training output: relative path, size in bytes, SHA-256 (hex). */
@JsonIgnoreProperties(ignoreUnknown = true)
public record FileEntry(String path, long size, String sha256) {
  public FileEntry {
    RelativePaths.require(path, "file path");
    if (size < 0) {
      throw TimemachineException.invalidInput("file '" + path + "' has a negative size");
    }
    Digests.requireSha256Hex(sha256, "sha256 of '" + path + "'");
  }
}
