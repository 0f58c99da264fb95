package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.TrainingSpec;
import java.util.List;

/**
 * One nondeterminism probe ({@code core.grading.Variations}): train again from the replay's verified
 * inputs with {@code variation}, and compare the recorded artifacts with the original ({@code recorded})
 * and with the replay's own rebuild ({@code rebuilt}). {@code runTwice}: when the first run does not
 * match the original, run a second time to see whether the variation makes the training deterministic.
 * {@code index} names the probe's own output directory and container.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ProbeSpec(
    TrainingSpec training, String variation, int index, List<FileEntry> recorded, List<FileEntry> rebuilt,
    boolean runTwice) {
  public ProbeSpec {
    recorded = recorded == null ? List.of() : List.copyOf(recorded);
    rebuilt = rebuilt == null ? List.of() : List.copyOf(rebuilt);
  }
}
