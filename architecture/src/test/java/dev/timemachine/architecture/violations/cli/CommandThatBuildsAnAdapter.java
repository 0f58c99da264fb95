package dev.timemachine.architecture.violations.cli;

import dev.timemachine.architecture.violations.adapters.DockerAdapter;

/** A command that builds an adapter itself instead of asking app for it. */
public final class CommandThatBuildsAnAdapter {
  public Object engine() {
    return new DockerAdapter();
  }
}
