package dev.timemachine.core.evidence;

import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.ErrorType;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.model.ModelRef;
import dev.timemachine.core.ports.ObjectStore;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Checks one replay's evidence in a store: the attestation's signature, the statement against the
 * report field by field, every stored subject against its digest, and the model version's history.
 * Each check is one {@link Check}; the first failing one names the field.
 */
public final class Verification {
  private Verification() {}

  /** One check: {@code field} names what failed (null when it passed). */
  public record Check(String name, boolean passed, String field, String detail) {
    static Check pass(String name, String detail) {
      return new Check(name, true, null, detail);
    }

    static Check fail(String name, String field, String detail) {
      return new Check(name, false, field, detail);
    }
  }

  /** The checks, in order; {@link #passed()} only if every one passed. */
  public record Result(String replayId, List<Check> checks) {
    public boolean passed() {
      return !checks.isEmpty() && checks.stream().allMatch(Check::passed);
    }

    public Check firstFailure() {
      return checks.stream().filter(c -> !c.passed()).findFirst().orElse(null);
    }
  }

  /**
   * @param envelopeBytes the attestation as read (from the store or a file)
   * @param store where the report, rebuilt outputs, log, keys and history are
   * @param trustedKey the public key to verify with; null means the store's {@code keys/<keyid>.pub},
   *     which proves only that whoever wrote the store signed it (the check's detail says so)
   */
  public static Result verify(byte[] envelopeBytes, ObjectStore store, PublicKey trustedKey) {
    List<Check> checks = new ArrayList<>();
    Dsse.Envelope envelope;
    JsonNode statement;
    try {
      envelope = Json.parse(envelopeBytes, Dsse.Envelope.class, "the attestation");
      if (!Dsse.IN_TOTO_PAYLOAD_TYPE.equals(envelope.payloadType())) {
        checks.add(Check.fail("envelope", "payloadType", "is " + envelope.payloadType() + ", expected " + Dsse.IN_TOTO_PAYLOAD_TYPE));
        return new Result(null, checks);
      }
      envelope.payloadBytes();
    } catch (TimemachineException e) {
      checks.add(Check.fail("envelope", "payload", e.getMessage()));
      return new Result(null, checks);
    }
    checks.add(Check.pass("envelope", "DSSE, payloadType " + envelope.payloadType()));
    // As DSSE says: the signature over the bytes first, and only then parse them.
    checks.add(signature(envelope, store, trustedKey));
    try {
      statement = ReplayStatement.tree(envelope.payloadBytes(), "the statement");
    } catch (TimemachineException e) {
      checks.add(Check.fail("statement", "payload", e.getMessage()));
      return new Result(null, checks);
    }
    String replayId = statement.path("predicate").path("replayId").asText(null);

    if (!ReplayStatement.STATEMENT_TYPE.equals(statement.path("_type").asText())
        || !ReplayStatement.PREDICATE_TYPE.equals(statement.path("predicateType").asText())) {
      checks.add(Check.fail("statement", "_type/predicateType",
          statement.path("_type").asText() + " / " + statement.path("predicateType").asText()));
      return new Result(replayId, checks);
    }
    if (replayId == null) {
      checks.add(Check.fail("statement", "predicate.replayId", "missing"));
      return new Result(null, checks);
    }
    checks.add(Check.pass("statement", ReplayStatement.STATEMENT_TYPE + ", " + ReplayStatement.PREDICATE_TYPE));

    String reportKey = ReplayStatement.reportKey(replayId);
    byte[] reportBytes;
    try {
      reportBytes = store.getBytes(reportKey);
    } catch (TimemachineException e) {
      checks.add(Check.fail("report", reportKey, e.getMessage()));
      return new Result(replayId, checks);
    }
    JsonNode report;
    try {
      report = ReplayStatement.tree(reportBytes, reportKey);
    } catch (TimemachineException e) {
      checks.add(Check.fail("report", reportKey, e.getMessage()));
      return new Result(replayId, checks);
    }
    checks.add(reportFields(statement.path("predicate"), report, reportBytes));
    checks.add(subjects(statement, report, reportBytes, store));
    checks.add(history(replayId, report, envelopeBytes, store));
    return new Result(replayId, checks);
  }

  /**
   * Only the signature of an attestation, for a reader who shows its status (the HTML report): the
   * envelope check, then the signature check exactly as {@link #verify} makes it.
   */
  public static Check signature(byte[] envelopeBytes, ObjectStore store, PublicKey trustedKey) {
    Dsse.Envelope envelope;
    try {
      envelope = Json.parse(envelopeBytes, Dsse.Envelope.class, "the attestation");
      envelope.payloadBytes();
    } catch (TimemachineException e) {
      return Check.fail("envelope", "payload", e.getMessage());
    }
    return signature(envelope, store, trustedKey);
  }

  private static Check signature(Dsse.Envelope envelope, ObjectStore store, PublicKey trustedKey) {
    if (envelope.signatures().isEmpty()) {
      return Check.fail("signature", "signatures", "the attestation is unsigned (its worker ran with --unsigned)");
    }
    String source = "--key";
    PublicKey key = trustedKey;
    if (key == null) {
      String keyid = envelope.signatures().get(0).keyid();
      String keyKey = "keys/" + keyid + ".pub";
      try {
        key = Ed25519Keys.publicFromPem(new String(store.getBytes(keyKey), java.nio.charset.StandardCharsets.UTF_8), keyKey);
      } catch (TimemachineException e) {
        return Check.fail("signature", "signatures[0].keyid", "no published key " + store.uriOf(keyKey) + ": " + e.getMessage());
      }
      if (!Ed25519Keys.keyid(key).equals(keyid)) {
        return Check.fail("signature", "signatures[0].keyid", keyKey + " is not the key with that keyid");
      }
      source = "the store's " + keyKey + " (pass --key PUB to check against a key you hold)";
    }
    String keyid = Ed25519Keys.keyid(key);
    boolean named = envelope.signatures().stream().anyMatch(s -> keyid.equals(s.keyid()));
    if (!named) {
      return Check.fail("signature", "signatures[].keyid", "no signature names keyid " + keyid);
    }
    if (!envelope.verifiedBy(key, keyid)) {
      return Check.fail("signature", "signatures[].sig", "Ed25519 over the DSSE PAE does not verify with keyid " + keyid);
    }
    return Check.pass("signature", "Ed25519 keyid " + keyid + ", key from " + source);
  }

  private static Check reportFields(JsonNode predicate, JsonNode report, byte[] reportBytes) {
    String digest = Digests.sha256Hex(reportBytes);
    if (!digest.equals(predicate.path("report").path("digest").path("sha256").asText())) {
      return Check.fail("report fields", "predicate.report.digest.sha256",
          "the stored report's sha256 is " + digest + ", the statement says " + predicate.path("report").path("digest").path("sha256").asText());
    }
    for (ReplayStatement.Covered c : ReplayStatement.COVERED) {
      JsonNode claimed = predicate.at(c.predicatePointer());
      JsonNode stored = report.at(c.reportPointer());
      if (!Objects.equals(claimed, stored)) {
        return Check.fail("report fields", "predicate" + c.predicatePointer().replace('/', '.') + " vs report"
            + c.reportPointer().replace('/', '.'), "statement " + abbreviate(claimed) + ", report " + abbreviate(stored));
      }
    }
    if (!ReplayStatement.verificationResult(report).equals(predicate.path("verificationResult").asText())) {
      return Check.fail("report fields", "predicate.verificationResult", "does not follow from the report's verdict");
    }
    if (!ReplayStatement.verifiedLevels(report).equals(predicate.path("verifiedLevels"))) {
      return Check.fail("report fields", "predicate.verifiedLevels", "do not follow from the report");
    }
    JsonNode policy = predicate.path("policy");
    if (!ReplayStatement.policy(report).equals(policy)) {
      return Check.fail("report fields", "predicate.policy", "the policy (tolerances, digest) does not follow from the report");
    }
    return Check.pass("report fields", ReplayStatement.COVERED.size() + " fields equal the report (sha256 " + digest + ")");
  }

  private static Check subjects(JsonNode statement, JsonNode report, byte[] reportBytes, ObjectStore store) {
    JsonNode expected = ReplayStatement.subjects(report, reportBytes);
    JsonNode subjects = statement.path("subject");
    if (!expected.equals(subjects)) {
      for (int i = 0; i < Math.max(expected.size(), subjects.size()); i++) {
        if (!Objects.equals(expected.get(i), subjects.get(i))) {
          return Check.fail("subjects", "subject[" + i + "]" + (subjects.get(i) == null ? "" : " " + subjects.get(i).path("name").asText()),
              "the statement says " + abbreviate(subjects.get(i)) + ", the report gives " + abbreviate(expected.get(i)));
        }
      }
    }
    String replayId = report.path("replayId").asText();
    int stored = 0;
    for (JsonNode subject : subjects) {
      String name = subject.path("name").asText();
      if (!name.startsWith("replays/" + replayId + "/") && !name.equals(ReplayStatement.reportKey(replayId))) {
        continue; // a recorded artifact: its digest was compared with the report above
      }
      String actual;
      try {
        actual = Digests.sha256Hex(store.getBytes(name));
      } catch (TimemachineException e) {
        return Check.fail("subjects", name, e.type() == ErrorType.NOT_FOUND ? "missing from the store" : e.getMessage());
      }
      if (!actual.equals(subject.path("digest").path("sha256").asText())) {
        return Check.fail("subjects", name, "stored sha256 " + actual + ", attested " + subject.path("digest").path("sha256").asText());
      }
      stored++;
    }
    return Check.pass("subjects", subjects.size() + " subjects; " + stored + " stored objects match their sha256");
  }

  private static Check history(String replayId, JsonNode report, byte[] envelopeBytes, ObjectStore store) {
    if (!report.hasNonNull("model")) {
      return Check.pass("history", "no model version (the spec did not resolve): no history");
    }
    ModelRef model = Json.mapper().convertValue(report.get("model"), ModelRef.class);
    List<HistoryChain.Entry> entries = new HistoryChain(store).check(model);
    HistoryChain.Entry mine = null;
    for (HistoryChain.Entry e : entries) {
      if (e.problem() != null) {
        return Check.fail("history", e.key(), e.problem());
      }
      if (replayId.equals(e.record().replayId())) {
        mine = e;
      }
    }
    if (mine == null) {
      return Check.fail("history", HistoryChain.prefix(model), "no record of replay " + replayId + " in the history of " + model);
    }
    if (!Digests.sha256Hex(envelopeBytes).equals(mine.record().attestationSha256())) {
      return Check.fail("history", mine.key(), "attestationSha256 is not this attestation's sha256");
    }
    return Check.pass("history", entries.size() + " records of " + model + " chain intact; this replay is " + mine.key());
  }

  private static String abbreviate(JsonNode node) {
    String text = node == null || node.isMissingNode() ? "(absent)" : node.toString();
    return text.length() > 160 ? text.substring(0, 157) + "..." : text;
  }
}
