package dev.timemachine.core.evidence;

import dev.timemachine.core.errors.TimemachineException;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/**
 * The Dead Simple Signing Envelope (secure-systems-lab/dsse, protocol v1.0.0): a signature covers the
 * pre-authentication encoding of the payload type and the payload bytes, never the JSON around them,
 * so a verifier checks exactly the bytes it then parses.
 */
public final class Dsse {
  /** The payload type of an in-toto Statement in a DSSE envelope. */
  public static final String IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

  private Dsse() {}

  /**
   * {@code "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body}, lengths in ASCII decimal bytes: the bytes
   * that are signed.
   */
  public static byte[] pae(String payloadType, byte[] body) {
    byte[] type = payloadType.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream(type.length + body.length + 32);
    out.writeBytes(("DSSEv1 " + type.length + " ").getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(type);
    out.writeBytes((" " + body.length + " ").getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(body);
    return out.toByteArray();
  }

  /** Signs {@code payload} and wraps it; with no signer, an envelope without signatures (an unsigned replay). */
  public static Envelope seal(String payloadType, byte[] payload, Signer signer) {
    List<Signature> signatures =
        signer == null
            ? List.of()
            : List.of(new Signature(signer.keyid(), Base64.getEncoder().encodeToString(signer.sign(pae(payloadType, payload)))));
    return new Envelope(Base64.getEncoder().encodeToString(payload), payloadType, signatures);
  }

  /** The JSON envelope; {@code payload} and {@code sig} are base64 (standard or URL-safe, as the spec allows). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonPropertyOrder({"payload", "payloadType", "signatures"})
  public record Envelope(String payload, String payloadType, List<Signature> signatures) {
    public Envelope {
      signatures = signatures == null ? List.of() : List.copyOf(signatures);
    }

    public byte[] payloadBytes() {
      return decode(payload, "payload");
    }

    /** True if some signature whose keyid is {@code keyid} verifies over the PAE with this public key. */
    public boolean verifiedBy(java.security.PublicKey key, String keyid) {
      byte[] pae = pae(payloadType, payloadBytes());
      for (Signature s : signatures) {
        if (keyid.equals(s.keyid()) && Ed25519Keys.verify(key, pae, decode(s.sig(), "signature"))) {
          return true;
        }
      }
      return false;
    }
  }

  /** One signature: the keyid is an unauthenticated hint naming the key; {@code sig} is base64. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonPropertyOrder({"keyid", "sig"})
  public record Signature(String keyid, String sig) {}

  static byte[] decode(String base64, String what) {
    if (base64 == null) {
      throw TimemachineException.invalidInput("the envelope has no " + what);
    }
    try {
      return base64.indexOf('-') >= 0 || base64.indexOf('_') >= 0
          ? Base64.getUrlDecoder().decode(base64)
          : Base64.getDecoder().decode(base64);
    } catch (IllegalArgumentException e) {
      throw TimemachineException.invalidInput("the envelope's " + what + " is not base64: " + e.getMessage());
    }
  }
}
