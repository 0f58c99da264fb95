package dev.timemachine.adapters.store;

import dev.timemachine.core.errors.Causes;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.model.RelativePaths;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.ports.ObjectStore;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
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
 * An object store in an S3 bucket (optionally under a key prefix), through the AWS SDK v2. Objects
 * from {@link Transfer#threshold()} bytes on go up as multipart uploads and come down as parallel
 * ranged GETs (not the SDK's per-part downloads, which some S3-compatible servers such as s3proxy
 * refuse); a server that refuses or ignores ranges gets single GETs from then on, said once in the log. Write-once is a {@code HeadObject} check followed by a conditional {@code PutObject}
 * ({@code If-None-Match: *}); on a server that ignores the condition a small race remains between
 * two writers of the same key, which timemachine's deterministic keys make harmless.
 *
 * <p>Before its first request to a bucket the store asks {@code HeadBucket}, once per bucket and
 * {@link ObjectStores} (only a bucket that answered is remembered). Without it the answers are
 * misleading: a {@code HeadObject} in a missing bucket comes back as a plain 404 "no such key", and
 * a server refusing an upload (missing bucket, wrong credentials) answers and closes the connection
 * before it reads the body, which the SDK reports, after its retries, as "Broken pipe".
 */
public final class S3ObjectStore implements ObjectStore {
  /** The header with which S3 names a bucket's region in a redirect or a refused request. */
  static final String BUCKET_REGION_HEADER = "x-amz-bucket-region";

  private final S3Client s3;
  private final String bucket;
  private final String prefix;
  private final S3Settings settings;
  private final Set<String> checkedBuckets;

  /**
   * @param checkedBuckets buckets known to exist and to be accessible, shared by the stores of one
   *     {@link ObjectStores}; this store adds its bucket after a successful {@code HeadBucket}
   */
  public S3ObjectStore(S3Client s3, String bucket, String prefix, S3Settings settings, Set<String> checkedBuckets) {
    this.s3 = s3;
    this.bucket = bucket;
    this.prefix = prefix == null || prefix.isEmpty() ? "" : prefix.replaceAll("^/+|/+$", "") + "/";
    this.settings = settings;
    this.checkedBuckets = checkedBuckets;
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
      create();
    } catch (S3Exception e) {
      if (e.statusCode() != 404) {
        throw translate(e, "");
      }
      create();
    } catch (SdkException e) {
      throw translate(e, "");
    }
    checkedBuckets.add(bucket);
  }

  private void create() {
    try {
      s3.createBucket(b -> b.bucket(bucket));
    } catch (BucketAlreadyOwnedByYouException raced) {
      // Someone else created it first: fine.
    } catch (SdkException e) {
      throw translate(e, "");
    }
  }

  /**
   * Makes sure the bucket exists and these credentials may reach it, so that every later failure
   * means what it says. A bucket that answered once is not asked again.
   */
  private void requireBucket() {
    if (checkedBuckets.contains(bucket)) {
      return;
    }
    try {
      s3.headBucket(b -> b.bucket(bucket));
    } catch (S3Exception e) {
      throw translate(withErrorCode(e), "");
    } catch (SdkException e) {
      throw translate(e, "");
    }
    checkedBuckets.add(bucket);
  }

  /**
   * A refused {@code HeadBucket} has no body, so no error code says whether the key, the secret or
   * the region is wrong; the same question as a one-key listing gets an answer with a code.
   */
  private S3Exception withErrorCode(S3Exception refused) {
    if (refused instanceof NoSuchBucketException
        || (refused.awsErrorDetails() != null && refused.awsErrorDetails().errorCode() != null)) {
      return refused;
    }
    try {
      s3.listObjectsV2(b -> b.bucket(bucket).maxKeys(1));
      return refused;
    } catch (S3Exception answered) {
      return answered.awsErrorDetails() != null && answered.awsErrorDetails().errorCode() != null ? answered : refused;
    } catch (SdkException other) {
      return refused;
    }
  }

  @Override
  public boolean exists(String key) {
    return size(key).isPresent();
  }

  @Override
  public void delete(String key) {
    requireBucket();
    String k = key(key);
    try {
      s3.deleteObject(b -> b.bucket(bucket).key(k));
    } catch (SdkException e) {
      throw translate(e, key);
    }
  }

  @Override
  public Optional<Long> size(String key) {
    requireBucket();
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
    requireBucket();
    String k = key(key);
    long size;
    try {
      size = Files.size(source);
    } catch (java.io.IOException e) {
      throw TimemachineException.unavailable("cannot read " + source + " to upload it: " + e, e);
    }
    if (size >= transfer.threshold()) {
      putMultipart(key, k, source, size);
      return;
    }
    try {
      s3.putObject(b -> b.bucket(bucket).key(k), RequestBody.fromFile(source));
    } catch (SdkException e) {
      throw translate(e, key);
    }
  }

  /**
   * How large objects move: from {@code threshold} bytes on, an upload is a multipart upload and a
   * download a set of ranged GETs, {@code partSize} bytes each (more when an object would need more
   * than 10,000 parts), {@code parallelism} at a time.
   */
  public record Transfer(long threshold, long partSize, int parallelism) {
    public static final Transfer DEFAULT = new Transfer(64L << 20, 16L << 20, 8);

    public Transfer {
      if (partSize < 5L << 20 || threshold < partSize || parallelism < 1) {
        throw new IllegalArgumentException("parts of at least 5 MiB, a threshold of at least one part, one thread");
      }
    }

    long partSizeFor(long size) {
      return Math.max(partSize, (size + 9_999) / 10_000);
    }
  }

  private Transfer transfer = Transfer.DEFAULT;
  /** Set once a server refused (or ignored) a ranged GET: later downloads are single GETs without asking again. */
  private final java.util.concurrent.atomic.AtomicBoolean rangesRefused = new java.util.concurrent.atomic.AtomicBoolean();
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(S3ObjectStore.class);

  /** The same store with other transfer sizes (tests, benchmarks). */
  public S3ObjectStore withTransfer(Transfer newTransfer) {
    this.transfer = newTransfer;
    return this;
  }

  /** Whether this store has fallen back to single GETs because the server would not serve ranges. */
  public boolean rangesRefused() {
    return rangesRefused.get();
  }

  private void putMultipart(String key, String k, Path source, long size) {
    long part = transfer.partSizeFor(size);
    int parts = (int) ((size + part - 1) / part);
    String uploadId;
    try {
      uploadId = s3.createMultipartUpload(b -> b.bucket(bucket).key(k)).uploadId();
    } catch (SdkException e) {
      throw translate(e, key);
    }
    java.util.concurrent.ExecutorService pool = pool(Math.min(transfer.parallelism(), parts));
    try {
      List<java.util.concurrent.Future<software.amazon.awssdk.services.s3.model.CompletedPart>> futures = new ArrayList<>();
      for (int i = 0; i < parts; i++) {
        int number = i + 1;
        long offset = i * part;
        long length = Math.min(part, size - offset);
        futures.add(pool.submit(() -> {
          try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(source)) {
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate((int) length);
            while (buffer.hasRemaining() && channel.read(buffer, offset + buffer.position()) > 0) {
              // read the whole part
            }
            buffer.flip();
            String etag = s3.uploadPart(b -> b.bucket(bucket).key(k).uploadId(uploadId).partNumber(number)
                .contentLength(length), RequestBody.fromByteBuffer(buffer)).eTag();
            return software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(number).eTag(etag).build();
          }
        }));
      }
      List<software.amazon.awssdk.services.s3.model.CompletedPart> completed = new ArrayList<>();
      for (var future : futures) {
        completed.add(future.get());
      }
      s3.completeMultipartUpload(b -> b.bucket(bucket).key(k).uploadId(uploadId)
          .multipartUpload(m -> m.parts(completed)));
    } catch (Exception e) {
      try {
        s3.abortMultipartUpload(b -> b.bucket(bucket).key(k).uploadId(uploadId));
      } catch (SdkException ignored) {
        // The upload expires on its own (a bucket lifecycle rule), and nothing points at its parts.
      }
      throw failure(e, key, "upload of " + source);
    } finally {
      pool.shutdownNow();
    }
  }

  private TimemachineException failure(Exception e, String key, String what) {
    Throwable cause = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
    if (cause instanceof TimemachineException te) {
      return te;
    }
    if (cause instanceof SdkException sdk) {
      return translate(sdk, key);
    }
    if (cause instanceof InterruptedException) {
      Thread.currentThread().interrupt();
    }
    return TimemachineException.unavailable("the " + what + " to " + uriOf(key) + " failed: " + cause, cause);
  }

  private static java.util.concurrent.ExecutorService pool(int threads) {
    return java.util.concurrent.Executors.newFixedThreadPool(threads, runnable -> {
      Thread thread = new Thread(runnable, "timemachine-s3-transfer");
      thread.setDaemon(true);
      return thread;
    });
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
    requireBucket();
    String k = key(key);
    try {
      return s3.getObjectAsBytes(b -> b.bucket(bucket).key(k)).asByteArray();
    } catch (SdkException e) {
      throw translate(e, key);
    }
  }

  @Override
  public InputStream open(String key) {
    requireBucket();
    String k = key(key);
    try {
      return s3.getObject(b -> b.bucket(bucket).key(k));
    } catch (SdkException e) {
      throw translate(e, key);
    }
  }

  @Override
  public void download(String key, Path target) {
    if (!rangesRefused.get()) {
      requireBucket();
      String k = key(key);
      software.amazon.awssdk.services.s3.model.HeadObjectResponse head;
      try {
        head = s3.headObject(b -> b.bucket(bucket).key(k));
      } catch (SdkException e) {
        throw translate(e, key);
      }
      if (head.contentLength() >= transfer.threshold() && downloadRanges(key, k, head, target)) {
        return;
      }
    }
    downloadWhole(key, target);
  }

  /**
   * Downloads {@code key} as parallel ranged GETs into {@code target}, each pinned to the object's
   * ETag ({@code If-Match}) so that an object replaced meanwhile fails instead of mixing two contents.
   * Returns false, having written nothing that stays, when the server refuses or ignores a range:
   * then the caller downloads it in one GET, and this store says so once in the log.
   */
  private boolean downloadRanges(String key, String k, software.amazon.awssdk.services.s3.model.HeadObjectResponse head,
      Path target) {
    long size = head.contentLength();
    long part = transfer.partSizeFor(size);
    int parts = (int) ((size + part - 1) / part);
    String etag = head.eTag();
    java.util.concurrent.ExecutorService pool = pool(Math.min(transfer.parallelism(), parts));
    Path temp = null;
    try {
      Files.createDirectories(target.toAbsolutePath().getParent());
      temp = Files.createTempFile(target.toAbsolutePath().getParent(), "." + target.getFileName() + ".part-", "");
      try (java.nio.channels.FileChannel out = java.nio.channels.FileChannel.open(temp,
              java.nio.file.StandardOpenOption.WRITE)) {
        List<java.util.concurrent.Future<Boolean>> futures = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
          long offset = i * part;
          long last = Math.min(size, offset + part) - 1;
          futures.add(pool.submit(() -> getRange(k, etag, offset, last, out)));
        }
        for (var future : futures) {
          if (!future.get()) {
            return false;
          }
        }
      }
      Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      temp = null;
      return true;
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof S3Exception refused && refusesRanges(refused)) {
        refuseRanges(refused.statusCode() + " " + refused.getMessage());
        return false;
      }
      throw failure(e, key, "download");
    } catch (Exception e) {
      throw failure(e, key, "download");
    } finally {
      pool.shutdownNow();
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (java.io.IOException ignored) {
          // A stray partial file is named as one.
        }
      }
    }
  }

  /** One ranged GET written at its offset; false when the server answered with something else than that range. */
  private boolean getRange(String k, String etag, long first, long last, java.nio.channels.FileChannel out)
      throws java.io.IOException {
    try (software.amazon.awssdk.core.ResponseInputStream<software.amazon.awssdk.services.s3.model.GetObjectResponse> in =
        s3.getObject(b -> b.bucket(bucket).key(k).range("bytes=" + first + "-" + last).ifMatch(etag))) {
      String range = in.response().contentRange();
      if (range == null || !range.startsWith("bytes " + first + "-" + last + "/")
          || in.response().contentLength() != last - first + 1) {
        refuseRanges("asked for bytes " + first + "-" + last + ", got Content-Range " + range + " and "
            + in.response().contentLength() + " bytes");
        in.abort();
        return false;
      }
      byte[] buffer = new byte[1 << 16];
      long position = first;
      for (int n; (n = in.read(buffer)) > 0; ) {
        java.nio.ByteBuffer chunk = java.nio.ByteBuffer.wrap(buffer, 0, n);
        while (chunk.hasRemaining()) {
          position += out.write(chunk, position);
        }
      }
      if (position != last + 1) {
        throw new java.io.IOException("range " + first + "-" + last + " ended after " + (position - first) + " bytes");
      }
      return true;
    }
  }

  private static boolean refusesRanges(S3Exception e) {
    return e.statusCode() == 400 || e.statusCode() == 416 || e.statusCode() == 501;
  }

  private void refuseRanges(String why) {
    if (rangesRefused.compareAndSet(false, true)) {
      log.warn("the S3 server at {} does not serve ranged GETs ({}): downloading large objects of {} in one GET instead",
          settings.describeEndpoint(), why, rootUri());
    }
  }

  private void downloadWhole(String key, Path target) {
    try (InputStream in = open(key)) {
      Files.createDirectories(target.toAbsolutePath().getParent());
      Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
    } catch (java.io.IOException e) {
      throw TimemachineException.unavailable("cannot download " + uriOf(key) + ": " + e.getMessage(), e);
    }
  }

  @Override
  public List<String> list(String listPrefix) {
    return listDetailed(listPrefix).stream().map(Listed::key).toList();
  }

  @Override
  public List<Listed> listDetailed(String listPrefix) {
    requireBucket();
    List<Listed> keys = new ArrayList<>();
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
          keys.add(new Listed(object.key().substring(prefix.length()), object.size() == null ? 0 : object.size(),
              object.lastModified()));
        }
        token = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
      } while (token != null);
    } catch (SdkException e) {
      throw translate(e, listPrefix);
    }
    keys.sort(java.util.Comparator.comparing(Listed::key));
    return keys;
  }

  private static boolean isNoSuchBucket(S3Exception e) {
    return e.awsErrorDetails() != null && "NoSuchBucket".equals(e.awsErrorDetails().errorCode());
  }

  /**
   * Names the case and what to do about it: a missing bucket, refused credentials and a wrong region
   * are configuration (never retried); an endpoint that does not answer is unavailable (retried).
   */
  TimemachineException translate(SdkException e, String key) {
    String where = key.isEmpty() ? rootUri() : uriOf(key);
    String endpoint = settings.describeEndpoint();
    if (e instanceof S3Exception s3e) {
      int status = s3e.statusCode();
      String code = s3e.awsErrorDetails() == null || s3e.awsErrorDetails().errorCode() == null
          ? "" : s3e.awsErrorDetails().errorCode();
      String bucketRegion = s3e.awsErrorDetails() == null || s3e.awsErrorDetails().sdkHttpResponse() == null
          ? null : s3e.awsErrorDetails().sdkHttpResponse().firstMatchingHeader(BUCKET_REGION_HEADER).orElse(null);
      if (e instanceof NoSuchBucketException || "NoSuchBucket".equals(code)) {
        return TimemachineException.configuration(
            "bucket " + bucket + " does not exist at endpoint " + endpoint,
            "create it (e.g. aws s3 mb s3://" + bucket + mbEndpoint() + ") or fix the store URI (s3://" + bucket + "/...)");
      }
      if ("AuthorizationHeaderMalformed".equals(code) || "PermanentRedirect".equals(code)
          || "IllegalLocationConstraintException".equals(code) || status == 301
          || (bucketRegion != null && !bucketRegion.equals(settings.region()))) {
        return TimemachineException.configuration(
            "bucket " + bucket + " at " + endpoint + " is not in region " + settings.region()
                + (bucketRegion != null ? " but in " + bucketRegion : "") + " (" + describe(s3e, code) + ")",
            "set AWS_REGION to the bucket's region" + (bucketRegion != null ? " (AWS_REGION=" + bucketRegion + ")" : "")
                + ", or TIMEMACHINE_S3_ENDPOINT to that region's endpoint");
      }
      if (status == 401 || status == 403 || "InvalidAccessKeyId".equals(code) || "SignatureDoesNotMatch".equals(code)
          || "AccessDenied".equals(code) || "ExpiredToken".equals(code) || "InvalidToken".equals(code)) {
        return TimemachineException.configuration(
            "access to " + where + " at " + endpoint + " was refused (" + describe(s3e, code) + ")",
            credentialHint(code));
      }
      if (e instanceof NoSuchKeyException || status == 404) {
        return TimemachineException.notFound(where + " does not exist", null);
      }
      return TimemachineException.unavailable(
          "S3 request for " + where + " at " + endpoint + " failed: " + describe(s3e, code), e);
    }
    if (isCredentialLookup(e)) {
      return TimemachineException.configuration(
          "no S3 credentials for " + where + ": " + e.getMessage(),
          "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) for the S3 store");
    }
    Throwable cause = rootCause(e);
    if (cause instanceof ConnectException || cause instanceof NoRouteToHostException) {
      return new TimemachineException(ErrorType.UNAVAILABLE,
          "S3 endpoint " + endpoint + " is down: it refused the connection for " + where + " (" + cause.getMessage() + ")",
          "start the S3 server, or fix TIMEMACHINE_S3_ENDPOINT", e);
    }
    if (cause instanceof UnknownHostException) {
      return new TimemachineException(ErrorType.UNAVAILABLE,
          "S3 endpoint " + endpoint + " cannot be resolved (unknown host " + cause.getMessage() + ") for " + where,
          "fix TIMEMACHINE_S3_ENDPOINT, or check DNS", e);
    }
    if (cause instanceof SocketTimeoutException) {
      return new TimemachineException(ErrorType.UNAVAILABLE,
          "S3 endpoint " + endpoint + " did not answer in time for " + where + " (" + cause.getMessage() + ")",
          "check that the S3 server is healthy and reachable", e);
    }
    return TimemachineException.unavailable(
        "S3 request for " + where + " at " + endpoint + " failed: " + e.getMessage(), e);
  }

  private String mbEndpoint() {
    return settings.endpoint() == null ? "" : " --endpoint-url " + settings.endpoint();
  }

  private String credentialHint(String code) {
    String which = switch (code) {
      case "InvalidAccessKeyId" -> "AWS_ACCESS_KEY_ID (the server does not know this access key)";
      case "SignatureDoesNotMatch" -> "AWS_SECRET_ACCESS_KEY (it does not match AWS_ACCESS_KEY_ID)";
      case "ExpiredToken", "InvalidToken" -> "AWS_SESSION_TOKEN (it expired or is not valid)";
      default -> "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and that they may access bucket " + bucket;
    };
    return "check " + which + (settings.hasStaticCredentials() ? "" : "; they are unset, so the default AWS credential chain was used");
  }

  private static String describe(S3Exception e, String code) {
    String message = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorMessage();
    return "HTTP " + e.statusCode() + (code.isEmpty() ? "" : " " + code)
        + (message == null || message.isBlank() || message.equals(code) ? "" : ": " + message);
  }

  private static boolean isCredentialLookup(SdkException e) {
    return e instanceof SdkClientException && e.getMessage() != null && e.getMessage().contains("Unable to load credentials");
  }

  private static Throwable rootCause(Throwable e) {
    return Causes.root(e);
  }
}
