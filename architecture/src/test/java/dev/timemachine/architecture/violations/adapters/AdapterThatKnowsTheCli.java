package dev.timemachine.architecture.violations.adapters;

import dev.timemachine.architecture.violations.cli.CommandThatBuildsAnAdapter;

/** An adapter that reaches back into the CLI. */
public final class AdapterThatKnowsTheCli {
  public int exitCode() {
    return new CommandThatBuildsAnAdapter().hashCode();
  }
}
