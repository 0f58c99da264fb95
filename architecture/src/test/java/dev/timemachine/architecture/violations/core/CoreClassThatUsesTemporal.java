package dev.timemachine.architecture.violations.core;

import io.temporal.workflow.Workflow;
import java.net.URL;

/** Breaks three rules at once: Temporal in the core, a network type in the core, the environment read outside app. */
public final class CoreClassThatUsesTemporal {
  public long now() throws Exception {
    new URL("http://127.0.0.1:1/").openConnection();
    return System.getenv("HOME") == null ? 0 : Workflow.currentTimeMillis();
  }
}
