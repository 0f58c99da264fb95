package dev.timemachine.core.grading;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.grading.Explanation.Functional;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PredictionsTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void labels_and_probabilities_are_compared_within_the_tolerance() {
    Functional f = Predictions.compare("m", "p.csv", b("{\"labels\":[0,1,1,0],\"probabilities\":[[0.9,0.1],[0.2,0.8],[0.4,0.6],[1,0]]}"),
        b("{\"labels\":[0,1,0,0],\"probabilities\":[[0.9,0.1],[0.2,0.8],[0.55,0.45],[1,0]]}"), 0.2);
    assertThat(f.task()).isEqualTo("classifier");
    assertThat(f.labelAgreement()).isEqualTo(0.75);
    assertThat(f.maxProbabilityDiff()).isCloseTo(0.15, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(f.identical()).as("a changed label is never the same prediction").isFalse();
  }

  @Test
  void regressions_within_the_tolerance_are_identical() {
    Functional f = Predictions.compare("m", "p.csv", b("{\"predictions\":[1.0,2.0]}"), b("{\"predictions\":[1.0,2.0000001]}"), 1e-6);
    assertThat(f.task()).isEqualTo("regressor");
    assertThat(f.identical()).isTrue();
    assertThat(Predictions.compare("m", "p.csv", b("{\"predictions\":[1.0,2.0]}"), b("{\"predictions\":[1.0,2.1]}"), 1e-6)
        .identical()).isFalse();
  }

  @Test
  void mismatched_or_unknown_shapes_are_a_problem_not_a_verdict() {
    assertThat(Predictions.compare("m", "p.csv", b("{\"labels\":[1]}"), b("{\"labels\":[1,0]}"), 0).problem()).contains("labels");
    assertThat(Predictions.compare("m", "p.csv", b("{\"y\":[1]}"), b("{\"y\":[1]}"), 0).problem()).contains("must hold");
    assertThat(Predictions.compare("m", "p.csv", b("not json"), b("{}"), 0).problem()).contains("not JSON");
  }
}
