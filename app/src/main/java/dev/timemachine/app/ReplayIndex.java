package dev.timemachine.app;

import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.workflow.ReplayWorkflow;
import dev.timemachine.workflow.SearchAttributes;
import io.grpc.StatusRuntimeException;
import io.temporal.client.WorkflowExecutionMetadata;
import io.temporal.common.SearchAttributeKey;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Replays found through Temporal's visibility (ListWorkflowExecutions) by the search attributes they
 * carry: the query {@code timemachine replays list} sends is the one to paste into the Temporal UI or
 * {@code temporal workflow list --query}.
 */
public final class ReplayIndex {
  private static final Pattern VALUE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:/@*-]{0,127}");

  private final TemporalRuntime temporal;
  private final Config config;

  public ReplayIndex(TemporalRuntime temporal, Config config) {
    if (temporal.embedded()) {
      throw TimemachineException.configuration("listing replays needs a Temporal server with visibility; the in-process one keeps none",
          "set TEMPORAL_ADDRESS (e.g. 127.0.0.1:7233, started by scripts/temporal.sh)");
    }
    this.temporal = temporal;
    this.config = config;
  }

  /** One replay as visibility knows it; model, version, verdict and trigger null when not set. */
  public record Row(String workflowId, String status, Instant started, Instant closed, String model, String version,
      String verdict, String trigger) {}

  /** The visibility query for these filters (each null for any). */
  public static String query(String model, String verdict, Instant since) {
    List<String> terms = new ArrayList<>();
    terms.add("WorkflowType = '" + ReplayWorkflow.class.getSimpleName() + "'");
    if (model != null) {
      terms.add(SearchAttributes.MODEL.getName() + " = '" + literal(model, "--model") + "'");
    }
    if (verdict != null) {
      terms.add(SearchAttributes.VERDICT.getName() + " = '" + literal(verdict, "--verdict") + "'");
    }
    if (since != null) {
      terms.add("StartTime >= '" + DateTimeFormatter.ISO_INSTANT.format(since) + "'");
    }
    // No ORDER BY: SQL visibility (the dev server) refuses it; it lists the newest first anyway.
    return String.join(" AND ", terms);
  }

  private static String literal(String value, String option) {
    if (!VALUE.matcher(value).matches()) {
      throw TimemachineException.invalidInput(option + " '" + value + "' must be a name: letters, digits and . _ : / @ * -");
    }
    return value;
  }

  public List<Row> list(String model, String verdict, Instant since, int limit) {
    String query = query(model, verdict, since);
    try {
      return temporal.client().listExecutions(query).limit(limit).map(ReplayIndex::row).toList();
    } catch (StatusRuntimeException e) {
      throw TimemachineException.configuration(
          "Temporal at " + config.temporalAddress() + " refused the visibility query [" + query + "]: " + e.getStatus().getCode()
              + " " + e.getStatus().getDescription(),
          "the search attributes " + SearchAttributes.NAMES + " must be registered: run scripts/temporal.sh up, or start a worker once");
    }
  }

  private static Row row(WorkflowExecutionMetadata m) {
    var attributes = m.getTypedSearchAttributes();
    return new Row(m.getExecution().getWorkflowId(), m.getStatus().name().replace("WORKFLOW_EXECUTION_STATUS_", ""),
        m.getStartTime(), m.getCloseTime(), value(attributes, SearchAttributes.MODEL), value(attributes, SearchAttributes.VERSION),
        value(attributes, SearchAttributes.VERDICT), value(attributes, SearchAttributes.TRIGGER));
  }

  private static String value(io.temporal.common.SearchAttributes attributes, SearchAttributeKey<String> key) {
    return attributes.containsKey(key) ? attributes.get(key) : null;
  }
}
