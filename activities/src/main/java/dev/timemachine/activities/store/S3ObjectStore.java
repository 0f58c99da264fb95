package dev.timemachine.activities.store;

import dev.timemachine.domain.RelativePaths;
import dev.timemachine.domain.TimemachineException;
import dev.timemachine.ports.ObjectStore;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * An object store in an S3 bucket (optionally under a key prefix), through the AWS SDK v2. Plain
 * {@code GetObject}/{@code PutObject} only: some S3-compatible servers refuse ranged multipart
 * downloads. Write-once is a {@code HeadObject} check followed by a conditional {@code PutObject}
 * ({@code If-None-Match: *}); on a server that ignores the condition a small race remains between
 * two writers of the same key, which timemachine's deterministic keys make harmless.
 */
public final class S3ObjectStore implements ObjectStore {
  private final S3Client s3;
  private final String bucket;
  private final String prefix;
  private final String endpoint;

  public S3ObjectStore(S3Client s3, String bucket, String prefix, String endpointDescription) {
    this.s3 = s3;
    this.bucket = bucket;
    this.prefix = prefix == null || prefix.isEmpty() ? "" : prefix.replaceAll("^/+|/+$", "") + "/";
    this.endpoint = endpointDescription;
  }

  @Override
  public String rootUri() {
    return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix.substring(0, prefix.length() - 1));
  }

  private String key(String key) {
    return prefix + RelativePaths.require(key, "object key");
  }

  /** Creates the bucket if it does not exist (for first use of a fresh server). */
  public void createBucketIfMissing() {
    try {
      s3.headBucket(b -> b.bucket(bucket));
    } catch (NoSuchBucketException e) {
      try {
        s3.createBucket(b -> b.bucket(bucket));
      } catch (BucketAlreadyOwnedByYouException raced) {
        // Someone else created it first: fine.
      } catch (SdkException created) {
        throw translate(created, "");
      }
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        try {
          s3.createBucket(b -> b.bucket(bucket));
        } catch (SdkException created) {
          throw translate(created, "");
        }
      } else {
        throw translate(e, "");
      }
    } catch (SdkException e) {
      throw translate(e, "");
    }
  }

  @Override
  public boolean exists(String key) {
    return size(key).isPresent();
  }

  @Override
  public Optional<Long> size(String key) {
    String k = key(key);
    try {
      return Optional.of(s3.headObject(b -> b.bucket(bucket).key(k)).contentLength());
    } catch (NoSuchKeyException e) {
      return Optional.empty();
    } catch (S3Exception e) {
      if (e.statusCode() == 404 && !isNoSuchBucket(e)) {
        return Optional.empty();
      }
      throw translate(e, key);
    } catch (SdkException e) {
      throw translate(e, key);
    }
  }

  @Override
  public void put(String key, Path source) {
    String k = key(key);
    try {
      s3.putObject(b -> b.bucket(bucket).key(k), RequestBody.fromFile(source));
    } catch (SdkException e) {
      throw translate(e, key);
    }
  }

  @Override
  public boolean putIfAbsent(String key, byte[] content) {
    if (exists(key)) {
      return false;
    }
    String k = key(key);
    try {
      s3.putObject(b -> b.bucket(bucket).key(k).ifNoneMatch("*"), RequestBody.fromBytes(content));
      return true;
    } catch (S3Exception e) {
      if (e.statusCode() == 412 || e.statusCode() == 409) {
        return false;
      }
      throw translate(e, key);
    } catch (SdkException e) {
      throw translate(e, key);
    }
  }

  @Override
  public byte[] getBytes(String key) {
    String k = key(key);
    try {
      return s3.getObjectAsBytes(b -> b.bucket(bucket).key(k)).asByteArray();
    } catch (SdkException e) {
      throw translate(e, key);
    }
  }

  @Override
  public InputStream open(String key) {
    String k = key(key);
    try {
      return s3.getObject(b -> b.bucket(bucket).key(k));
    } catch (SdkException e) {
      throw translate(e, key);
    }
  }

  @Override
  public void download(String key, Path target) {
    try (InputStream in = open(key)) {
      Files.createDirectories(target.toAbsolutePath().getParent());
      Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
    } catch (java.io.IOException e) {
      throw TimemachineException.unavailable("cannot download " + uriOf(key) + ": " + e.getMessage(), e);
    }
  }

  @Override
  public List<String> list(String listPrefix) {
    List<String> keys = new ArrayList<>();
    String full = prefix + listPrefix;
    try {
      String token = null;
      do {
        ListObjectsV2Request.Builder request = ListObjectsV2Request.builder().bucket(bucket).prefix(full);
        if (token != null) {
          request.continuationToken(token);
        }
        ListObjectsV2Response page = s3.listObjectsV2(request.build());
        for (S3Object object : page.contents()) {
          keys.add(object.key().substring(prefix.length()));
        }
        token = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
      } while (token != null);
    } catch (SdkException e) {
      throw translate(e, listPrefix);
    }
    keys.sort(null);
    return keys;
  }

  private static boolean isNoSuchBucket(S3Exception e) {
    return e.awsErrorDetails() != null && "NoSuchBucket".equals(e.awsErrorDetails().errorCode());
  }

  private TimemachineException translate(SdkException e, String key) {
    String where = key.isEmpty() ? rootUri() : uriOf(key);
    if (e instanceof S3Exception s3e) {
      String code = s3e.awsErrorDetails() == null ? "" : s3e.awsErrorDetails().errorCode();
      if (e instanceof NoSuchBucketException || "NoSuchBucket".equals(code)) {
        return TimemachineException.configuration(
            "bucket " + bucket + " does not exist at " + endpoint, "create it, or point TIMEMACHINE_STORE at an existing bucket");
      }
      if (e instanceof NoSuchKeyException || s3e.statusCode() == 404) {
        return TimemachineException.notFound(where + " does not exist", null);
      }
      if (s3e.statusCode() == 401 || s3e.statusCode() == 403 || "InvalidAccessKeyId".equals(code)
          || "SignatureDoesNotMatch".equals(code)) {
        return TimemachineException.configuration(
            "access to " + where + " was refused (" + (code.isEmpty() ? "HTTP " + s3e.statusCode() : code) + ")",
            "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
      }
      return TimemachineException.unavailable(
          "S3 request for " + where + " failed: HTTP " + s3e.statusCode() + " " + code, e);
    }
    if (e instanceof SdkClientException) {
      return TimemachineException.unavailable(
          "S3 endpoint " + endpoint + " not reachable for " + where + ": " + e.getMessage(), e);
    }
    return TimemachineException.unavailable("S3 request for " + where + " failed: " + e.getMessage(), e);
  }
}
