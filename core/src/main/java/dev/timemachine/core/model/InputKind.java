package dev.timemachine.core.model;

/** The three recorded inputs of a training run. */
public enum InputKind {
  CODE,
  ENVIRONMENT,
  DATA
}
