package dev.timemachine.core.grading;

/**
 * The stable codes of why a replay did not come back byte for byte, as the report's {@code
 * explanation.causes} names them. The catalogue with what each means and what to do about it is
 * {@code docs/divergence-causes.md} (checked against this enum by a test); a code, once published, keeps
 * its meaning.
 */
public enum DivergenceCause {
  OUTPUT_MISSING("a recorded artifact was not rebuilt"),
  OUTPUT_EXTRA("the rebuild wrote an output the record does not list"),
  METADATA_ONLY("an artifact differs only in volatile metadata (creation times, run and model ids, tool versions)"),
  TEXT_CHANGED("a text artifact (JSON, YAML, CSV, text) differs beyond volatile metadata"),
  PARAMS_CHANGED("the fitted model's hyper-parameters (get_params) differ"),
  WEIGHTS_DRIFT_NUMERIC("the fitted arrays or tensors differ numerically"),
  STRUCTURE_CHANGED("the models differ in structure: another class, other attributes, other shapes"),
  PREDICTIONS_CHANGED("on the probe set the rebuilt model predicts differently beyond the prediction tolerance"),
  METRICS_OUTSIDE_TOLERANCE("a recorded metric came back outside its tolerance"),
  NONDETERMINISTIC_TRAINING("two trainings from the same verified inputs in the same environment differ from each other"),
  ENVIRONMENT_DRIFT("two rebuilds agree with each other but not with the original: the original was not produced by"
      + " this triplet, or the environment around it (host, engine, hardware) changed"),
  THREAD_COUNT_SENSITIVE("the result depends on the number of threads (OMP/OPENBLAS/MKL_NUM_THREADS=1 changed it)"),
  HASH_SEED_SENSITIVE("the result depends on Python's hash seed (PYTHONHASHSEED=0 changed it)"),
  CPU_COUNT_SENSITIVE("the result depends on the number of CPUs the container may use (1 CPU changed it)"),
  UNEXPLAINED_BINARY_DIFFERENCE("a binary artifact differs and no comparator could say how");

  private final String meaning;

  DivergenceCause(String meaning) {
    this.meaning = meaning;
  }

  /** One line: what the code says happened. */
  public String meaning() {
    return meaning;
  }
}
