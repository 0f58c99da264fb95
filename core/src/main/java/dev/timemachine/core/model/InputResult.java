package dev.timemachine.core.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.Objects;

/**
 * What a replay found out about one recorded input. Only a failure that says the input itself is
 * missing or does not match (type {@code INPUT_UNVERIFIABLE}) makes it {@link State#UNVERIFIABLE}; an
 * input that could not be looked at because a service was down is {@link State#NOT_CHECKED}, with the
 * reason in {@code detail}, so that an outage is never reported as a fact about the model.
 *
 * @param detail why it is unverifiable or was not checked; null when verified
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"kind", "state", "detail"})
public record InputResult(InputKind kind, State state, String detail) {
  /** The outcome of checking one input. */
  public enum State {
    VERIFIED,
    UNVERIFIABLE,
    NOT_CHECKED
  }

  @JsonCreator(mode = JsonCreator.Mode.PROPERTIES)
  public InputResult(
      @JsonProperty("kind") InputKind kind, @JsonProperty("state") State state, @JsonProperty("detail") String detail) {
    this.kind = kind;
    this.state = Objects.requireNonNull(state, "state");
    this.detail = detail;
  }

  public static InputResult verified(InputKind kind) {
    return new InputResult(kind, State.VERIFIED, null);
  }

  public static InputResult unverifiable(InputKind kind, String why) {
    return new InputResult(kind, State.UNVERIFIABLE, why);
  }

  public static InputResult notChecked(InputKind kind, String why) {
    return new InputResult(kind, State.NOT_CHECKED, why);
  }

  /**
   * Reads the status string of a {@code replay-report/v1}: {@code VERIFIED}, {@code NOT_CHECKED}, or
   * the reason the input could not be verified. The kind is filled in by the enclosing record.
   */
  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public static InputResult fromV1(String status) {
    if (State.VERIFIED.name().equals(status)) {
      return new InputResult(null, State.VERIFIED, null);
    }
    if (State.NOT_CHECKED.name().equals(status) || status == null) {
      return new InputResult(null, State.NOT_CHECKED, null);
    }
    return new InputResult(null, State.UNVERIFIABLE, status);
  }

  public InputResult withKind(InputKind newKind) {
    return Objects.equals(kind, newKind) ? this : new InputResult(newKind, state, detail);
  }

  public boolean verified() {
    return state == State.VERIFIED;
  }

  /** {@code VERIFIED}, {@code NOT_CHECKED} or {@code UNVERIFIABLE}, with the detail in parentheses if any. */
  @Override
  public String toString() {
    return detail == null ? state.name() : state.name() + " (" + detail + ")";
  }
}
