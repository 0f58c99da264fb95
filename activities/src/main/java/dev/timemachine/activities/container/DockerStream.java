package dev.timemachine.activities.container;

import com.github.dockerjava.api.async.ResultCallback;
import java.io.IOException;

/**
 * A callback for a streaming Docker call that keeps its first error for the caller. docker-java's own
 * callbacks log every error at ERROR level from their stream thread; here the caller translates the
 * error once, in its own thread, into the one error model.
 */
abstract class DockerStream<T> extends ResultCallback.Adapter<T> {
  private volatile Throwable error;

  @Override
  public void onError(Throwable throwable) {
    if (error == null) {
      error = throwable;
    }
    closeQuietly();
  }

  /** The first error the stream ended with, or null. */
  Throwable error() {
    return error;
  }

  void closeQuietly() {
    try {
      close();
    } catch (IOException | RuntimeException ignored) {
      // Closing only aborts the HTTP stream; there is nothing left to release.
    }
  }
}
