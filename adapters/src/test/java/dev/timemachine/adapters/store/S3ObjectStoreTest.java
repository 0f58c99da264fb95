package dev.timemachine.adapters.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import java.util.Set;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.http.SdkHttpResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * How S3 answers become errors, for the answers the integration server cannot give: s3proxy accepts
 * a signature for any region, so the wrong-region answers of AWS S3 are built here as the SDK would
 * build them.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class S3ObjectStoreTest {
  private final S3ObjectStore store = new S3ObjectStore(null, "ml-snapshots", "tm",
      new S3Settings(null, null, "us-east-1", "k", "s", null, false),
      Set.of());

  @Test
  void a_signature_for_the_wrong_region_names_the_region_setting_and_the_right_region() {
    TimemachineException e = store.translate(s3Error(400, "AuthorizationHeaderMalformed",
        "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'", "eu-west-1"), "");

    assertThat(e.type()).isEqualTo(ErrorType.CONFIGURATION);
    assertThat(e.getMessage()).isEqualTo("bucket ml-snapshots at AWS S3 (us-east-1) is not in region us-east-1 but in eu-west-1"
        + " (HTTP 400 AuthorizationHeaderMalformed: The authorization header is malformed; the region 'us-east-1' is wrong;"
        + " expecting 'eu-west-1')");
    assertThat(e.hint()).startsWith("set AWS_REGION to the bucket's region (AWS_REGION=eu-west-1)");
  }

  @Test
  void a_permanent_redirect_without_a_body_is_a_wrong_region_too() {
    TimemachineException e = store.translate(s3Error(301, null, null, "ap-south-1"), "manifest.json");

    assertThat(e.type()).isEqualTo(ErrorType.CONFIGURATION);
    assertThat(e.getMessage()).contains("is not in region us-east-1 but in ap-south-1 (HTTP 301)");
    assertThat(e.hint()).contains("AWS_REGION=ap-south-1");
    assertThat(store.translate(s3Error(301, "PermanentRedirect", "use the other endpoint", null), "").hint())
        .startsWith("set AWS_REGION to the bucket's region, or");
  }

  @Test
  void refused_credentials_name_the_variable_to_check() {
    assertThat(store.translate(s3Error(403, "InvalidAccessKeyId", "unknown key", null), "x").hint()).contains("AWS_ACCESS_KEY_ID");
    assertThat(store.translate(s3Error(403, "SignatureDoesNotMatch", "bad", null), "x").hint()).contains("AWS_SECRET_ACCESS_KEY");
    TimemachineException denied = store.translate(s3Error(403, "AccessDenied", "Access Denied", "us-east-1"), "x");
    assertThat(denied.type()).as("a region header that matches is no region error").isEqualTo(ErrorType.CONFIGURATION);
    assertThat(denied.getMessage()).isEqualTo("access to s3://ml-snapshots/tm/x at AWS S3 (us-east-1) was refused (HTTP 403 AccessDenied: Access Denied)");
    assertThat(denied.hint()).contains("may access bucket ml-snapshots");
  }

  @Test
  void a_missing_bucket_and_a_missing_key_are_told_apart() {
    TimemachineException bucket = store.translate(s3Error(404, "NoSuchBucket", "The specified bucket does not exist", null), "x");
    assertThat(bucket.type()).isEqualTo(ErrorType.CONFIGURATION);
    assertThat(bucket.getMessage()).isEqualTo("bucket ml-snapshots does not exist at endpoint AWS S3 (us-east-1)");
    assertThat(bucket.hint()).startsWith("create it (e.g. aws s3 mb s3://ml-snapshots)");
    TimemachineException key = store.translate(s3Error(404, "NoSuchKey", "no such key", null), "x");
    assertThat(key.type()).isEqualTo(ErrorType.NOT_FOUND);
    assertThat(key.getMessage()).isEqualTo("s3://ml-snapshots/tm/x does not exist");
  }

  private static S3Exception s3Error(int status, String code, String message, String bucketRegion) {
    SdkHttpResponse.Builder http = SdkHttpResponse.builder().statusCode(status);
    if (bucketRegion != null) {
      http.putHeader(S3ObjectStore.BUCKET_REGION_HEADER, bucketRegion);
    }
    return (S3Exception) S3Exception.builder()
        .statusCode(status)
        .awsErrorDetails(AwsErrorDetails.builder().errorCode(code).errorMessage(message).serviceName("S3")
            .sdkHttpResponse(http.build()).build())
        .build();
  }
}
