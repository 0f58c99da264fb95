package dev.timemachine.core.ports;

import dev.timemachine.core.model.ImageRef;

/**
 * An image registry asked about a manifest without pulling anything (the registry API's {@code HEAD}
 * and {@code GET /v2/<repository>/manifests/<digest>}).
 */
public interface ImageRegistry {
  /**
   * Whether the registry of {@code image.repository()} still has the manifest {@code image.digest()}:
   * false when it answers that it has none (deleted or garbage-collected). A registry that cannot be
   * reached, or refuses to say, throws {@code TimemachineException} ({@code UNAVAILABLE}, {@code
   * CONFIGURATION}): that is not a missing image.
   */
  boolean hasManifest(ImageRef image);

  /**
   * The manifest {@code image.digest()} of {@code image.repository()} as the registry stores it (an
   * image manifest or an index), or empty when the registry answers that it has none. The bytes are
   * returned as received: whether they hash to the digest is for the caller to check. Errors as {@link
   * #hasManifest}.
   */
  java.util.Optional<byte[]> manifest(ImageRef image);
}
