package dev.timemachine.architecture.violations.registries;

import dev.timemachine.architecture.violations.adapters.DockerAdapter;

/** A registry that depends on an adapter instead of a port. */
public final class RegistryThatUsesAnAdapter {
  public Object store() {
    return new DockerAdapter();
  }
}
