package dev.timemachine.workflow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.InputUnverifiableException;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.model.InputKind;
import io.temporal.failure.ApplicationFailure;
import java.util.Arrays;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class FailuresTest {
  @Test
  void an_unverifiable_input_travels_with_named_details() {
    ApplicationFailure failure =
        Failures.encode(new InputUnverifiableException(InputKind.DATA, "data file 'x' sha256 is 00"), "the object store of s3://b");

    Failures.Decoded decoded = Failures.decode(new RuntimeException("wrapped", failure));
    assertThat(failure.isNonRetryable()).isTrue();
    assertThat(decoded.is(ErrorType.INPUT_UNVERIFIABLE)).isTrue();
    assertThat(decoded.input()).isEqualTo(InputKind.DATA);
    assertThat(decoded.details().service()).isEqualTo("the object store of s3://b");
    assertThat(decoded.message()).isEqualTo("data file 'x' sha256 is 00");
  }

  @Test
  void an_unavailable_service_is_retryable_and_its_hint_reaches_the_cli() {
    ApplicationFailure failure =
        Failures.encode(new TimemachineException(ErrorType.UNAVAILABLE, "S3 down", "start s3proxy", null), "store");

    TimemachineException e = Failures.decode(failure).toException();
    assertThat(failure.isNonRetryable()).isFalse();
    assertThat(e.type()).isEqualTo(ErrorType.UNAVAILABLE);
    assertThat(e.hint()).isEqualTo("start s3proxy");
  }

  @Test
  void a_full_disk_is_an_unavailable_service_named_by_its_path_and_not_retried() {
    java.io.IOException enospc = new java.io.IOException("No space left on device");
    TimemachineException wrapped = TimemachineException.unavailable("cannot restore x: " + enospc, enospc);
    assertThat(dev.timemachine.core.errors.DiskFullException.isDiskFull(wrapped)).isTrue();
    assertThat(dev.timemachine.core.errors.DiskFullException.isDiskFull(new java.io.IOException("Broken pipe"))).isFalse();

    ApplicationFailure failure = Failures.encode(
        new dev.timemachine.core.errors.DiskFullException(java.nio.file.Path.of("/work/r1"), "restoring x", enospc),
        "the object store of s3://b");

    Failures.Decoded decoded = Failures.decode(failure);
    assertThat(failure.isNonRetryable()).as("another attempt would fill the same disk").isTrue();
    assertThat(decoded.is(ErrorType.UNAVAILABLE)).isTrue();
    assertThat(decoded.details().service()).isEqualTo("the disk of /work/r1");
    assertThat(decoded.message()).startsWith("the disk of /work/r1 is full (No space left on device) while restoring x");
    assertThat(ErrorType.UNAVAILABLE.exitCode()).as("an outage exits 4, like a replay's ERROR").isEqualTo(4);
  }

  @Test
  void failures_recorded_with_positional_details_read_as_having_none() {
    Failures.Decoded decoded =
        Failures.decode(ApplicationFailure.newNonRetryableFailure("no tag", ErrorType.INPUT_UNVERIFIABLE.name(), "ENVIRONMENT", null));

    assertThat(decoded.is(ErrorType.INPUT_UNVERIFIABLE)).isTrue();
    assertThat(decoded.details()).isEqualTo(FailureDetails.NONE);
  }

  @Test
  void the_do_not_retry_list_is_every_type_that_is_not_retryable() {
    assertThat(Failures.DO_NOT_RETRY)
        .containsExactlyInAnyOrder(
            Arrays.stream(ErrorType.values()).filter(t -> !t.retryable()).map(Enum::name).toArray(String[]::new))
        .doesNotContain(ErrorType.UNAVAILABLE.name());
  }
}
