package dev.timemachine.core.fleet;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * What a selector resolved to: the versions to replay, each with the item that selected it, and the
 * versions or items left out, each with the reason.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Selection(String selector, List<Selected> selected, List<Excluded> excluded) {
  public Selection {
    selected = selected == null ? List.of() : List.copyOf(selected);
    excluded = excluded == null ? List.of() : List.copyOf(excluded);
  }

  /**
   * @param spec the model spec a replay is started with ({@code churn@3}, {@code mlflow:churn/3})
   * @param because the selector item that selected it, and how
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Selected(String spec, String registry, String name, String version, String because) {}

  /** @param spec the version, or the selector item that matched nothing */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Excluded(String spec, String reason) {}

  public List<String> specs() {
    return selected.stream().map(Selected::spec).toList();
  }
}
