package dev.timemachine.adapters.docker;

import com.github.dockerjava.api.async.ResultCallback;
import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A callback for a streaming Docker call that keeps its first error for the caller and can be waited
 * for in slices. docker-java's own {@code awaitCompletion(timeout)} closes the stream when the timeout
 * elapses (docker-java 3.7.1, {@code ResultCallbackTemplate}), so waiting a second at a time on it
 * silently cut off a pull or a log stream after its first quiet second: {@link #awaitFinished} waits
 * without closing. docker-java's callbacks also log every error at ERROR level from their stream
 * thread; here the caller translates the error once, in its own thread, into the one error model.
 */
abstract class DockerStream<T> extends ResultCallback.Adapter<T> {
  private final CountDownLatch finished = new CountDownLatch(1);
  private volatile boolean closedByCaller;
  private volatile Throwable error;

  @Override
  public void onError(Throwable throwable) {
    // Closing the stream ourselves makes its reader thread fail with an I/O error: that is not news.
    if (error == null && !closedByCaller) {
      error = throwable;
    }
    closeStream();
  }

  @Override
  public void close() throws IOException {
    try {
      super.close();
    } finally {
      finished.countDown();
    }
  }

  /**
   * Waits up to the given time for the stream to end (completed, failed or closed), leaving it open
   * when the time runs out. True if it ended.
   */
  boolean awaitFinished(long timeout, TimeUnit unit) throws InterruptedException {
    return finished.await(timeout, unit);
  }

  /** True once the stream has ended, by completion, error or close. */
  boolean finished() {
    return finished.getCount() == 0;
  }

  /** The first error the stream ended with, or null. */
  Throwable error() {
    return error;
  }

  /** Aborts the stream on the caller's behalf; an error it then raises is not kept. */
  void closeQuietly() {
    closedByCaller = true;
    closeStream();
  }

  private void closeStream() {
    try {
      close();
    } catch (IOException | RuntimeException ignored) {
      // Closing only aborts the HTTP stream; there is nothing left to release.
    }
  }
}
