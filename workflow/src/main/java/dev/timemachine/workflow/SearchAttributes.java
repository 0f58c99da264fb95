package dev.timemachine.workflow;

import dev.timemachine.core.grading.Verdict;
import dev.timemachine.core.model.ModelRef;
import io.temporal.common.SearchAttributeKey;
import io.temporal.common.SearchAttributeUpdate;
import io.temporal.common.SearchAttributes.Builder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The custom search attributes timemachine indexes its workflows by, so that the Temporal UI, {@code
 * temporal workflow list --query} and {@code timemachine replays list} filter replays by model,
 * version, verdict and what started them. They must be registered on the server before a workflow sets
 * them ({@code scripts/temporal.sh} does it on the dev server, {@link #NAMES} lists them with their
 * type, all {@code Keyword}; the app registers those missing when a worker starts).
 */
public final class SearchAttributes {
  public static final SearchAttributeKey<String> MODEL = SearchAttributeKey.forKeyword("TimemachineModel");
  public static final SearchAttributeKey<String> VERSION = SearchAttributeKey.forKeyword("TimemachineVersion");
  public static final SearchAttributeKey<String> VERDICT = SearchAttributeKey.forKeyword("TimemachineVerdict");
  public static final SearchAttributeKey<String> TRIGGER = SearchAttributeKey.forKeyword("TimemachineTrigger");

  /** Every attribute, each of type {@code Keyword}. */
  public static final List<SearchAttributeKey<String>> ALL = List.of(MODEL, VERSION, VERDICT, TRIGGER);

  /** Their names, for messages. */
  public static final List<String> NAMES = ALL.stream().map(SearchAttributeKey::getName).toList();

  /** Who started a workflow, the values of {@link #TRIGGER}. */
  public enum Trigger {
    MANUAL,
    SCHEDULE,
    FLEET,
    BACKTEST;

    public String value() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** A trigger from its value; null or unknown text is {@code MANUAL}. */
    public static Trigger of(String value) {
      for (Trigger t : values()) {
        if (t.value().equalsIgnoreCase(value == null ? "" : value.trim())) {
          return t;
        }
      }
      return MANUAL;
    }
  }

  private SearchAttributes() {}

  /**
   * The model and version a spec names, best effort and without a registry: {@code churn@3}, {@code
   * mlflow:churn/3} and {@code mlflow:churn@champion} give {@code churn} and {@code 3} (or the alias).
   * The replay replaces them with the resolved version's own when it ends.
   */
  public static ModelRef guess(String spec) {
    if (spec == null) {
      return null;
    }
    String rest = spec.contains(":") ? spec.substring(spec.indexOf(':') + 1) : spec;
    int cut = Math.max(rest.lastIndexOf('@'), rest.lastIndexOf('/'));
    if (cut <= 0 || cut == rest.length() - 1) {
      return null;
    }
    try {
      return new ModelRef(rest.substring(0, cut), rest.substring(cut + 1));
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** The attributes a starter sets on a replay of {@code spec}. */
  public static io.temporal.common.SearchAttributes atStart(String spec, Trigger trigger) {
    Builder builder = io.temporal.common.SearchAttributes.newBuilder().set(TRIGGER, trigger.value());
    ModelRef model = guess(spec);
    if (model != null) {
      builder.set(MODEL, model.name()).set(VERSION, model.version());
    }
    return builder.build();
  }

  /** The updates a replay upserts when it ends: the resolved model and version (if any) and the verdict. */
  static List<SearchAttributeUpdate<?>> atEnd(ModelRef model, Verdict verdict) {
    List<SearchAttributeUpdate<?>> updates = new ArrayList<>();
    if (model != null) {
      updates.add(MODEL.valueSet(model.name()));
      updates.add(VERSION.valueSet(model.version()));
    }
    updates.add(VERDICT.valueSet(verdict.name()));
    return updates;
  }
}
