package dev.timemachine.core.evidence;

import dev.timemachine.core.data.Digests;
import dev.timemachine.core.errors.TimemachineException;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Ed25519 through the JDK only, and the PEM forms every other tool reads (PKCS#8 private key,
 * SubjectPublicKeyInfo public key: {@code openssl pkey} and pyca/cryptography load both).
 *
 * <p>The keyid is the one securesystemslib computes for the same public key, so its
 * {@code Envelope.verify} (which only tries signatures whose keyid equals the key's) accepts our
 * envelopes with a key loaded by {@code SSlibKey.from_pem} and nothing else: the SHA-256, hex, of
 * the canonical JSON {@code {"keytype":"ed25519","keyval":{"public":"<raw key, 64 hex>"},"scheme":"ed25519"}}.
 */
public final class Ed25519Keys {
  private static final String ALGORITHM = "Ed25519";
  /** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows it. */
  private static final byte[] SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  private Ed25519Keys() {}

  public static KeyPair generate() {
    try {
      return KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every Java 15+ platform has Ed25519", e);
    }
  }

  /** The raw 32-byte public key, hex. */
  public static String rawPublicHex(PublicKey key) {
    byte[] der = key.getEncoded();
    if (der.length != SPKI_PREFIX.length + 32 || !Arrays.equals(der, 0, SPKI_PREFIX.length, SPKI_PREFIX, 0, SPKI_PREFIX.length)) {
      throw TimemachineException.invalidInput("not an Ed25519 public key (" + key.getAlgorithm() + ")");
    }
    return HexFormat.of().formatHex(der, SPKI_PREFIX.length, der.length);
  }

  /** securesystemslib's default keyid of this key (see the class comment). */
  public static String keyid(PublicKey key) {
    String canonical = "{\"keytype\":\"ed25519\",\"keyval\":{\"public\":\"" + rawPublicHex(key) + "\"},\"scheme\":\"ed25519\"}";
    return Digests.sha256Hex(canonical.getBytes(StandardCharsets.UTF_8));
  }

  public static byte[] sign(PrivateKey key, byte[] data) {
    try {
      Signature signature = Signature.getInstance(ALGORITHM);
      signature.initSign(key);
      signature.update(data);
      return signature.sign();
    } catch (GeneralSecurityException e) {
      throw TimemachineException.invalidInput("cannot sign with this key: " + e.getMessage());
    }
  }

  public static boolean verify(PublicKey key, byte[] data, byte[] sig) {
    try {
      Signature signature = Signature.getInstance(ALGORITHM);
      signature.initVerify(key);
      signature.update(data);
      return signature.verify(sig);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  public static String toPem(PublicKey key) {
    return pem("PUBLIC KEY", key.getEncoded());
  }

  public static String toPem(PrivateKey key) {
    return pem("PRIVATE KEY", key.getEncoded());
  }

  public static PublicKey publicFromPem(String pem, String what) {
    try {
      return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(unpem(pem, "PUBLIC KEY", what)));
    } catch (GeneralSecurityException e) {
      throw TimemachineException.invalidInput(what + " is not an Ed25519 public key: " + e.getMessage());
    }
  }

  public static PrivateKey privateFromPem(String pem, String what) {
    try {
      return KeyFactory.getInstance(ALGORITHM).generatePrivate(new PKCS8EncodedKeySpec(unpem(pem, "PRIVATE KEY", what)));
    } catch (GeneralSecurityException e) {
      throw TimemachineException.invalidInput(what + " is not an Ed25519 private key: " + e.getMessage());
    }
  }

  /** The public half of a JDK Ed25519 private key: the JDK does not derive it, so the PEM pair is read together. */
  public static KeyPair pair(PrivateKey privateKey, PublicKey publicKey) {
    byte[] probe = "timemachine key pair check".getBytes(StandardCharsets.UTF_8);
    if (!verify(publicKey, probe, sign(privateKey, probe))) {
      throw TimemachineException.invalidInput("the public key does not belong to the private key");
    }
    return new KeyPair(publicKey, privateKey);
  }

  private static String pem(String label, byte[] der) {
    String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    return "-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n";
  }

  private static byte[] unpem(String pem, String label, String what) {
    String begin = "-----BEGIN " + label + "-----";
    String end = "-----END " + label + "-----";
    int from = pem == null ? -1 : pem.indexOf(begin);
    int to = from < 0 ? -1 : pem.indexOf(end, from);
    if (from < 0 || to < 0) {
      throw TimemachineException.invalidInput(what + " is not a PEM " + label + " (expected " + begin + ")");
    }
    try {
      return Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
    } catch (IllegalArgumentException e) {
      throw TimemachineException.invalidInput(what + " has a malformed PEM body: " + e.getMessage());
    }
  }
}
