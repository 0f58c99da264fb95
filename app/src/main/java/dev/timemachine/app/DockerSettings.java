package dev.timemachine.app;

/**
 * The Docker engine training runs on, and how much of a pulled image is checked.
 *
 * @param host {@code unix:///path} or {@code tcp://host:port}
 * @param imageCheck {@code TIMEMACHINE_IMAGE_CHECK}: {@code manifest} (default; the engine's image id
 *     against the configuration digest the recorded manifest names, the manifest cached on the host) or
 *     {@code layers} (that, and every layer exported from the engine and hashed against the
 *     configuration's {@code diff_ids}, at every replay)
 */
public record DockerSettings(String host, String imageCheck) {
  public static final String DEFAULT_HOST = "unix:///var/run/docker.sock";

  public DockerSettings(String host) {
    this(host, "manifest");
  }

  public boolean checksLayers() {
    return "layers".equals(imageCheck);
  }
}
