package dev.timemachine.core.evidence;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class DsseTest {
  @Test
  void pae_is_the_dsse_protocol_test_vector() {
    // secure-systems-lab/dsse protocol.md, "Test Vectors".
    byte[] pae = Dsse.pae("http://example.com/HelloWorld", "hello world".getBytes(StandardCharsets.UTF_8));
    assertThat(new String(pae, StandardCharsets.UTF_8)).isEqualTo("DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  }

  @Test
  void pae_counts_bytes_not_characters() {
    byte[] pae = Dsse.pae("t", "é".getBytes(StandardCharsets.UTF_8));
    assertThat(new String(pae, StandardCharsets.UTF_8)).isEqualTo("DSSEv1 1 t 2 é");
  }

  @Test
  void keyid_is_the_one_securesystemslib_computes_for_the_key() {
    // RFC 8032 test 1's public key; the expected value is SSlibKey.from_crypto(key).keyid (securesystemslib 1.6.0).
    var spki = HexFormat.of().parseHex("302a300506032b6570032100d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    String pem = "-----BEGIN PUBLIC KEY-----\n" + java.util.Base64.getEncoder().encodeToString(spki) + "\n-----END PUBLIC KEY-----\n";
    var key = Ed25519Keys.publicFromPem(pem, "test key");
    assertThat(Ed25519Keys.keyid(key)).isEqualTo("74c181c7ad8a0855d4b55e44d2ba87aabdddb196832571f15f92fece332e4916");
  }

  @Test
  void a_sealed_envelope_verifies_and_a_changed_payload_does_not() {
    var pair = Ed25519Keys.generate();
    Signer signer = Signer.ed25519(pair);
    var envelope = Dsse.seal(Dsse.IN_TOTO_PAYLOAD_TYPE, "{\"a\":1}".getBytes(StandardCharsets.UTF_8), signer);
    assertThat(envelope.signatures()).singleElement().satisfies(s -> assertThat(s.keyid()).isEqualTo(signer.keyid()));
    assertThat(envelope.verifiedBy(pair.getPublic(), signer.keyid())).as("genuine").isTrue();

    var changed = new Dsse.Envelope(java.util.Base64.getEncoder().encodeToString("{\"a\":2}".getBytes(StandardCharsets.UTF_8)),
        envelope.payloadType(), envelope.signatures());
    assertThat(changed.verifiedBy(pair.getPublic(), signer.keyid())).as("changed payload").isFalse();
    var retyped = new Dsse.Envelope(envelope.payload(), "application/json", envelope.signatures());
    assertThat(retyped.verifiedBy(pair.getPublic(), signer.keyid())).as("changed payload type").isFalse();
    assertThat(envelope.verifiedBy(Ed25519Keys.generate().getPublic(), signer.keyid())).as("another key").isFalse();
  }

  @Test
  void keys_survive_their_pem_form() {
    var pair = Ed25519Keys.generate();
    String both = Ed25519Keys.toPem(pair.getPrivate()) + Ed25519Keys.toPem(pair.getPublic());
    var loaded = Ed25519Keys.pair(Ed25519Keys.privateFromPem(both, "k"), Ed25519Keys.publicFromPem(both, "k"));
    assertThat(Ed25519Keys.keyid(loaded.getPublic())).isEqualTo(Ed25519Keys.keyid(pair.getPublic()));
  }
}
