package dev.timemachine.workflow;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The named details of every {@code ApplicationFailure} timemachine raises: the one detail object of the
 * failure, so that readers ask for a field by name instead of counting positions.
 *
 * @param input which recorded input an {@code INPUT_UNVERIFIABLE} failure is about ({@code CODE},
 *     {@code ENVIRONMENT}, {@code DATA}), or null
 * @param hint what the user can do about it, or null
 * @param service the service the failing step talks to ({@code image registry 127.0.0.1:5000}, {@code
 *     object store s3://bucket}, ...), or null
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record FailureDetails(String input, String hint, String service) {
  static final FailureDetails NONE = new FailureDetails(null, null, null);
}
