package dev.timemachine.core.ports;

/**
 * Receives progress of a long step (pull, restore, training). Inside an activity it records a
 * heartbeat, which is also how cancellation reaches the adapter: the call may throw an unchecked
 * exception, and the adapter must then release what it holds (remove its container, close streams).
 */
@FunctionalInterface
public interface Progress {
  Progress NONE = message -> {};

  void report(String message);
}
