package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timemachine.adapters.docker.DockerContainerEngine;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ImageRef;
import dev.timemachine.core.ports.Progress;
import dev.timemachine.samples.SampleEnvironment;
import dev.timemachine.samples.SampleProject;
import dev.timemachine.samples.SampleRuns;
import dev.timemachine.samples.Services;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bad-input catalogue: every input a hostile or careless user may give, run through the packaged
 * CLI on the embedded defaults, each with the exit code, the exact kind (an error's {@code kind} from
 * {@code TIMEMACHINE_ERROR_FORMAT=json}, or a replay's verdict from {@code --json}) and a phrase the
 * answer must contain. After every case the store is compared with what it held before: nothing
 * lost or overwritten, and a refusal adds nothing at all. {@code docs/bad-inputs.md} is generated from
 * this table ({@code -Dcatalogue.write=true} rewrites it) and checked against it on every run.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputCatalogueIT {
  private static final Path JAR = Path.of("target/timemachine.jar").toAbsolutePath();
  private static final Path DOC = Path.of("../docs/bad-inputs.md").toAbsolutePath();
  private static final List<String> VERDICTS =
      List.of("REPRODUCED_BITWISE", "REPRODUCED_WITHIN_TOLERANCE", "DIVERGED", "TRAINING_FAILED", "INPUTS_UNVERIFIABLE",
          "ERROR");

  @TempDir static Path tmp;
  private Path home;
  private Path store;
  private SampleProject.Repository repo;
  private ImageRef image;
  private Path data;
  private Path original;
  private String snapshot;
  private String shadowSha;
  private int counter;
  /** The class-data-sharing option of every CLI run: none, dump (the baseline replay), then use. */
  private String cds;

  /** How a case prepares what it needs (files, versions, tampering) and returns the CLI's arguments. */
  @FunctionalInterface
  interface Setup {
    List<String> args() throws Exception;
  }

  /**
   * One row: {@code input} is what the user gave, in words for the page; {@code kind} an error kind or
   * a verdict; {@code says} a phrase the message (or the verdict's reason) contains.
   */
  record Case(String group, String input, Map<String, String> env, Setup setup, int exit, String kind, String says) {}

  private final List<Case> cases = new ArrayList<>();

  private void add(String group, String input, int exit, String kind, String says, Setup setup) {
    cases.add(new Case(group, input, Map.of(), setup, exit, kind, says));
  }

  private void addEnv(String group, String input, Map<String, String> env, int exit, String kind, String says, Setup setup) {
    cases.add(new Case(group, input, env, setup, exit, kind, says));
  }

  // ---------------------------------------------------------------- fixtures

  @BeforeAll
  void prepare() throws Exception {
    Services.requireAll();
    assertThat(JAR).as("the packaged CLI").exists();
    home = Files.createDirectories(tmp.resolve("home"));
    store = home.resolve("store");
    image = SampleEnvironment.pinned();
    repo = SampleProject.createRepository(SampleProject.CHURN, tmp.resolve("churn"));
    try (DockerContainerEngine engine = new DockerContainerEngine("unix:///var/run/docker.sock")) {
      engine.pull(image, Progress.NONE);
      data = SampleRuns.generateData(engine, image, repo, tmp.resolve("data"));
      original = SampleRuns.trainOriginal(engine, image, repo, data, tmp.resolve("original"));
    }
    Result snap = cli(Map.of(), "snapshot", "create", data.toString(), store.toUri().toString());
    assertThat(snap.exit()).as(snap.err()).isZero();
    snapshot = snap.out().strip().split("\n")[1];
    register("churn@1", "python3 train.py", snapshot);
    // The first replay publishes the signing key into the store: done here, so that no case below does.
    Path jsa = tmp.resolve("catalogue.jsa");
    cds = "-XX:ArchiveClassesAtExit=" + jsa;
    Result baseline = cli(Map.of(), "replay", "churn@1", "--replay-id", "cat-baseline");
    assertThat(baseline.exit()).as(baseline.err()).isZero();
    cds = Files.exists(jsa) ? "-XX:SharedArchiveFile=" + jsa : null;
    shadowSha = sha256(Files.readAllBytes(Path.of("/etc/shadow")));
    catalogue();
  }

  @AfterAll
  void noContainersLeft() throws Exception {
    Process ps = new ProcessBuilder("docker", "ps", "-aq", "--filter", "label=dev.timemachine.replay").start();
    String ids = new String(ps.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    ps.waitFor();
    // Only this test's containers would carry its replays' ids; a concurrent build's are not counted.
    Process mine = new ProcessBuilder("sh", "-c",
        "docker ps -a --filter label=dev.timemachine.replay --format '{{.Label \"dev.timemachine.replay\"}}' | grep '^cat-' || true")
        .start();
    String left = new String(mine.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    mine.waitFor();
    assertThat(left).as("training containers of catalogue replays left behind (all: %s)", ids).isEmpty();
  }

  record Result(int exit, String out, String err) {}

  private Result cli(Map<String, String> extra, String... args) throws IOException, InterruptedException {
    return cli(extra, List.of(args));
  }

  private Result cli(Map<String, String> extra, List<String> args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("java"));
    // Class data sharing, as ./timemachine does: the baseline replay dumps the classes it loaded, every
    // later run maps them (the catalogue starts some 80 JVMs; this saves about a second each).
    if (cds != null) {
      command.addAll(List.of(cds, "-Xlog:cds=off", "-Xlog:cds+dynamic=off"));
    }
    command.addAll(List.of("-jar", JAR.toString()));
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command);
    Map<String, String> env = pb.environment();
    env.remove("TEMPORAL_ADDRESS");
    env.remove("TIMEMACHINE_STORE");
    env.remove("MLFLOW_TRACKING_URI");
    env.put("TIMEMACHINE_HOME", home.toString());
    env.put("TIMEMACHINE_ERROR_FORMAT", "json");
    env.put("TIMEMACHINE_TRANSIENT_DEADLINE", "20s");
    env.putAll(extra);
    Path out = tmp.resolve("stdout-" + System.nanoTime());
    Path err = tmp.resolve("stderr-" + System.nanoTime());
    Process process = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!process.waitFor(5, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      throw new AssertionError("timemachine " + String.join(" ", args) + " hung for 5 minutes");
    }
    return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
  }

  private void register(String model, String entryPoint, String dataUri) throws Exception {
    Result r = cli(Map.of(), registerArgs(model, entryPoint, dataUri, original));
    assertThat(r.exit()).as("register %s: %s", model, r.err()).isZero();
  }

  private List<String> registerArgs(String model, String entryPoint, String dataUri, Path output, String... more) {
    List<String> args = new ArrayList<>(List.of("register", "--model", model, "--repo", repo.url(), "--commit",
        repo.commit(), "--entry-point", entryPoint, "--image", image.toString(), "--data", dataUri, "--output",
        output.toString()));
    args.addAll(List.of(more));
    return args;
  }

  /** A fresh output directory: the original outputs with {@code metrics} as metrics.json. */
  private Path outputWithMetrics(String metrics) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("out-" + (++counter)));
    Files.copy(original.resolve("model.pkl"), dir.resolve("model.pkl"));
    Files.writeString(dir.resolve("metrics.json"), metrics);
    return dir;
  }

  private Path outputWithExtra(String name) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("out-" + (++counter)));
    Files.copy(original.resolve("model.pkl"), dir.resolve("model.pkl"));
    Files.copy(original.resolve("metrics.json"), dir.resolve("metrics.json"));
    Files.writeString(dir.resolve(name), "x");
    return dir;
  }

  /** A data directory of its own content, so that its snapshot objects are shared with no other case. */
  private Path ownData() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("data-" + (++counter)));
    try (Stream<Path> files = Files.list(data)) {
      for (Path f : files.toList()) {
        Files.copy(f, dir.resolve(f.getFileName()));
      }
    }
    Files.writeString(dir.resolve("unique.txt"), "case " + counter + " " + System.nanoTime() + "\n");
    return dir;
  }

  private String ownSnapshot() throws Exception {
    Result snap = cli(Map.of(), "snapshot", "create", ownData().toString(), store.toUri().toString());
    assertThat(snap.exit()).as(snap.err()).isZero();
    return snap.out().strip().split("\n")[1];
  }

  /** The stored object of the file {@code path} of snapshot {@code uri}. */
  private Path objectOf(String snapshotUri, String path) throws IOException {
    Path manifestDir = Path.of(java.net.URI.create(snapshotUri));
    JsonNode manifest = Json.mapper().readTree(manifestDir.resolve("manifest.json").toFile());
    for (JsonNode f : manifest.path("files")) {
      if (f.path("path").asText().equals(path)) {
        String sha = f.path("sha256").asText();
        return store.resolve("objects/sha256").resolve(sha.substring(0, 2)).resolve(sha);
      }
    }
    throw new AssertionError(path + " not in " + manifestDir);
  }

  private String hostile(String name, String script) throws Exception {
    String model = "cat-" + name + "@1";
    register(model, Json.mapper().writeValueAsString(List.of("sh", "-c", script)), snapshot);
    return model;
  }

  private List<String> replay(String spec, String... more) {
    List<String> args = new ArrayList<>(List.of("replay", spec, "--json", "--replay-id", "cat-" + (++counter) + "-" + System.nanoTime()));
    args.addAll(List.of(more));
    return args;
  }

  private static List<String> args(String... args) {
    return List.of(args);
  }

  // ---------------------------------------------------------------- the catalogue

  private void catalogue() {
    String spec = "model spec";
    add(spec, "`replay ''` (empty spec)", 2, "INVALID_INPUT", "", () -> args("replay", ""));
    add(spec, "`replay a@` (no version)", 2, "INVALID_INPUT", "a@", () -> args("replay", "a@"));
    add(spec, "`replay @1` (no name)", 2, "INVALID_INPUT", "@1", () -> args("replay", "@1"));
    add(spec, "`replay <10,000 characters>@1`", 2, "INVALID_INPUT", "", () -> args("replay", "m".repeat(10_000) + "@1"));
    add(spec, "`replay ../../x@1` (a path in the name)", 2, "INVALID_INPUT", "../../x", () -> args("replay", "../../x@1"));
    add(spec, "`replay modèle-ü@1` (non-ASCII name)", 2, "INVALID_INPUT", "", () -> args("replay", "modèle-ü@1"));
    add(spec, "`replay nosuch@1` (unknown model)", 2, "NOT_FOUND", "nosuch", () -> args("replay", "nosuch@1"));
    add(spec, "`replay churn@99` (unknown version)", 2, "NOT_FOUND", "churn@99", () -> args("replay", "churn@99"));
    add(spec, "`replay churn@champion` (unknown alias)", 2, "NOT_FOUND", "champion", () -> args("replay", "churn@champion"));

    String reg = "register";
    add(reg, "`--image repo:tag` (a tag, no digest)", 2, "INVALID_INPUT", "digest",
        () -> registerArgs("cat-tag@1", "python3 train.py", snapshot, original).stream()
            .map(a -> a.equals(image.toString()) ? image.repository() + ":bookworm" : a).toList());
    add(reg, "`--commit abc1234` (short SHA)", 2, "INVALID_INPUT", "40",
        () -> replaceCommit(registerArgs("cat-short@1", "python3 train.py", snapshot, original), "abc1234"));
    add(reg, "`--commit` of 40 non-hex characters", 2, "INVALID_INPUT", "40",
        () -> replaceCommit(registerArgs("cat-nonhex@1", "python3 train.py", snapshot, original), "z".repeat(40)));
    add(reg, "`--commit` that the repository does not have", 2, "INVALID_INPUT", "not reachable",
        () -> replaceCommit(registerArgs("cat-nocommit@1", "python3 train.py", snapshot, original), "1".repeat(40)));
    add(reg, "`--image` digest that no registry has", 2, "INVALID_INPUT", "is not in its registry",
        () -> registerArgs("cat-noimage@1", "python3 train.py", snapshot, original).stream()
            .map(a -> a.equals(image.toString()) ? image.repository() + "@sha256:" + "1".repeat(64) : a).toList());
    add(reg, "`--entry-point ''`", 2, "INVALID_INPUT", "--entry-point is empty",
        () -> registerArgs("cat-noep@1", "", snapshot, original));
    add(reg, "`--output` that does not exist", 2, "INVALID_INPUT", "does not exist",
        () -> registerArgs("cat-noout@1", "python3 train.py", snapshot, tmp.resolve("missing-output")));
    add(reg, "`--output` an empty directory", 2, "INVALID_INPUT", "wrote nothing",
        () -> registerArgs("cat-emptyout@1", "python3 train.py", snapshot, Files.createDirectories(tmp.resolve("empty-out"))));
    add(reg, "metrics file that is not JSON", 2, "INVALID_INPUT", "not valid JSON",
        () -> registerArgs("cat-m1@1", "python3 train.py", snapshot, outputWithMetrics("accuracy: 0.9")));
    add(reg, "metrics nested (`{\"a\": {\"b\": 1}}`)", 2, "INVALID_INPUT", "non-numeric metrics",
        () -> registerArgs("cat-m2@1", "python3 train.py", snapshot, outputWithMetrics("{\"a\": {\"b\": 1}}")));
    add(reg, "metrics with `NaN`", 2, "INVALID_INPUT", "not valid JSON",
        () -> registerArgs("cat-m3@1", "python3 train.py", snapshot, outputWithMetrics("{\"a\": NaN}")));
    add(reg, "metrics with `Infinity`", 2, "INVALID_INPUT", "not valid JSON",
        () -> registerArgs("cat-m4@1", "python3 train.py", snapshot, outputWithMetrics("{\"a\": Infinity}")));
    add(reg, "metrics with `1e400` (overflows a double)", 2, "INVALID_INPUT", "not finite",
        () -> registerArgs("cat-m5@1", "python3 train.py", snapshot, outputWithMetrics("{\"a\": 1e400}")));
    add(reg, "metrics with a key given twice", 2, "INVALID_INPUT", "Duplicate field",
        () -> registerArgs("cat-m6@1", "python3 train.py", snapshot, outputWithMetrics("{\"a\": 0.5, \"a\": 0.6}")));
    add(reg, "metrics file of 200,000 entries", 2, "INVALID_INPUT", "more than the 10000",
        () -> {
          StringBuilder json = new StringBuilder("{");
          for (int i = 0; i < 200_000; i++) {
            json.append(i == 0 ? "" : ",").append("\"m").append(i).append("\":").append(i);
          }
          return registerArgs("cat-m7@1", "python3 train.py", snapshot, outputWithMetrics(json.append('}').toString()));
        });
    add(reg, "`--metrics-file ../secret.json` (outside the output directory)", 2, "INVALID_INPUT", "metrics file",
        () -> {
          Path out = outputWithMetrics("{\"accuracy\": 0.9}");
          Files.writeString(out.getParent().resolve("secret.json"), "{\"s3cr3t_marker\": 1}");
          return registerArgs("cat-outside@1", "python3 train.py", snapshot, out, "--metrics-file", "../secret.json");
        });
    add(reg, "`--tolerance accuracy=abs` (no number)", 2, "INVALID_INPUT", "expected abs",
        () -> registerArgs("cat-t1@1", "python3 train.py", snapshot, original, "--tolerance", "accuracy=abs"));
    add(reg, "`--tolerance accuracy=abs:Infinity`", 2, "INVALID_INPUT", "finite",
        () -> registerArgs("cat-t2@1", "python3 train.py", snapshot, original, "--tolerance", "accuracy=abs:Infinity"));
    add(reg, "`--tolerance accuracy=rel:-1`", 2, "INVALID_INPUT", ">= 0",
        () -> registerArgs("cat-t3@1", "python3 train.py", snapshot, original, "--tolerance", "accuracy=rel:-1"));
    add(reg, "an output named `back\\slash`", 2, "INVALID_INPUT", "backslash",
        () -> registerArgs("cat-n1@1", "python3 train.py", snapshot, outputWithExtra("back\\slash")));
    add(reg, "an output whose name holds a line break", 2, "INVALID_INPUT", "newline",
        () -> registerArgs("cat-n2@1", "python3 train.py", snapshot, outputWithExtra("line\nbreak")));
    add(reg, "`churn@1` again with other content", 2, "CONFLICT", "churn@1",
        () -> registerArgs("churn@1", "python3 train.py --other", snapshot, original));
    add(reg, "`--data file:///etc` (not a snapshot)", 3, "INPUT_UNVERIFIABLE", "file:///etc/manifest.json not found",
        () -> registerArgs("cat-etc@1", "python3 train.py", "file:///etc", original));
    add(reg, "`--data` a snapshot one of whose objects is gone", 3, "INPUT_UNVERIFIABLE", "is missing from snapshot",
        () -> {
          String uri = ownSnapshot();
          Files.delete(objectOf(uri, "unique.txt"));
          return registerArgs("cat-gone@1", "python3 train.py", uri, original);
        });

    String snap = "snapshot create";
    add(snap, "an empty directory", 2, "INVALID_INPUT", "empty",
        () -> args("snapshot", "create", Files.createDirectories(tmp.resolve("empty-data")).toString(), store.toUri().toString()));
    add(snap, "a directory with a symlink to a file outside it", 2, "INVALID_INPUT", "link",
        () -> {
          Path dir = ownData();
          Files.createSymbolicLink(dir.resolve("passwd"), Path.of("/etc/passwd"));
          return args("snapshot", "create", dir.toString(), store.toUri().toString());
        });
    add(snap, "a directory with a FIFO", 2, "INVALID_INPUT", "",
        () -> {
          Path dir = ownData();
          assertThat(new ProcessBuilder("mkfifo", dir.resolve("pipe").toString()).start().waitFor()).isZero();
          return args("snapshot", "create", dir.toString(), store.toUri().toString());
        });
    add(snap, "into `s3://` (no bucket)", 2, "INVALID_INPUT", "names no bucket",
        () -> args("snapshot", "create", data.toString(), "s3://"));
    add(snap, "into `s3://Bad_Bucket/x` (not a bucket name)", 2, "INVALID_INPUT", "not an S3 bucket name",
        () -> args("snapshot", "create", data.toString(), "s3://Bad_Bucket/x"));
    add(snap, "into `file:rel` (not absolute)", 2, "INVALID_INPUT", "absolute file URI",
        () -> args("snapshot", "create", data.toString(), "file:rel"));
    add(snap, "into `gs://bucket` (unsupported scheme)", 2, "INVALID_INPUT", "unsupported store URI",
        () -> args("snapshot", "create", data.toString(), "gs://bucket"));

    String conf = "configuration";
    addEnv(conf, "`TEMPORAL_ADDRESS=garbage:::`", Map.of("TEMPORAL_ADDRESS", "garbage:::"), 2, "CONFIGURATION",
        "not host:port", () -> args("replay", "churn@1"));
    addEnv(conf, "`TEMPORAL_ADDRESS=http://127.0.0.1:7233`", Map.of("TEMPORAL_ADDRESS", "http://127.0.0.1:7233"), 2,
        "CONFIGURATION", "is a URL", () -> args("replay", "churn@1"));
    addEnv(conf, "`DOCKER_HOST=ftp://x`", Map.of("DOCKER_HOST", "ftp://x"), 2, "CONFIGURATION", "DOCKER_HOST",
        () -> args("replay", "churn@1"));
    addEnv(conf, "`MLFLOW_TRACKING_URI=not a url`", Map.of("MLFLOW_TRACKING_URI", "not a url"), 2, "CONFIGURATION",
        "MLFLOW_TRACKING_URI", () -> args("replay", "mlflow:churn@1"));
    addEnv(conf, "`TIMEMACHINE_TRAIN_MEMORY=lots`", Map.of("TIMEMACHINE_TRAIN_MEMORY", "lots"), 2, "CONFIGURATION",
        "TIMEMACHINE_TRAIN_MEMORY", () -> args("replay", "churn@1"));
    addEnv(conf, "`TIMEMACHINE_STORE=s3://` (no bucket)",
        Map.of("TIMEMACHINE_STORE", "s3://"), 2, "CONFIGURATION", "TIMEMACHINE_STORE", () -> args("models", "list"));

    String lim = "replay options";
    add(lim, "`--memory abc`", 2, "INVALID_INPUT", "--memory 'abc' is not a size", () -> args("replay", "churn@1", "--memory", "abc"));
    add(lim, "`--timeout-seconds 999999999999`", 2, "INVALID_INPUT", "at most 2592000",
        () -> args("replay", "churn@1", "--timeout-seconds", "999999999999"));
    add(lim, "`--memory 100000g` (16 TiB is the most)", 2, "INVALID_INPUT", "at most 16 TiB",
        () -> args("replay", "churn@1", "--memory", "100000g"));
    add(lim, "`--cpus 0`", 2, "INVALID_INPUT", "cpus", () -> args("replay", "churn@1", "--cpus", "0"));
    add(lim, "`--replay-id ''`", 2, "INVALID_INPUT", "replay id", () -> args("replay", "churn@1", "--replay-id", ""));
    add(lim, "`--replay-id ../x`", 2, "INVALID_INPUT", "replay id", () -> args("replay", "churn@1", "--replay-id", "../x"));
    add(lim, "`--sandbox loose`", 2, "INVALID_INPUT", "loose", () -> args("replay", "churn@1", "--sandbox", "loose"));
    add(lim, "`--cpus 1000` (more than the engine has)", 4, "ERROR", "more than the",
        () -> replay("churn@1", "--cpus", "1000"));
    add(lim, "`--replay-id` of a finished replay", 2, "CONFLICT", "",
        () -> {
          Result first = cli(Map.of(), "replay", "churn@1", "--replay-id", "cat-reused");
          assertThat(first.exit()).as(first.err()).isZero();
          return args("replay", "churn@1", "--replay-id", "cat-reused");
        });

    String tamper = "stored evidence altered";
    add(tamper, "a snapshot object altered after registration", 3, "INPUTS_UNVERIFIABLE", "unique.txt",
        () -> {
          String uri = ownSnapshot();
          register("cat-alter@1", "python3 train.py", uri);
          Path object = objectOf(uri, "unique.txt");
          object.toFile().setWritable(true);
          Files.writeString(object, "tampered\n");
          return replay("cat-alter@1");
        });
    add(tamper, "a snapshot object deleted after registration", 3, "INPUTS_UNVERIFIABLE", "unique.txt",
        () -> {
          String uri = ownSnapshot();
          register("cat-delete@1", "python3 train.py", uri);
          Files.delete(objectOf(uri, "unique.txt"));
          return replay("cat-delete@1");
        });
    add(tamper, "a file added to a stored snapshot manifest", 3, "INPUTS_UNVERIFIABLE", "",
        () -> {
          String uri = ownSnapshot();
          register("cat-added@1", "python3 train.py", uri);
          Path manifest = Path.of(java.net.URI.create(uri)).resolve("manifest.json");
          var node = (com.fasterxml.jackson.databind.node.ObjectNode) Json.mapper().readTree(manifest.toFile());
          var files = (com.fasterxml.jackson.databind.node.ArrayNode) node.path("files");
          files.addObject().put("path", "extra.csv").put("size", 1).put("sha256", "0".repeat(64));
          manifest.toFile().setWritable(true);
          Files.write(manifest, Json.toBytes(node));
          return replay("cat-added@1");
        });
    add(tamper, "a model manifest edited after registration (its entry point)", 3, "INPUTS_UNVERIFIABLE",
        "was changed after registration",
        () -> {
          register("cat-edited@1", "python3 train.py", snapshot);
          Path manifest = store.resolve("models/cat-edited/1.json");
          manifest.toFile().setWritable(true);
          Files.writeString(manifest, Files.readString(manifest).replace("\"train.py\"", "\"train.py\", \"--evil\""));
          return replay("cat-edited@1");
        });
    add(tamper, "a model manifest deleted", 2, "NOT_FOUND", "cat-deleted@1",
        () -> {
          register("cat-deleted@1", "python3 train.py", snapshot);
          Files.delete(store.resolve("models/cat-deleted/1.json"));
          return args("replay", "cat-deleted@1");
        });
    add(tamper, "a stored report altered, then `verify`", 1, "FAIL", "the stored report's sha256 is",
        () -> {
          Result first = cli(Map.of(), "replay", "churn@1", "--replay-id", "cat-verify");
          assertThat(first.exit()).as(first.err()).isZero();
          Path report = store.resolve("reports/cat-verify.json");
          report.toFile().setWritable(true);
          Files.writeString(report, Files.readString(report).replace("REPRODUCED_BITWISE", "DIVERGED"));
          return args("verify", "cat-verify");
        });

    String host = "hostile training code";
    add(host, "connects to the S3 server on 127.0.0.1:9000", 1, "TRAINING_FAILED", "Connection refused",
        () -> replay(hostile("net", "python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:9000/', timeout=3)\"")));
    add(host, "writes to /code", 1, "TRAINING_FAILED", "Read-only",
        () -> replay(hostile("code", "echo x > /code/train.py")));
    add(host, "writes to /data", 1, "TRAINING_FAILED", "Read-only",
        () -> replay(hostile("data", "echo x > /data/customers.csv")));
    add(host, "fork bomb", 1, "TRAINING_FAILED", "",
        () -> replay(hostile("fork", "python3 -c \"import os\nwhile True: os.fork()\""), "--timeout-seconds", "20"));
    add(host, "memory bomb (under `--memory 64m`)", 1, "TRAINING_FAILED", "memory",
        () -> replay(hostile("mem", "python3 -c \"x = bytearray(1 << 30)\""), "--memory", "64m"));
    add(host, "runs past the timeout (`--timeout-seconds 3`)", 1, "TRAINING_FAILED", "timed out",
        () -> replay(hostile("slow", "sleep 60"), "--timeout-seconds", "3"));
    addEnv(host, "writes 100 MB past `TIMEMACHINE_TRAIN_MAX_OUTPUT=20m`", Map.of("TIMEMACHINE_TRAIN_MAX_OUTPUT", "20m"), 1,
        "TRAINING_FAILED", "TIMEMACHINE_TRAIN_MAX_OUTPUT", () -> replay(hostile("big", "head -c 100000000 /dev/zero > /out/big")));
    add(host, "replaces its model with a symlink to /etc/shadow", 1, "DIVERGED", "model.pkl",
        () -> replay(hostile("link", "python3 train.py && rm /out/model.pkl && ln -s /etc/shadow /out/model.pkl")));
    add(host, "writes an unrecorded 100 MB file beside its model", 0, "REPRODUCED_BITWISE",
        "hashed and listed but not kept: extra.bin (100000000 bytes)",
        () -> replay(hostile("extra", "python3 train.py && head -c 100000000 /dev/zero > /out/extra.bin")));
    add(host, "leaves a background process behind", 0, "REPRODUCED_BITWISE", "",
        () -> replay(hostile("bg", "(sleep 300 &) ; exec python3 train.py")));
  }

  private static List<String> replaceCommit(List<String> args, String commit) {
    List<String> copy = new ArrayList<>(args);
    copy.set(copy.indexOf("--commit") + 1, commit);
    return copy;
  }

  // ---------------------------------------------------------------- running it

  @TestFactory
  Stream<DynamicTest> every_bad_input_gets_its_specific_answer_and_loses_nothing() {
    return cases.stream().map(c -> DynamicTest.dynamicTest(c.group() + ": " + c.input(), () -> run(c)));
  }

  private void run(Case c) throws Exception {
    List<String> args = c.setup().args();
    Map<String, String> before = tree();
    Result r = cli(c.env(), args);
    boolean verdict = VERDICTS.contains(c.kind());
    String kind;
    String message;
    if (verdict) {
      assertThat(r.out()).as("a report on stdout; stderr: %s", r.err()).startsWith("{");
      JsonNode report = Json.mapper().readTree(r.out());
      kind = report.path("verdict").asText();
      message = report.path("verdictReason").asText() + "\n" + report.path("logTail").toString();
    } else if (c.kind().equals("FAIL")) {
      kind = (r.out() + r.err()).lines().anyMatch(l -> l.startsWith("FAIL ")) ? "FAIL" : "PASS";
      message = r.out() + r.err();
    } else {
      String line = r.err().lines().filter(l -> l.startsWith("{\"error\"")).findFirst()
          .orElseThrow(() -> new AssertionError("no JSON error line; exit " + r.exit() + ", stderr: " + r.err()));
      JsonNode error = Json.mapper().readTree(line).path("error");
      kind = error.path("kind").asText();
      message = error.path("message").asText();
      assertThat(message).as("one line").doesNotContain("\n");
      assertThat(kind).as("never a bug: %s", message).isNotEqualTo("BUG");
    }
    System.out.printf("[catalogue] %-24s %-60s exit %d %s: %s%n", c.group(), c.input(), r.exit(), kind,
        message.lines().findFirst().orElse(""));
    assertThat(kind).as("kind for %s (%s)", c.input(), message).isEqualTo(c.kind());
    assertThat(r.exit()).as("exit code for %s (%s)", c.input(), message).isEqualTo(c.exit());
    assertThat(message).as("what it says").contains(c.says());
    assertThat(r.out() + r.err()).as("nothing read from outside what it may read is printed").doesNotContain("s3cr3t_marker");

    Map<String, String> after = tree();
    for (Map.Entry<String, String> e : before.entrySet()) {
      assertThat(after.get(e.getKey())).as("store file %s kept as it was", e.getKey()).isEqualTo(e.getValue());
    }
    if (!verdict && !c.kind().equals("FAIL")) {
      assertThat(after.keySet()).as("a refusal writes nothing to the store").isEqualTo(before.keySet());
    }
    for (String key : after.keySet()) {
      assertThat(after.get(key)).as("the host's /etc/shadow leaked into %s", key).isNotEqualTo(shadowSha);
    }
    if (verdict) {
      assertThat(r.out()).as("the report names no host secret").doesNotContain(shadowSha);
    }
  }

  /** Every file of the store by path, with its sha256. */
  private Map<String, String> tree() throws IOException {
    Map<String, String> files = new TreeMap<>();
    if (!Files.isDirectory(store)) {
      return files;
    }
    try (Stream<Path> walk = Files.walk(store)) {
      for (Path p : walk.filter(Files::isRegularFile).toList()) {
        files.put(store.relativize(p).toString(), sha256(Files.readAllBytes(p)));
      }
    }
    return files;
  }

  private static String sha256(byte[] content) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---------------------------------------------------------------- the page

  @Test
  void the_catalogue_has_at_least_40_cases_and_its_page_is_the_table() throws IOException {
    assertThat(cases).hasSizeGreaterThanOrEqualTo(40);
    StringBuilder page = new StringBuilder();
    page.append("# Bad inputs and what they get\n\n")
        .append("Generated from `cli/src/test/java/dev/timemachine/cli/BadInputCatalogueIT.java`, which runs every row\n")
        .append("through the packaged CLI on every build and checks that the store lost and overwrote nothing (a refusal\n")
        .append("writes nothing at all). Regenerate with `./mvnw -pl cli verify -Dit.test=BadInputCatalogueIT")
        .append(" -Dcatalogue.write=true`.\n\n")
        .append("`kind` is an error's kind (`TIMEMACHINE_ERROR_FORMAT=json` prints `{\"error\": {\"kind\", \"message\",")
        .append(" \"hint\", \"exit\"}}` on stderr) or a replay's verdict (`--json`). Exit codes: 0 reproduced,")
        .append(" 1 diverged or training failed, 2 usage or configuration, 3 inputs unverifiable, 4 error (no verdict).\n");
    Map<String, List<Case>> groups = new LinkedHashMap<>();
    cases.forEach(c -> groups.computeIfAbsent(c.group(), g -> new ArrayList<>()).add(c));
    for (Map.Entry<String, List<Case>> g : groups.entrySet()) {
      page.append("\n## ").append(g.getKey()).append("\n\n| input | exit | kind | says |\n| --- | --- | --- | --- |\n");
      for (Case c : g.getValue()) {
        page.append("| ").append(c.input().replace("|", "\\|")).append(c.env().isEmpty() ? "" : "")
            .append(" | ").append(c.exit()).append(" | `").append(c.kind()).append("` | ")
            .append(c.says().isEmpty() ? "" : "\"" + c.says().replace("|", "\\|") + "\"").append(" |\n");
      }
    }
    page.append("\n").append(cases.size()).append(" cases.\n");
    if (Boolean.getBoolean("catalogue.write")) {
      Files.writeString(DOC, page);
    }
    assertThat(DOC).as("docs/bad-inputs.md (regenerate with -Dcatalogue.write=true)").exists();
    assertThat(Files.readString(DOC)).as("docs/bad-inputs.md is the catalogue's table").isEqualTo(page.toString());
  }
}
