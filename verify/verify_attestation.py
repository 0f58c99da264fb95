#!/usr/bin/env python3
"""Checks a timemachine replay attestation offline, without timemachine.

    verify_attestation.py ATTESTATION.intoto.json --key timemachine-signing.pub

Verifies the DSSE envelope's Ed25519 signature with the given public key using securesystemslib,
validates the payload as an in-toto Statement v1 with in-toto-attestation, and prints the verdict
and every subject (name, sha256). Exit 0 if the signature verifies and the statement is valid,
1 if not (with one line saying why), 2 for unusable arguments.

The key's keyid is computed here by securesystemslib (SSlibKey.from_crypto), not read from the
attestation: timemachine writes that same keyid into its signatures, and securesystemslib only
tries a signature whose keyid equals the key's, so a signature by another key is never accepted.
"""

import argparse
import json
import sys

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://timemachine.dev/replay/v1"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("attestation", help="the .intoto.json file (a DSSE envelope)")
    parser.add_argument("--key", required=True, help="the signer's Ed25519 public key, PEM")
    args = parser.parse_args(argv)

    try:
        with open(args.key, "rb") as f:
            key = SSlibKey.from_crypto(load_pem_public_key(f.read()))
        with open(args.attestation, "rb") as f:
            envelope = Envelope.from_dict(json.load(f))
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"error: cannot read the key or the attestation: {e}", file=sys.stderr)
        return 2

    print(f"key: ed25519, keyid {key.keyid}")
    if envelope.payload_type != PAYLOAD_TYPE:
        print(f"FAILED: payloadType is {envelope.payload_type!r}, expected {PAYLOAD_TYPE!r}")
        return 1
    try:
        envelope.verify([key], 1)
    except VerificationError as e:
        print(f"FAILED: signature: {e}")
        return 1
    print("signature: OK (Ed25519 over the DSSE PAE)")

    try:
        body = json.loads(envelope.payload)
        statement = Statement.copy_from_pb(json_format.ParseDict(body, statement_pb2.Statement()))
        statement.validate()
    except (ValueError, json_format.ParseError) as e:
        print(f"FAILED: not a valid in-toto Statement v1: {e}")
        return 1
    if body.get("predicateType") != PREDICATE_TYPE:
        print(f"FAILED: predicateType is {body.get('predicateType')!r}, expected {PREDICATE_TYPE!r}")
        return 1
    print("statement: OK (in-toto Statement v1, " + PREDICATE_TYPE + ")")

    p = body["predicate"]
    print(f"replay:  {p.get('replayId')} of {p.get('resourceUri')}")
    print(f"verdict: {p.get('verdict')} ({p.get('verificationResult')}; levels {', '.join(p.get('verifiedLevels', [])) or 'none'})")
    print(f"reason:  {p.get('verdictReason')}")
    print(f"verified at {p.get('timeVerified')} by {p['verifier'].get('id')} {p['verifier'].get('version')}"
          f" (build {p['verifier'].get('workerBuildId')}), workflow {p.get('workflow', {}).get('workflowId')}"
          f" run {p.get('workflow', {}).get('runId')}")
    print("subjects:")
    for s in body["subject"]:
        print(f"  sha256:{s['digest']['sha256']}  {s['name']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
