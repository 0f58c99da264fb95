package dev.timemachine.core.model;

import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A container image pinned by digest, {@code repository@sha256:<64 hex>}. A tag alone is rejected:
 * tags move, so an image named by tag is not a recorded environment.
 */
public record ImageRef(String repository, String digest) {
  private static final String COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
  private static final Pattern REFERENCE =
      Pattern.compile(
          "^(" + COMPONENT + "(?::[0-9]+)?(?:/" + COMPONENT + ")*)"
              + "(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
              + "@(sha256:[0-9a-f]{64})$");

  public ImageRef {
    if (repository == null || repository.isBlank() || !Digests.isPrefixedSha256(digest)) {
      throw TimemachineException.invalidInput(
          "image must be pinned by digest as <repository>@sha256:<64 hex>, got '" + repository + "@" + digest + "'");
    }
  }

  /** Parses {@code repository[:tag]@sha256:<hex>}; the tag, if any, is dropped because the digest wins. */
  @JsonCreator
  public static ImageRef parse(String reference) {
    Matcher m = reference == null ? null : REFERENCE.matcher(reference);
    if (m == null || !m.matches()) {
      String why =
          reference != null && !reference.contains("@sha256:")
              ? " (a tag is not enough: tags move; push the image and record its digest, e.g. docker inspect --format '{{index .RepoDigests 0}}' IMAGE)"
              : "";
      throw TimemachineException.invalidInput(
          "image '" + reference + "' is not pinned by digest as <repository>@sha256:<64 hex>" + why);
    }
    return new ImageRef(m.group(1), m.group(2));
  }

  @JsonValue
  @Override
  public String toString() {
    return repository + "@" + digest;
  }
}
