package dev.timemachine.core.grading;

import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.model.Tolerance;
import dev.timemachine.core.model.TrainingResult;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ComparisonTest {
  private static final FileEntry MODEL = new FileEntry("model.pkl", 10, "a".repeat(64));
  private static final FileEntry MODEL_CHANGED = new FileEntry("model.pkl", 10, "b".repeat(64));

  private static TrainingResult rebuilt(List<FileEntry> outputs, Map<String, Double> metrics) {
    return new TrainingResult("c", 0, false, false, 1, List.of(), outputs, metrics, null, null);
  }

  @Test
  void a_missing_artifact_is_diverged_even_if_metrics_match() {
    RecordedOutputs recorded = new RecordedOutputs(List.of(MODEL), null, Map.of("f1", 0.5), Map.of());
    Comparison c = Comparison.of(recorded, rebuilt(List.of(), Map.of("f1", 0.5)));
    assertThat(c.verdict()).isEqualTo(Verdict.DIVERGED);
    assertThat(c.reason()).contains("not rebuilt: model.pkl");
    assertThat(c.artifacts().get(0).rebuiltSha256()).isNull();
  }

  @Test
  void an_output_rule_that_was_ambiguous_in_the_rebuild_is_named_in_the_reason() {
    RecordedOutputs recorded = new RecordedOutputs(List.of(MODEL), null, Map.of(), Map.of());
    TrainingResult ambiguous =
        new TrainingResult("c", 0, false, false, 1, List.of(), List.of(), Map.of(), null, null,
            "output rule 'mlruns/**/model.pkl=model.pkl' renames one file, but its pattern matched 2", null);
    Comparison c = Comparison.of(recorded, ambiguous);
    assertThat(c.verdict()).isEqualTo(Verdict.DIVERGED);
    assertThat(c.reason()).contains("not rebuilt: model.pkl", "matched 2");
  }

  @Test
  void differing_artifacts_without_recorded_metrics_cannot_be_within_tolerance() {
    RecordedOutputs recorded = new RecordedOutputs(List.of(MODEL), null, Map.of(), Map.of());
    Comparison c = Comparison.of(recorded, rebuilt(List.of(MODEL_CHANGED), Map.of()));
    assertThat(c.verdict()).isEqualTo(Verdict.DIVERGED);
    assertThat(c.reason()).contains("no metrics were recorded");
  }

  @Test
  void a_metric_the_rebuild_did_not_report_is_outside_tolerance() {
    RecordedOutputs recorded = new RecordedOutputs(List.of(MODEL), null, Map.of("f1", 0.5), Map.of());
    Comparison c = Comparison.of(recorded, rebuilt(List.of(MODEL_CHANGED), Map.of()));
    assertThat(c.verdict()).isEqualTo(Verdict.DIVERGED);
    assertThat(c.metrics().get(0).rebuilt()).isNull();
    assertThat(c.reason()).contains("f1 (not reported)");
  }

  @Test
  void deltas_are_absolute_and_relative_to_the_recorded_value() {
    RecordedOutputs recorded =
        new RecordedOutputs(List.of(MODEL), null, Map.of("loss", 2.0), Map.of("loss", Tolerance.parse("rel:0.1")));
    Comparison c = Comparison.of(recorded, rebuilt(List.of(MODEL_CHANGED), Map.of("loss", 2.1)));
    MetricComparison m = c.metrics().get(0);
    assertThat(m.absDelta()).isCloseTo(0.1, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(m.relDelta()).isCloseTo(0.05, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(m.tolerance()).isEqualTo("rel:0.1");
    assertThat(c.verdict()).isEqualTo(Verdict.REPRODUCED_WITHIN_TOLERANCE);
  }

  @Test
  void verdict_exit_codes_match_the_cli_contract() {
    assertThat(Verdict.REPRODUCED_BITWISE.exitCode()).isZero();
    assertThat(Verdict.REPRODUCED_WITHIN_TOLERANCE.exitCode()).isZero();
    assertThat(Verdict.DIVERGED.exitCode()).isEqualTo(1);
    assertThat(Verdict.TRAINING_FAILED.exitCode()).isEqualTo(1);
    assertThat(Verdict.INPUTS_UNVERIFIABLE.exitCode()).isEqualTo(3);
  }
}
