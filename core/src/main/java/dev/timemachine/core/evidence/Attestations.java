package dev.timemachine.core.evidence;

import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.TimemachineException;
import dev.timemachine.core.json.Json;
import dev.timemachine.core.ports.ObjectStore;

import java.util.Arrays;

/** Writes a replay's signed attestation once, next to its report. */
public final class Attestations {
  private final ObjectStore store;
  private final Signer signer;

  /** @param signer null for an unsigned worker: the envelope then has no signatures and the statement says so */
  public Attestations(ObjectStore store, Signer signer) {
    this.store = store;
    this.signer = signer;
  }

  public boolean signed() {
    return signer != null;
  }

  /**
   * Signs the statement about the report's exact bytes and writes it to
   * {@code reports/<replayId>.intoto.json}; returns the envelope bytes as stored. A retry signs the same
   * statement again (Ed25519 is deterministic), so identical bytes are a no-op; an existing attestation
   * of these same report bytes (e.g. from another worker build) is kept; anything else is a conflict.
   */
  public byte[] write(String replayId, byte[] reportBytes, ReplayStatement.Context context) {
    byte[] statement = ReplayStatement.build(reportBytes, context);
    byte[] envelope = Json.toBytes(Dsse.seal(Dsse.IN_TOTO_PAYLOAD_TYPE, statement, signer));
    String key = ReplayStatement.attestationKey(replayId);
    if (store.putIfAbsent(key, envelope)) {
      return envelope;
    }
    byte[] existing = store.getBytes(key);
    if (Arrays.equals(existing, envelope) || attestsReport(existing, reportBytes)) {
      return existing;
    }
    throw TimemachineException.conflict(
        "a different attestation already exists at " + store.uriOf(key),
        "attestations are immutable; replay again under a new replay id");
  }

  private static boolean attestsReport(byte[] envelope, byte[] report) {
    try {
      var parsed = Json.parse(envelope, Dsse.Envelope.class, "attestation");
      var statement = ReplayStatement.tree(parsed.payloadBytes(), "statement");
      return Digests.sha256Hex(report).equals(statement.path("predicate").path("report").path("digest").path("sha256").asText());
    } catch (TimemachineException e) {
      return false;
    }
  }
}
