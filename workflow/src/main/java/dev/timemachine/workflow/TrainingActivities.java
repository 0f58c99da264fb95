package dev.timemachine.workflow;

import dev.timemachine.core.model.CodeRef;
import dev.timemachine.core.model.DataRef;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.model.InputCheck;
import dev.timemachine.core.model.TrainingResult;
import dev.timemachine.core.model.TrainingSpec;
import io.temporal.activity.ActivityInterface;

/**
 * Steps that need the training host: they materialize the inputs into a work directory named by the
 * replay id, run the training container there, and clean up. Each materialize step either returns
 * its evidence or fails with {@code INPUT_UNVERIFIABLE} naming the exact file, ref or digest.
 */
@ActivityInterface
public interface TrainingActivities {
  /**
   * Returns the task queue of the host that answered: the shared training queue hands a replay to one
   * host, and every later training step goes to that host's own queue, where its work directory is.
   * The name is stable per host, so a restarted worker picks up where the killed one left off.
   */
  String hostTaskQueue();

  InputCheck checkoutCode(String replayId, CodeRef code);

  InputCheck pullImage(String replayId, ImageRef image);

  InputCheck restoreData(String replayId, DataRef data);

  /**
   * {@link #restoreData}, then the artifacts of the upstream model versions the training consumes, each
   * verified against its recorded sha256 and size (into the replay's {@code upstream/}, mounted read-only
   * at {@value dev.timemachine.core.model.UpstreamRef#MOUNT}): one data input. Called instead of
   * restoreData only for a triplet that names upstream artifacts, so every other history is unchanged.
   */
  InputCheck restoreDataAndUpstream(String replayId, DataRef data, java.util.List<dev.timemachine.core.model.UpstreamRef> upstream);

  /** Runs the entry point; a non-zero exit is a result, not a failure. */
  TrainingResult train(TrainingSpec spec);

  /**
   * Explains why the rebuilt artifacts differ from the record (since change {@code explain}): a diff per
   * differing artifact (text in the JVM; models and tensors by {@code explain.py} in the recorded image,
   * network none, read-only) and, with a recorded probe set, the two models' predictions on it. A
   * comparator that fails says so in the explanation; only an outage of the host fails the step.
   */
  dev.timemachine.core.grading.Explanation explain(ExplainSpec spec);

  /** One nondeterminism probe: trains again with one variation and compares the artifacts. */
  dev.timemachine.core.grading.Explanation.ProbeRun probe(ProbeSpec spec);

  /** Removes the replay's work directory and any container left behind; idempotent. */
  void cleanup(String replayId);
}
