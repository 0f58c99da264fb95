package dev.timemachine.registries.mlflow;

/**
 * The tag names timemachine reads from an MLflow run and writes on a model version. MLflow's own tags
 * come first; {@code timemachine.*} tags record only what MLflow has no field for. docs/mlflow.md is
 * the reference, and {@code registries/src/main/python/timemachine_mlflow.py} writes them; change all three
 * together.
 */
public final class MlflowTags {
  // Code: MLflow's own tags, set automatically when a run starts in a git checkout.
  public static final String GIT_REPO_URL = "mlflow.source.git.repoURL";
  /** The pre-1.0 name of the repository tag, still read as a fallback. */
  public static final String LEGACY_GIT_REPO_URL = "mlflow.gitRepoURL";
  public static final String GIT_COMMIT = "mlflow.source.git.commit";
  /** The training command, a JSON argv list such as {@code ["python3", "train.py"]}. */
  public static final String ENTRY_POINT = "timemachine.entry_point";
  /** Where the entry point runs, relative to the repository root; {@code .} if absent. */
  public static final String WORKING_DIR = "timemachine.working_dir";
  /**
   * {@code true} when the run was recorded with {@code allow_unpushed=True}: no branch or tag of the
   * repository contained the commit then. Absent otherwise.
   */
  public static final String CODE_UNPUSHED = "timemachine.code.unpushed";

  // Environment.
  /** The image pinned by digest, {@code repository[:tag]@sha256:<64 hex>}. */
  public static final String IMAGE = "timemachine.image";

  // Data: these tags, or a dataset input of source type {@value #DATASET_SOURCE_TYPE}.
  public static final String DATA_SNAPSHOT_URI = "timemachine.data.snapshot_uri";
  public static final String DATA_ROOT_DIGEST = "timemachine.data.root_digest";
  public static final String DATA_FILE_COUNT = "timemachine.data.file_count";
  public static final String DATA_TOTAL_BYTES = "timemachine.data.total_bytes";
  /**
   * The source type of a logged dataset input that describes a snapshot: its source is {@code {"uri":
   * …}}, its profile {@code {"root_digest": …, "file_count": …, "total_bytes": …}}.
   */
  public static final String DATASET_SOURCE_TYPE = "timemachine";

  // Recorded outputs.
  /** The artifact directory holding the training's output files; {@value #DEFAULT_OUTPUTS_DIR} if absent. */
  public static final String OUTPUTS_DIR = "timemachine.outputs_dir";
  public static final String DEFAULT_OUTPUTS_DIR = "timemachine/outputs";
  /** The metrics file inside the outputs; {@code metrics.json} if absent, empty for "no metrics". */
  public static final String METRICS_FILE = "timemachine.metrics_file";
  /** Prefix of per-metric tolerances: {@code timemachine.tolerance.f1 = abs:0.01,rel:0.001}. */
  public static final String TOLERANCE_PREFIX = "timemachine.tolerance.";

  // Written back on the model version after a replay.
  public static final String VERDICT = "timemachine.verdict";
  public static final String REPORT = "timemachine.report";
  public static final String REPLAYED_AT = "timemachine.replayed_at";
  public static final String REPLAY_ID = "timemachine.replay_id";
  public static final String VERDICT_REASON = "timemachine.verdict_reason";
  public static final String REPLAY_RUN_ID = "timemachine.replay_run_id";

  // On the replay run in the experiment {@value #REPLAYS_EXPERIMENT}.
  public static final String REPLAYS_EXPERIMENT = "timemachine-replays";
  public static final String RUN_MODEL = "timemachine.model";
  public static final String RUN_VERSION = "timemachine.version";
  public static final String RUN_MODEL_SPEC = "timemachine.model_spec";
  public static final String RUN_SOURCE_RUN_ID = "timemachine.source_run_id";
  public static final String REPORT_ARTIFACT = "report.json";

  /** The helper that records these tags, named in error messages. */
  static final String RECORD_CALL = "timemachine_mlflow.record_triplet";

  private MlflowTags() {}
}
