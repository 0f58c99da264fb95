package dev.timemachine.core.evidence;

/**
 * What signs attestations. The private key stays behind this interface: app loads it from
 * {@code TIMEMACHINE_SIGNING_KEY}; nothing else sees it.
 */
public interface Signer {
  /** The keyid written into every signature (see {@link Ed25519Keys#keyid}). */
  String keyid();

  /** The public key, PEM (SubjectPublicKeyInfo), as published in the store under {@code keys/<keyid>.pub}. */
  String publicKeyPem();

  byte[] sign(byte[] data);

  /** An Ed25519 signer over a JDK key pair. */
  static Signer ed25519(java.security.KeyPair pair) {
    String keyid = Ed25519Keys.keyid(pair.getPublic());
    String pem = Ed25519Keys.toPem(pair.getPublic());
    return new Signer() {
      @Override
      public String keyid() {
        return keyid;
      }

      @Override
      public String publicKeyPem() {
        return pem;
      }

      @Override
      public byte[] sign(byte[] data) {
        return Ed25519Keys.sign(pair.getPrivate(), data);
      }
    };
  }
}
