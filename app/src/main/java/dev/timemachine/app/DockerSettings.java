package dev.timemachine.app;

/** The Docker engine training runs on: {@code unix:///path} or {@code tcp://host:port}. */
public record DockerSettings(String host) {
  public static final String DEFAULT_HOST = "unix:///var/run/docker.sock";
}
