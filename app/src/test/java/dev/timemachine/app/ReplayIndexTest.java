package dev.timemachine.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.timemachine.core.errors.TimemachineException;
import java.time.Instant;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ReplayIndexTest {
  @Test
  void the_query_filters_replays_by_the_search_attributes_given() {
    assertThat(ReplayIndex.query(null, null, null)).isEqualTo("WorkflowType = 'ReplayWorkflow'");
    assertThat(ReplayIndex.query("churn", "DIVERGED", Instant.parse("2026-11-23T02:00:00Z")))
        .isEqualTo("WorkflowType = 'ReplayWorkflow' AND TimemachineModel = 'churn' AND TimemachineVerdict = 'DIVERGED'"
            + " AND StartTime >= '2026-11-23T02:00:00Z'");
  }

  @Test
  void a_value_that_could_change_the_query_is_refused() {
    assertThatThrownBy(() -> ReplayIndex.query("x' OR WorkflowType != '", null, null))
        .isInstanceOf(TimemachineException.class).hasMessageContaining("--model");
  }
}
