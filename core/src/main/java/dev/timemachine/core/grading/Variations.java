package dev.timemachine.core.grading;

import java.util.List;
import java.util.Map;

/**
 * The environment variations a nondeterminism probe tries one at a time, as reprotest does: the
 * thread counts of the BLAS/OpenMP libraries, Python's hash seed, and the number of CPUs.
 */
public final class Variations {
  /** The plain second training, from the same verified inputs in the same environment. */
  public static final String NONE = "none";
  public static final String THREADS = "threads=1";
  public static final String HASH_SEED = "PYTHONHASHSEED=0";
  public static final String ONE_CPU = "cpus=1";
  /** In the order they are tried, after {@link #NONE}. */
  public static final List<String> ALL = List.of(THREADS, HASH_SEED, ONE_CPU);

  private Variations() {}

  /** The environment a variation sets in the training container. */
  public static Map<String, String> environment(String variation) {
    return switch (variation) {
      case THREADS -> Map.of("OMP_NUM_THREADS", "1", "OPENBLAS_NUM_THREADS", "1", "MKL_NUM_THREADS", "1");
      case HASH_SEED -> Map.of("PYTHONHASHSEED", "0");
      default -> Map.of();
    };
  }

  /** The CPUs a variation limits the container to, or null for the replay's own limit. */
  public static Double cpus(String variation) {
    return ONE_CPU.equals(variation) ? 1.0 : null;
  }

  static DivergenceCause causeOf(String variation) {
    return switch (variation) {
      case THREADS -> DivergenceCause.THREAD_COUNT_SENSITIVE;
      case HASH_SEED -> DivergenceCause.HASH_SEED_SENSITIVE;
      case ONE_CPU -> DivergenceCause.CPU_COUNT_SENSITIVE;
      default -> null;
    };
  }

  static String describe(String variation) {
    return switch (variation) {
      case THREADS -> "OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1";
      case ONE_CPU -> "1 CPU";
      default -> variation;
    };
  }
}
