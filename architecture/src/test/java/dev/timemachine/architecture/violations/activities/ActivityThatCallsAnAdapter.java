package dev.timemachine.architecture.violations.activities;

import dev.timemachine.architecture.violations.adapters.DockerAdapter;

/** An activity that builds an adapter instead of taking a port. */
public final class ActivityThatCallsAnAdapter {
  public Object train() {
    return new DockerAdapter();
  }
}
