#!/usr/bin/env python3
"""Decrypt, GenerateDataKey and GenerateRandom with `Recipient` through boto3.

A simulated attestation document (NSM simulator library, via
recipient_fixture) carries an enclave's RSA-2048 public key. veil-kms runs
with the simulator's root as --attestation-root. The key policy lets the
enclave's parent role decrypt only when the attested image (PCR0) matches;
the answer is CiphertextForRecipient (never Plaintext), which
`openssl cms -decrypt` opens with the enclave's private key.

usage: recipient_test.py VEIL_KMS_BINARY RECIPIENT_FIXTURE_BINARY
Exit status: 0 pass, 1 fail, 77 boto3 or openssl missing.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kms_servers  # noqa: E402

ACCOUNT = kms_servers.ACCOUNT
ADMIN = f"arn:aws:iam::{ACCOUNT}:user/admin"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/enclave-parent"


def cms_decrypt(cms_bytes, key_pem, work):
    path = os.path.join(work, "cms.der")
    with open(path, "wb") as f:
        f.write(cms_bytes)
    return subprocess.run(
        ["openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", path,
         "-inkey", key_pem], check=True, capture_output=True).stdout


def expect_error(error_type, fn, **kwargs):
    from botocore.exceptions import ClientError
    try:
        fn(**kwargs)
    except ClientError as e:
        assert e.response["Error"]["Code"] == error_type, e.response
        return
    raise AssertionError(f"expected {error_type}")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    veil_kms, fixture = sys.argv[1:]
    try:
        import boto3  # noqa: F401
    except ImportError:
        kms_servers.skip("boto3 is not installed")
    if shutil.which("openssl") is None:
        kms_servers.skip("openssl is not installed")
    work = tempfile.mkdtemp(prefix="veil-kms-recipient-")
    try:
        fx = os.path.join(work, "fixture")
        os.makedirs(fx)
        subprocess.run(["openssl", "genrsa", "-out", os.path.join(fx, "small.pem"), "1024"],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "rsa", "-in", os.path.join(fx, "small.pem"), "-pubout",
                        "-outform", "DER", "-out", os.path.join(fx, "small.der")],
                       check=True, capture_output=True)
        subprocess.run([fixture, fx, os.path.join(fx, "small.der")], check=True)
        read = lambda name: open(os.path.join(fx, name), "rb").read()  # noqa: E731
        pcr0 = read("pcr0-good.txt").decode()
        key_pem = os.path.join(fx, "enclave-key.pem")

        data = os.path.join(work, "data")
        os.makedirs(data, mode=0o700)
        admin = kms_servers.add_principal(veil_kms, data, ADMIN)
        role = kms_servers.add_principal(veil_kms, data, ROLE)
        server = kms_servers.VeilKms(
            veil_kms, data, ["--attestation-root", os.path.join(fx, "root.pem")]).start()
        try:
            run(server, admin, role, pcr0, read, key_pem, work)
            health = json.loads(
                __import__("urllib.request").request.urlopen(server.endpoint + "/healthz").read())
            assert health["recipientAttestation"] == "SIMULATED", health
            assert "SIMULATED" in server.log() or "simulated" in server.log().lower()
        finally:
            server.kill()
        audit = [json.loads(line) for line in open(os.path.join(data, "audit.jsonl"))]
        attested = [r for r in audit if "recipient" in r and r["outcome"] == "ok"]
        assert attested, "no audit record of an attested call"
        assert all(r["recipient"]["pcr0"] == pcr0.lower() and r["recipient"]["simulated"]
                   for r in attested), attested
        text = open(os.path.join(data, "audit.jsonl")).read()
        assert "Plaintext" not in text and "CiphertextForRecipient" not in text
        print(f"PASS: Recipient through boto3; {len(attested)} attested calls audited with PCR0")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(server, admin, role, pcr0, read, key_pem, work):
    admin_kms = kms_servers.Target("veil-kms", server.endpoint, *admin, ACCOUNT).client()
    role_kms = kms_servers.Target("veil-kms", server.endpoint, *role, ACCOUNT).client()
    key = admin_kms.create_key(Description="enclave key")["KeyMetadata"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "admin", "Effect": "Allow", "Principal": {"AWS": ADMIN},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "EnclaveDecrypt", "Effect": "Allow", "Principal": {"AWS": ROLE},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
         "Condition": {"StringEqualsIgnoreCase": {
             "kms:RecipientAttestation:ImageSha384": pcr0.upper()}}}]}
    admin_kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(policy))
    ec = {"tenant": "acme"}
    secret = os.urandom(32)
    blob = admin_kms.encrypt(KeyId=key["KeyId"], Plaintext=secret,
                             EncryptionContext=ec)["CiphertextBlob"]
    recipient = {"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                 "AttestationDocument": read("doc-good.bin")}

    # The parent role alone (no attestation) is refused.
    expect_error("AccessDeniedException", role_kms.decrypt, CiphertextBlob=blob,
                 EncryptionContext=ec)
    # With the enclave's document: CiphertextForRecipient, never Plaintext.
    r = role_kms.decrypt(CiphertextBlob=blob, EncryptionContext=ec, Recipient=recipient)
    assert "Plaintext" not in r or not r["Plaintext"], r
    assert r["KeyId"] == key["Arn"]
    assert cms_decrypt(r["CiphertextForRecipient"], key_pem, work) == secret
    print("ok Decrypt with Recipient -> CiphertextForRecipient opens with openssl cms")

    # Another image (PCR0 mismatch) is refused.
    expect_error("AccessDeniedException", role_kms.decrypt, CiphertextBlob=blob,
                 EncryptionContext=ec,
                 Recipient={"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                            "AttestationDocument": read("doc-other.bin")})
    print("ok a document for another image is refused")

    # A tampered document, a non-RSA-2048 key, a wrong algorithm.
    tampered = bytearray(read("doc-good.bin"))
    tampered[len(tampered) // 2] ^= 1
    for doc in (bytes(tampered), read("doc-spki.bin"), b"\x84\x40\x40\x40\x40"):
        expect_error("ValidationException", role_kms.decrypt, CiphertextBlob=blob,
                     EncryptionContext=ec,
                     Recipient={"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                                "AttestationDocument": doc})
    print("ok tampered documents and RSA-1024 public keys are refused")

    # GenerateDataKey with Recipient: the blob plus CiphertextForRecipient.
    dk = role_kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256",
                                    EncryptionContext=ec, Recipient=recipient)
    assert "Plaintext" not in dk or not dk["Plaintext"], dk
    data_key = cms_decrypt(dk["CiphertextForRecipient"], key_pem, work)
    assert len(data_key) == 32
    again = role_kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext=ec,
                             Recipient=recipient)
    assert cms_decrypt(again["CiphertextForRecipient"], key_pem, work) == data_key
    print("ok GenerateDataKey with Recipient")

    # GenerateRandom with Recipient.
    rnd = role_kms.generate_random(NumberOfBytes=24, Recipient=recipient)
    assert "Plaintext" not in rnd or not rnd["Plaintext"], rnd
    assert len(cms_decrypt(rnd["CiphertextForRecipient"], key_pem, work)) == 24
    print("ok GenerateRandom with Recipient")


if __name__ == "__main__":
    sys.exit(main())
