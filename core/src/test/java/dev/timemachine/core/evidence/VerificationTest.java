package dev.timemachine.core.evidence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.timemachine.core.data.Digests;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ModelRef;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class VerificationTest {
  static final ModelRef MODEL = new ModelRef("churn", "1");
  final MapStore store = new MapStore();
  final KeyPair pair = Ed25519Keys.generate();
  final Signer signer = Signer.ed25519(pair);
  final byte[] model = "model bytes".getBytes(StandardCharsets.UTF_8);
  final byte[] log = "epoch 1\n".getBytes(StandardCharsets.UTF_8);

  @BeforeEach
  void a_replay_with_its_evidence() {
    replay("r1", "REPRODUCED_BITWISE", signer);
  }

  byte[] replay(String id, String verdict, Signer with) {
    store.objects.put("replays/" + id + "/outputs/model.pkl", model.clone());
    store.objects.put("replays/" + id + "/training.log", log.clone());
    byte[] report = Json.toBytes(report(id, verdict));
    store.putIfAbsent(ReplayStatement.reportKey(id), report);
    byte[] envelope = new Attestations(store, with)
        .write(id, report, new ReplayStatement.Context("dev", "sha256:abc", "wf-" + id, "run-" + id, with != null));
    new HistoryChain(store).append(new HistoryChain.Record(HistoryChain.SCHEMA, 0, MODEL, id, "churn@1", verdict,
        "2026-11-23T10:00:00Z", Digests.sha256Hex(report), Digests.sha256Hex(envelope), Map.of("accuracy", 0.0), null));
    return envelope;
  }

  Map<String, Object> report(String id, String verdict) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("schema", "timemachine.replay-report/v1");
    r.put("replayId", id);
    r.put("modelSpec", "churn@1");
    r.put("model", Map.of("name", "churn", "version", "1"));
    r.put("verdict", verdict);
    r.put("verdictReason", "every artifact is identical");
    r.put("triplet", Map.of("code", Map.of("repositoryUrl", "file:///repo", "commit", "a".repeat(40)),
        "environment", Map.of("image", "127.0.0.1:5000/env@sha256:" + "b".repeat(64)),
        "data", Map.of("uri", "s3://x/snapshots/c", "rootDigest", "sha256:" + "c".repeat(64))));
    r.put("inputs", Map.of("code", "VERIFIED", "environment", "VERIFIED", "data", "VERIFIED"));
    r.put("evidence", Map.of("code", "HEAD " + "a".repeat(40)));
    r.put("artifacts", List.of(Map.of("path", "model.pkl", "recordedSha256", Digests.sha256Hex(model),
        "rebuiltSha256", Digests.sha256Hex(model), "identical", true)));
    r.put("metrics", List.of(Map.of("name", "accuracy", "recorded", 0.8125, "rebuilt", 0.8125, "absDelta", 0.0,
        "tolerance", "exact", "within", true)));
    r.put("trainingExitCode", 0);
    r.put("log", Map.of("uri", "mem://test/replays/" + id + "/training.log", "sha256", Digests.sha256Hex(log), "bytes", 8,
        "lines", 1, "truncated", false));
    r.put("startedAt", "2026-11-23T09:59:00Z");
    r.put("finishedAt", "2026-11-23T10:00:00Z");
    return r;
  }

  Verification.Result verify(String id) {
    return Verification.verify(store.getBytes(ReplayStatement.attestationKey(id)), store, pair.getPublic());
  }

  @Test
  void genuine_evidence_passes_every_check() {
    Verification.Result result = verify("r1");
    assertThat(result.checks()).extracting(Verification.Check::name)
        .containsExactly("envelope", "signature", "statement", "report fields", "subjects", "history");
    assertThat(result.firstFailure()).isNull();
    assertThat(result.passed()).isTrue();
  }

  @Test
  void the_statement_names_every_subject_and_the_vsa_fields() throws Exception {
    var envelope = Json.parse(store.getBytes(ReplayStatement.attestationKey("r1")), Dsse.Envelope.class, "a");
    var statement = Json.mapper().readTree(envelope.payloadBytes());
    assertThat(statement.path("_type").asText()).isEqualTo("https://in-toto.io/Statement/v1");
    assertThat(statement.path("subject").findValuesAsText("name"))
        .containsExactly("model.pkl", "replays/r1/outputs/model.pkl", "replays/r1/training.log", "reports/r1.json");
    var p = statement.path("predicate");
    assertThat(p.path("verificationResult").asText()).isEqualTo("PASSED");
    assertThat(p.path("verifiedLevels").toString()).contains("TIMEMACHINE_REPRODUCED_BITWISE");
    assertThat(p.path("resourceUri").asText()).isEqualTo("churn@1");
    assertThat(p.path("workflow").path("runId").asText()).isEqualTo("run-r1");
    assertThat(p.path("policy").path("digest").path("sha256").asText()).matches("[0-9a-f]{64}");
    assertThat(p.path("triplet").path("data").path("check").asText()).isEqualTo("VERIFIED");
  }

  @Test
  void a_failed_verdict_is_failed_with_no_reproduction_level() {
    replay("r2", "DIVERGED", signer);
    var envelope = Json.parse(store.getBytes(ReplayStatement.attestationKey("r2")), Dsse.Envelope.class, "a");
    var p = ReplayStatement.tree(envelope.payloadBytes(), "s").path("predicate");
    assertThat(p.path("verificationResult").asText()).isEqualTo("FAILED");
    assertThat(p.path("verifiedLevels").toString()).isEqualTo("[\"TIMEMACHINE_INPUTS_VERIFIED\"]");
  }

  @Test
  void one_byte_changed_in_the_report_is_named() {
    String key = ReplayStatement.reportKey("r1");
    int at = new String(store.getBytes(key), StandardCharsets.UTF_8).indexOf("BITWISE");
    store.flipByte(key, at);
    Verification.Check failure = verify("r1").firstFailure();
    assertThat(failure.name()).isEqualTo("report fields");
    assertThat(failure.field()).isEqualTo("predicate.report.digest.sha256");
  }

  @Test
  void a_report_rewritten_with_another_verdict_is_named_by_field() {
    // An attacker who rewrites the report and the predicate's report digest still cannot re-sign; this
    // checks the field comparison on its own: same digest claim, different field.
    String key = ReplayStatement.reportKey("r1");
    byte[] changed = new String(store.getBytes(key), StandardCharsets.UTF_8).replace("BITWISE", "WITHIN_TOLERANCE")
        .getBytes(StandardCharsets.UTF_8);
    var envelope = Json.parse(store.getBytes(ReplayStatement.attestationKey("r1")), Dsse.Envelope.class, "a");
    var statement = (com.fasterxml.jackson.databind.node.ObjectNode) ReplayStatement.tree(envelope.payloadBytes(), "s");
    ((com.fasterxml.jackson.databind.node.ObjectNode) statement.path("predicate").path("report").path("digest"))
        .put("sha256", Digests.sha256Hex(changed));
    store.objects.put(key, changed);
    byte[] forged = Json.toBytes(Dsse.seal(Dsse.IN_TOTO_PAYLOAD_TYPE, Json.toBytes(statement), signer));
    Verification.Check failure = Verification.verify(forged, store, pair.getPublic()).firstFailure();
    assertThat(failure.name()).isEqualTo("report fields");
    assertThat(failure.field()).isEqualTo("predicate.verdict vs report.verdict");
  }

  @Test
  void one_byte_changed_in_the_attestation_fails_its_signature() {
    byte[] envelope = store.getBytes(ReplayStatement.attestationKey("r1"));
    var parsed = Json.parse(envelope, Dsse.Envelope.class, "a");
    byte[] payload = parsed.payloadBytes();
    payload[payload.length / 2] ^= 0x01;
    byte[] tampered = Json.toBytes(new Dsse.Envelope(java.util.Base64.getEncoder().encodeToString(payload),
        parsed.payloadType(), parsed.signatures()));
    Verification.Check failure = Verification.verify(tampered, store, pair.getPublic()).firstFailure();
    assertThat(failure.name()).isEqualTo("signature");
    assertThat(failure.field()).isEqualTo("signatures[].sig");
  }

  @Test
  void another_key_is_refused() {
    Verification.Check failure =
        Verification.verify(store.getBytes(ReplayStatement.attestationKey("r1")), store, Ed25519Keys.generate().getPublic())
            .firstFailure();
    assertThat(failure.name()).isEqualTo("signature");
    assertThat(failure.field()).isEqualTo("signatures[].keyid");
  }

  @Test
  void one_byte_changed_in_a_stored_artifact_is_named() {
    store.flipByte("replays/r1/outputs/model.pkl", 0);
    Verification.Check failure = verify("r1").firstFailure();
    assertThat(failure.name()).isEqualTo("subjects");
    assertThat(failure.field()).isEqualTo("replays/r1/outputs/model.pkl");
  }

  @Test
  void one_byte_changed_in_a_history_record_is_named() {
    replay("r2", "REPRODUCED_BITWISE", signer);
    store.flipByte(HistoryChain.key(MODEL, 1), 40);
    Verification.Check failure = verify("r2").firstFailure();
    assertThat(failure.name()).isEqualTo("history");
    assertThat(failure.field()).isEqualTo(HistoryChain.key(MODEL, 1));
  }

  @Test
  void an_edited_newest_history_record_is_caught_against_its_report() {
    String key = HistoryChain.key(MODEL, 1);
    store.objects.put(key, new String(store.getBytes(key), StandardCharsets.UTF_8).replace("REPRODUCED_BITWISE", "DIVERGED")
        .getBytes(StandardCharsets.UTF_8));
    List<HistoryChain.Entry> entries = new HistoryChain(store).check(MODEL);
    assertThat(entries.get(0).problem()).contains("verdict DIVERGED differs from the report's REPRODUCED_BITWISE");
  }

  @Test
  void deleted_and_reordered_history_records_are_named() {
    replay("r2", "REPRODUCED_BITWISE", signer);
    replay("r3", "DIVERGED", signer);
    assertThat(new HistoryChain(store).check(MODEL)).allSatisfy(e -> assertThat(e.problem()).isNull());

    byte[] second = store.objects.remove(HistoryChain.key(MODEL, 2));
    assertThat(new HistoryChain(store).check(MODEL).get(1).problem()).isEqualTo("record 00000002 is missing (deleted)");

    byte[] third = store.objects.remove(HistoryChain.key(MODEL, 3));
    store.objects.put(HistoryChain.key(MODEL, 2), third);
    store.objects.put(HistoryChain.key(MODEL, 3), second);
    assertThat(new HistoryChain(store).check(MODEL).get(1).problem()).contains("says seq 3 (moved or reordered)");
  }

  @Test
  void an_append_to_a_long_chain_reads_only_its_newest_records_and_still_links_and_finds_a_retry() {
    HistoryChain chain = new HistoryChain(store);
    for (int i = 2; i <= 100; i++) {
      chain.append(new HistoryChain.Record(HistoryChain.SCHEMA, 0, MODEL, "r" + i, "churn@1", "REPRODUCED_BITWISE",
          "2026-11-23T10:00:00Z", "a".repeat(64), "b".repeat(64), Map.of(), null));
    }
    store.reads.clear();

    String key = chain.append(new HistoryChain.Record(HistoryChain.SCHEMA, 0, MODEL, "r101", "churn@1", "DIVERGED",
        "2026-11-24T10:00:00Z", "c".repeat(64), "d".repeat(64), Map.of(), null));
    String retried = chain.append(new HistoryChain.Record(HistoryChain.SCHEMA, 0, MODEL, "r90", "churn@1",
        "REPRODUCED_BITWISE", "2026-11-23T10:00:00Z", "a".repeat(64), "b".repeat(64), Map.of(), null));

    assertThat(key).isEqualTo(HistoryChain.key(MODEL, 101));
    assertThat(retried).as("r90, 11 records back, is found, not appended again").isEqualTo(HistoryChain.key(MODEL, 90));
    assertThat(store.list(HistoryChain.prefix(MODEL))).hasSize(101);
    int historyReads = store.reads.entrySet().stream()
        .filter(e -> e.getKey().startsWith(HistoryChain.prefix(MODEL))).mapToInt(Map.Entry::getValue).sum();
    assertThat(historyReads).as("two appends to a chain of 100").isLessThanOrEqualTo(2 * HistoryChain.RETRY_WINDOW);
    HistoryChain.Record newest = Json.parse(store.getBytes(key), HistoryChain.Record.class, key);
    assertThat(newest.previousSha256()).isEqualTo(Digests.sha256Hex(store.getBytes(HistoryChain.key(MODEL, 100))));
  }

  @Test
  void appending_the_same_replay_twice_keeps_one_record() {
    replay("r1", "REPRODUCED_BITWISE", signer);
    assertThat(store.list(HistoryChain.prefix(MODEL))).hasSize(1);
  }

  @Test
  void an_unsigned_attestation_says_so_and_fails_the_signature_check() {
    replay("u1", "REPRODUCED_BITWISE", null);
    Verification.Check failure = verify("u1").firstFailure();
    assertThat(failure.name()).isEqualTo("signature");
    assertThat(failure.detail()).contains("unsigned");
  }

  @Test
  void a_retried_write_is_a_no_op_and_a_different_attestation_is_refused() {
    byte[] report = store.getBytes(ReplayStatement.reportKey("r1"));
    byte[] again = new Attestations(store, signer).write("r1", report,
        new ReplayStatement.Context("dev", "sha256:abc", "wf-r1", "run-r1", true));
    assertThat(again).isEqualTo(store.getBytes(ReplayStatement.attestationKey("r1")));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Attestations(store, signer).write("r1",
            "{\"replayId\":\"r1\"}".getBytes(StandardCharsets.UTF_8), new ReplayStatement.Context("dev", "x", "w", "r", true)))
        .hasMessageContaining("a different attestation already exists");
  }
}
