package dev.timemachine.adapters.store;

import java.net.URI;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * How to reach S3 or an S3-compatible server (MinIO, s3proxy, Ceph), as typed settings: the app reads
 * them from the environment, this adapter only uses them. Credentials are the static pair if given,
 * else the SDK's default chain; the region is always explicit so that the SDK never goes looking for
 * one. Without an endpoint the SDK's own endpoint chain applies (then AWS itself).
 *
 * @param endpoint the endpoint URL, or null
 * @param endpointSource the variable the endpoint came from, for messages, or null
 * @param sessionToken the session token of temporary static credentials, or null
 * @param pathStyle {@code bucket} in the path rather than the host name (what most S3-compatible servers want)
 * @param multipartThreshold the size from which an upload goes in parts and a download as ranged GETs
 *     ({@link S3ObjectStore.Transfer}); {@link Long#MAX_VALUE} for never (a server such as s3proxy that
 *     writes an object again when its parts complete uploads faster whole)
 */
public record S3Settings(
    String endpoint,
    String endpointSource,
    String region,
    String accessKeyId,
    String secretAccessKey,
    String sessionToken,
    boolean pathStyle,
    long multipartThreshold) {
  public static final String DEFAULT_REGION = "us-east-1";

  public S3Settings {
    region = region == null || region.isBlank() ? DEFAULT_REGION : region;
    if (multipartThreshold < S3ObjectStore.Transfer.DEFAULT.partSize()) {
      throw new IllegalArgumentException("a multipart threshold of at least one part (16 MiB)");
    }
  }

  /** With the default multipart threshold (64 MiB). */
  public S3Settings(
      String endpoint, String endpointSource, String region, String accessKeyId, String secretAccessKey,
      String sessionToken, boolean pathStyle) {
    this(endpoint, endpointSource, region, accessKeyId, secretAccessKey, sessionToken, pathStyle,
        S3ObjectStore.Transfer.DEFAULT.threshold());
  }

  /** How large objects move on this server: the default transfer with this threshold. */
  public S3ObjectStore.Transfer transfer() {
    S3ObjectStore.Transfer d = S3ObjectStore.Transfer.DEFAULT;
    return new S3ObjectStore.Transfer(multipartThreshold, d.partSize(), d.parallelism());
  }

  /** AWS S3 in {@code us-east-1} through the SDK's default credential chain. */
  public static S3Settings defaults() {
    return new S3Settings(null, null, DEFAULT_REGION, null, null, null, false);
  }

  /** An S3-compatible server at {@code endpoint}, path-style, with a static key pair. */
  public static S3Settings compatible(String endpoint, String region, String accessKeyId, String secretAccessKey) {
    return new S3Settings(endpoint, null, region, accessKeyId, secretAccessKey, null, true);
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
      return StaticCredentialsProvider.create(
          sessionToken != null
              ? AwsSessionCredentials.create(accessKeyId, secretAccessKey, sessionToken)
              : AwsBasicCredentials.create(accessKeyId, secretAccessKey));
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

  /** Never prints the secret key or the session token. */
  @Override
  public String toString() {
    return "S3Settings[endpoint=" + describeEndpoint() + (endpointSource == null ? "" : " from " + endpointSource)
        + ", region=" + region + (multipartThreshold == S3ObjectStore.Transfer.DEFAULT.threshold() ? ""
            : ", multipart " + (multipartThreshold == Long.MAX_VALUE ? "off" : "from " + multipartThreshold + " bytes"))
        + ", credentials=" + (hasStaticCredentials() ? "key " + accessKeyId : "default chain")
        + ", pathStyle=" + pathStyle + "]";
  }
}
