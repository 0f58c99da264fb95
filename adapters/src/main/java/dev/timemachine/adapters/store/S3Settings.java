package dev.timemachine.adapters.store;

import java.net.URI;
import java.util.Map;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * How to reach S3 or an S3-compatible server. With an endpoint set (MinIO, s3proxy, Ceph), requests
 * are path-style unless told otherwise. Credentials are the static pair if given, else the SDK's
 * default chain; the region is always explicit so that the SDK never goes looking for one.
 */
public record S3Settings(String endpoint, String region, String accessKeyId, String secretAccessKey, boolean pathStyle) {

  public static S3Settings fromEnvironment(Map<String, String> env) {
    String endpoint = blankToNull(env.get("TIMEMACHINE_S3_ENDPOINT"));
    String region = blankToNull(env.get("AWS_REGION"));
    String pathStyle = blankToNull(env.get("TIMEMACHINE_S3_PATH_STYLE"));
    return new S3Settings(
        endpoint,
        region == null ? "us-east-1" : region,
        blankToNull(env.get("AWS_ACCESS_KEY_ID")),
        blankToNull(env.get("AWS_SECRET_ACCESS_KEY")),
        pathStyle == null ? endpoint != null : Boolean.parseBoolean(pathStyle));
  }

  public S3Client newClient() {
    S3ClientBuilder builder =
        S3Client.builder().region(Region.of(region)).credentialsProvider(credentials()).forcePathStyle(pathStyle);
    if (endpoint != null) {
      builder.endpointOverride(URI.create(endpoint));
    }
    return builder.build();
  }

  private AwsCredentialsProvider credentials() {
    if (hasStaticCredentials()) {
      return StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKeyId, secretAccessKey));
    }
    return DefaultCredentialsProvider.builder().build();
  }

  /** Whether the static key pair is set; otherwise the SDK's default chain looks for credentials. */
  public boolean hasStaticCredentials() {
    return accessKeyId != null && secretAccessKey != null;
  }

  public String describeEndpoint() {
    return endpoint != null ? endpoint : "AWS S3 (" + region + ")";
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }
}
