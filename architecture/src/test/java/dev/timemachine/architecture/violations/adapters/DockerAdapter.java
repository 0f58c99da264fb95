package dev.timemachine.architecture.violations.adapters;

/** Stands for a real adapter in the mirror of the rooms. */
public final class DockerAdapter {}
