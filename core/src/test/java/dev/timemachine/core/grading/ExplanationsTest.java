package dev.timemachine.core.grading;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.grading.Explanation.ArtifactDiff;
import dev.timemachine.core.grading.Explanation.Functional;
import dev.timemachine.core.grading.Explanation.ProbeRun;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExplanationsTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void an_mlmodel_that_differs_only_in_its_creation_time_and_uuid_is_metadata_only() {
    String a = "artifact_path: model\nflavors:\n  sklearn:\n    pickled_model: model.pkl\nmodel_uuid: 1f2e3d4c5b6a47988796a5b4c3d2e1f0\n"
        + "utc_time_created: '2026-11-01 10:00:00.123456'\n";
    String c = a.replace("1f2e3d4c5b6a47988796a5b4c3d2e1f0", "aaaabbbbccccddddeeeeffff00001111").replace("10:00:00", "11:30:00");
    ArtifactDiff diff = Explanations.textDiff("model/MLmodel", b(a), b(c));
    assertThat(diff.metadataOnly()).isTrue();
    assertThat(diff.kind()).isEqualTo("metadata");
    assertThat(diff.changedKeys()).containsExactly("model_uuid", "utc_time_created");
    assertThat(diff.diff()).contains("-utc_time_created: '2026-11-01 10:00:00.123456'");
  }

  @Test
  void an_mlmodel_whose_flavor_changed_is_not_metadata_only() {
    String a = "flavors:\n  sklearn:\n    sklearn_version: 1.2.1\nutc_time_created: '2026-11-01'\n";
    String c = "flavors:\n  sklearn:\n    sklearn_version: 1.4.0\nutc_time_created: '2026-11-02'\n";
    ArtifactDiff diff = Explanations.textDiff("MLmodel", b(a), b(c));
    assertThat(diff.metadataOnly()).isFalse();
    assertThat(diff.changedKeys()).contains("sklearn_version");
  }

  @Test
  void a_json_diff_names_the_changed_keys_and_volatile_ones_alone_are_metadata() {
    ArtifactDiff metrics = Explanations.textDiff("metrics.json", b("{\"accuracy\": 0.9, \"f1\": 0.7}"),
        b("{\"accuracy\": 0.91, \"f1\": 0.7}"));
    assertThat(metrics.changedKeys()).containsExactly("accuracy");
    assertThat(metrics.metadataOnly()).isFalse();
    ArtifactDiff meta = Explanations.textDiff("meta.json", b("{\"run_id\": \"a\", \"n\": 1}"), b("{\"run_id\": \"b\", \"n\": 1}"));
    assertThat(meta.metadataOnly()).isTrue();
    assertThat(meta.changedKeys()).containsExactly("run_id");
  }

  @Test
  void a_long_diff_is_bounded() {
    StringBuilder a = new StringBuilder();
    StringBuilder c = new StringBuilder();
    for (int i = 0; i < 5000; i++) {
      a.append("line ").append(i).append('\n');
      c.append("line ").append(i * 7).append('\n');
    }
    ArtifactDiff diff = Explanations.textDiff("big.txt", b(a.toString()), b(c.toString()));
    assertThat(diff.diff().lines().count()).isLessThanOrEqualTo(Explanations.MAX_DIFF_LINES + 1);
    assertThat(diff.diff()).contains("more diff lines not shown");
  }

  private static Comparison comparison(Verdict verdict, boolean metricsWithin) {
    return new Comparison(List.of(new ArtifactComparison("model.pkl", "a", "b", false)),
        List.of(new MetricComparison("accuracy", 0.9, metricsWithin ? 0.9 : 0.8, 0.0, 0.0, "exact", metricsWithin)),
        verdict, "1 artifact(s) differ");
  }

  private static Explanation withFunctional(Boolean identical) {
    return new Explanation(List.of(), List.of(), new Functional("model.pkl", "probe.csv", 100, "classifier", 1.0, 0.0,
        null, null, 0.0, identical, null, null), List.of(), List.of());
  }

  @Test
  void identical_predictions_and_metrics_within_tolerance_grade_functionally() {
    Comparison graded = Explanations.grade(comparison(Verdict.REPRODUCED_WITHIN_TOLERANCE, true), withFunctional(true));
    assertThat(graded.verdict()).isEqualTo(Verdict.REPRODUCED_FUNCTIONALLY);
    assertThat(graded.reason()).contains("predicts as the recorded one");
  }

  @Test
  void different_predictions_or_metrics_outside_tolerance_keep_the_verdict() {
    assertThat(Explanations.grade(comparison(Verdict.REPRODUCED_WITHIN_TOLERANCE, true), withFunctional(false)).verdict())
        .isEqualTo(Verdict.REPRODUCED_WITHIN_TOLERANCE);
    assertThat(Explanations.grade(comparison(Verdict.DIVERGED, false), withFunctional(true)).verdict())
        .isEqualTo(Verdict.DIVERGED);
  }

  @Test
  void two_rebuilds_that_differ_are_nondeterministic_and_a_variation_that_makes_them_agree_is_named() {
    List<ProbeRun> probes = List.of(
        new ProbeRun(Variations.NONE, 1, List.of("model.pkl"), List.of("model.pkl"), Map.of(), null),
        new ProbeRun(Variations.THREADS, 2, List.of("model.pkl"), List.of(), Map.of(), null),
        new ProbeRun(Variations.HASH_SEED, 2, List.of("model.pkl"), List.of("model.pkl"), Map.of(), null));
    List<Explanation.Cause> causes = Explanations.fromProbes(probes);
    assertThat(causes).extracting(Explanation.Cause::code)
        .containsExactly(DivergenceCause.NONDETERMINISTIC_TRAINING, DivergenceCause.THREAD_COUNT_SENSITIVE);
  }

  @Test
  void two_rebuilds_that_agree_with_each_other_but_not_the_original_are_environment_drift() {
    List<Explanation.Cause> causes = Explanations.fromProbes(
        List.of(new ProbeRun(Variations.NONE, 1, List.of("model.pkl"), List.of(), Map.of(), null)));
    assertThat(causes).extracting(Explanation.Cause::code).containsExactly(DivergenceCause.ENVIRONMENT_DRIFT);
  }

  @Test
  void calibration_proposes_the_largest_distance_with_a_margin_in_register_syntax() {
    List<Calibration.Proposal> p = Calibration.propose(Map.of("accuracy", 0.86),
        List.of(Map.of("accuracy", 0.87), Map.of("accuracy", 0.85), Map.of("accuracy", 0.88)));
    assertThat(p).hasSize(1);
    assertThat(p.get(0).maxDistance()).isCloseTo(0.02, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(p.get(0).option()).isEqualTo("--tolerance accuracy=abs:0.03");
  }

  @Test
  void the_catalogue_documents_every_cause_code() throws Exception {
    String doc = Files.readString(Path.of("../docs/divergence-causes.md"));
    for (DivergenceCause code : DivergenceCause.values()) {
      assertThat(doc).as("docs/divergence-causes.md").contains("`" + code.name() + "`");
    }
  }
}
