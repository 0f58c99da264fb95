package dev.timemachine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10's check, end to end with the packaged jar and real services (Docker, the image registry):
 * on a fresh home, {@code demo} then {@code verify} exits 0; one byte changed in the report, the
 * attestation, a stored artifact or a history record makes verify fail naming it; the auditor's
 * Python verifier (securesystemslib, from PyPI in a cached venv) accepts the genuine attestation and
 * rejects a tampered one.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class EvidenceIT {
  private static final Path JAR = Path.of("target/timemachine.jar");
  @TempDir static Path tmp;
  private Path home;
  private Path store;
  private String replayId;

  record Result(int exit, String out, String err) {}

  private Result run(List<String> command) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command);
    Map<String, String> env = pb.environment();
    env.remove("TEMPORAL_ADDRESS");
    env.remove("TIMEMACHINE_STORE");
    env.remove("TIMEMACHINE_SIGNING_KEY");
    env.put("TIMEMACHINE_HOME", home.toString());
    Path out = tmp.resolve("out-" + System.nanoTime());
    Path err = tmp.resolve("err-" + System.nanoTime());
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(p.waitFor(10, TimeUnit.MINUTES)).as("%s finished", command).isTrue();
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  private Result cli(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("java", "-jar", JAR.toAbsolutePath().toString()));
    command.addAll(List.of(args));
    return run(command);
  }

  private Result python(Path attestation) throws Exception {
    Result venv = run(List.of(Path.of("../scripts/verify-venv.sh").toAbsolutePath().toString()));
    assertThat(venv.exit()).as("the verifier's venv (PyPI must be reachable): %s", venv.err()).isZero();
    return run(List.of(venv.out().strip(), Path.of("../verify/verify_attestation.py").toAbsolutePath().toString(),
        attestation.toString(), "--key", home.resolve("keys/timemachine-signing.pub").toString()));
  }

  @BeforeAll
  void a_demo_on_a_fresh_home() throws Exception {
    assertThat(JAR).as("the packaged CLI (mvn package runs before the integration tests)").exists();
    home = tmp.resolve("home");
    Result demo = cli("demo");
    assertThat(demo.exit()).as("demo (needs scripts/services.sh up): %s", demo.err()).isZero();
    store = home.resolve("store");
    try (Stream<Path> reports = Files.list(store.resolve("reports"))) {
      replayId = reports.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".intoto.json")).findFirst()
          .orElseThrow().replace(".intoto.json", "");
    }
    assertThat(demo.out()).contains("verify:  timemachine verify " + replayId);
  }

  /** Changes one byte of a stored file, runs verify, puts the byte back. */
  private Result verifyWithOneByteChanged(Path file, String near) throws Exception {
    return verifyWithOneByteChanged(file, near, 0);
  }

  private Result verifyWithOneByteChanged(Path file, String near, int offset) throws Exception {
    byte[] original = Files.readAllBytes(file);
    byte[] changed = original.clone();
    int at = near == null ? original.length / 2 : new String(original, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf(near);
    assertThat(at).as("%s in %s", near, file).isNotNegative();
    at += offset;
    // A letter for another letter, so that base64 stays base64 and JSON stays JSON.
    changed[at] = (byte) (changed[at] == 'A' ? 'B' : 'A');
    Files.write(file, changed);
    try {
      return cli("verify", replayId);
    } finally {
      Files.write(file, original);
    }
  }

  @Test
  void verify_passes_on_the_genuine_evidence() throws Exception {
    Result r = cli("verify", replayId, "--key", home.resolve("keys/timemachine-signing.pub").toString());
    assertThat(r.exit()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("ok   signature", "ok   report fields", "ok   subjects", "ok   history", "every check passed");
  }

  @Test
  void one_byte_in_the_report_is_named() throws Exception {
    Result r = verifyWithOneByteChanged(store.resolve("reports/" + replayId + ".json"), "REPRODUCED_BITWISE");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).contains("NOT VERIFIED: first failing check 'report fields', field predicate.report.digest.sha256");
  }

  @Test
  void one_byte_in_the_attestation_is_named() throws Exception {
    Result r = verifyWithOneByteChanged(store.resolve("reports/" + replayId + ".intoto.json"), "\"payload\" : \"ew", 40);
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).contains("first failing check 'signature'");
  }

  @Test
  void one_byte_in_a_stored_artifact_is_named() throws Exception {
    Result r = verifyWithOneByteChanged(store.resolve("replays/" + replayId + "/outputs/model.pkl"), null);
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).contains("first failing check 'subjects', field replays/" + replayId + "/outputs/model.pkl");
  }

  @Test
  void one_byte_in_a_history_record_is_named() throws Exception {
    Result r = verifyWithOneByteChanged(store.resolve("history/churn/1/00000001.json"), "REPRODUCED_BITWISE");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).contains("first failing check 'history', field history/churn/1/00000001.json");
    Result history = cli("history", "churn@1");
    assertThat(history.exit()).as(history.out()).isZero();
  }

  @Test
  void the_python_verifier_accepts_the_genuine_attestation_and_rejects_a_tampered_one() throws Exception {
    Path genuine = store.resolve("reports/" + replayId + ".intoto.json");
    Result ok = python(genuine);
    assertThat(ok.exit()).as(ok.out() + ok.err()).isZero();
    assertThat(ok.out()).contains("signature: OK", "verdict: REPRODUCED_BITWISE", "reports/" + replayId + ".json");

    // The verdict inside the signed payload changed to another, as a forger would.
    String json = Files.readString(genuine);
    var node = (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
    String payload = new String(Base64.getDecoder().decode(node.get("payload").asText()), java.nio.charset.StandardCharsets.UTF_8);
    node.put("payload", Base64.getEncoder().encodeToString(
        payload.replace("\"REPRODUCED_BITWISE\"", "\"DIVERGED\"").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    Path tampered = tmp.resolve("tampered.intoto.json");
    Files.writeString(tampered, node.toString());
    Result bad = python(tampered);
    assertThat(bad.exit()).as(bad.out()).isEqualTo(1);
    assertThat(bad.out()).contains("FAILED: signature");
  }
}
