package dev.timemachine.core.ports;

import dev.timemachine.core.model.ImageRef;

/**
 * An image registry asked about a manifest without pulling anything (the registry API's {@code HEAD
 * /v2/<repository>/manifests/<digest>}).
 */
public interface ImageRegistry {
  /**
   * Whether the registry of {@code image.repository()} still has the manifest {@code image.digest()}:
   * false when it answers that it has none (deleted or garbage-collected). A registry that cannot be
   * reached, or refuses to say, throws {@code TimemachineException} ({@code UNAVAILABLE}, {@code
   * CONFIGURATION}): that is not a missing image.
   */
  boolean hasManifest(ImageRef image);
}
