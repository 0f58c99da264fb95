package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.timemachine.core.model.FileEntry;
import dev.timemachine.core.model.RecordedOutputs;
import dev.timemachine.core.model.TrainingSpec;
import java.util.List;

/**
 * What the explain step compares on the training host, where the rebuilt outputs still are: the
 * replay's training (its image, limits, output rules), the record, the rebuilt outputs by name and hash,
 * and the data snapshot (whose store keeps the original artifacts by content). By reference: hashes and
 * a URI, no file content.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ExplainSpec(TrainingSpec training, RecordedOutputs recorded, List<FileEntry> rebuilt, String dataSnapshotUri) {
  public ExplainSpec {
    rebuilt = rebuilt == null ? List.of() : List.copyOf(rebuilt);
  }
}
