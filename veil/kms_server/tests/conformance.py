#!/usr/bin/env python3
"""KMS conformance suite: one script, run against veil-kms AND moto_server.

Every case runs against both servers, so each assertion is known to hold for
an independent implementation of AWS's behaviour (moto mirrors AWS's fields
and error types). Cases for behaviour moto does not implement are marked
`veil_only` with the reason, and run against veil-kms alone.

usage: conformance.py VEIL_KMS_BINARY
Exit status: 0 all passed, 1 a case failed, 77 boto3 or moto is missing.
"""

import base64
import json
import os
import sys
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kms_servers  # noqa: E402

CASES = []


def case(veil_only=None):
    def wrap(fn):
        CASES.append((fn, veil_only))
        return fn
    return wrap


def expect_error(error_type, fn, *args, **kwargs):
    from botocore.exceptions import ClientError
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == error_type, f"expected {error_type}, got {got}: {e}"
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.response
        return e
    raise AssertionError(f"expected {error_type}, the call succeeded")


MOTO_GAPS = set()


def aws_documented(t, condition, what):
    """Asserts AWS-documented behaviour that moto lacks: checked against
    veil-kms, recorded (not asserted) as a known moto gap."""
    if t.name == "moto":
        if not condition:
            MOTO_GAPS.add(what)
        return
    assert condition, what


def new_key(kms, **kwargs):
    return kms.create_key(**kwargs)["KeyMetadata"]


def alias_name():
    return f"alias/conformance-{uuid.uuid4().hex[:12]}"


@case()
def create_key_metadata(kms, t):
    m = new_key(kms, Description="conformance")
    assert uuid.UUID(m["KeyId"])
    assert m["Arn"] == f"arn:aws:kms:us-east-1:{t.account}:key/{m['KeyId']}", m["Arn"]
    assert m["AWSAccountId"] == t.account
    assert m["KeyState"] == "Enabled" and m["Enabled"] is True
    aws_documented(t, m.get("KeyUsage") == "ENCRYPT_DECRYPT", "KeyMetadata.KeyUsage")
    assert m["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert m["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert m["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert m["Origin"] == "AWS_KMS" and m["KeyManager"] == "CUSTOMER"
    assert m["Description"] == "conformance"
    assert "CreationDate" in m


@case()
def describe_key_by_every_identifier(kms, t):
    m = new_key(kms)
    name = alias_name()
    kms.create_alias(AliasName=name, TargetKeyId=m["KeyId"])
    for ref in (m["KeyId"], m["Arn"], name, f"arn:aws:kms:us-east-1:{t.account}:{name}"):
        assert kms.describe_key(KeyId=ref)["KeyMetadata"]["KeyId"] == m["KeyId"], ref


@case()
def describe_missing_key_is_not_found(kms, t):
    expect_error("NotFoundException", kms.describe_key, KeyId=str(uuid.uuid4()))
    expect_error("NotFoundException", kms.describe_key, KeyId="alias/does-not-exist")
    expect_error("NotFoundException", kms.describe_key, KeyId="not-a-key-id")


@case()
def encrypt_decrypt_round_trip(kms, t):
    m = new_key(kms)
    ec = {"tenant": "acme", "purpose": "ml-inference"}
    enc = kms.encrypt(KeyId=m["KeyId"], Plaintext=b"attack at dawn", EncryptionContext=ec)
    assert enc["KeyId"] == m["Arn"]
    aws_documented(t, enc.get("EncryptionAlgorithm") == "SYMMETRIC_DEFAULT",
                   "Encrypt returns EncryptionAlgorithm")
    assert b"attack at dawn" not in enc["CiphertextBlob"]
    dec = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=ec)
    assert dec["Plaintext"] == b"attack at dawn"
    assert dec["KeyId"] == m["Arn"]
    aws_documented(t, dec.get("EncryptionAlgorithm") == "SYMMETRIC_DEFAULT",
                   "Decrypt returns EncryptionAlgorithm")
    # Naming the key is optional but must agree when given.
    dec = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=ec, KeyId=m["Arn"])
    assert dec["Plaintext"] == b"attack at dawn"


@case()
def encrypt_through_alias(kms, t):
    m = new_key(kms)
    name = alias_name()
    kms.create_alias(AliasName=name, TargetKeyId=m["KeyId"])
    enc = kms.encrypt(KeyId=name, Plaintext=b"x")
    assert enc["KeyId"] == m["Arn"]
    assert kms.decrypt(CiphertextBlob=enc["CiphertextBlob"])["Plaintext"] == b"x"


@case()
def wrong_encryption_context_is_refused(kms, t):
    m = new_key(kms)
    blob = kms.encrypt(KeyId=m["KeyId"], Plaintext=b"x",
                       EncryptionContext={"tenant": "acme"})["CiphertextBlob"]
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=blob)
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=blob,
                 EncryptionContext={"tenant": "globex"})


@case()
def garbage_ciphertext_is_invalid(kms, t):
    new_key(kms)
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=os.urandom(200))


@case()
def tampered_ciphertext_is_invalid(kms, t):
    m = new_key(kms)
    blob = bytearray(kms.encrypt(KeyId=m["KeyId"], Plaintext=b"secret")["CiphertextBlob"])
    blob[-1] ^= 1
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=bytes(blob))


@case()
def generate_data_key(kms, t):
    m = new_key(kms)
    ec = {"k": "v"}
    dk = kms.generate_data_key(KeyId=m["KeyId"], KeySpec="AES_256", EncryptionContext=ec)
    assert len(dk["Plaintext"]) == 32
    assert dk["KeyId"] == m["Arn"]
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"],
                       EncryptionContext=ec)["Plaintext"] == dk["Plaintext"]
    assert len(kms.generate_data_key(KeyId=m["KeyId"], KeySpec="AES_128")["Plaintext"]) == 16
    assert len(kms.generate_data_key(KeyId=m["KeyId"], NumberOfBytes=64)["Plaintext"]) == 64


@case()
def generate_data_key_argument_rules(kms, t):
    m = new_key(kms)
    expect_error("ValidationException", kms.generate_data_key, KeyId=m["KeyId"])
    expect_error("ValidationException", kms.generate_data_key, KeyId=m["KeyId"],
                 KeySpec="AES_256", NumberOfBytes=32)
    expect_error("ValidationException", kms.generate_data_key, KeyId=m["KeyId"],
                 NumberOfBytes=1025)


@case()
def generate_data_key_without_plaintext(kms, t):
    m = new_key(kms)
    dk = kms.generate_data_key_without_plaintext(KeyId=m["KeyId"], KeySpec="AES_256")
    assert "Plaintext" not in dk
    assert dk["KeyId"] == m["Arn"]
    assert len(kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"]) == 32


@case()
def generate_random(kms, t):
    r = kms.generate_random(NumberOfBytes=48)["Plaintext"]
    assert len(r) == 48
    assert r != kms.generate_random(NumberOfBytes=48)["Plaintext"]
    expect_error("ValidationException", kms.generate_random, NumberOfBytes=1025)


@case()
def re_encrypt(kms, t):
    a, b = new_key(kms), new_key(kms)
    blob = kms.encrypt(KeyId=a["KeyId"], Plaintext=b"move me",
                       EncryptionContext={"from": "a"})["CiphertextBlob"]
    re = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"from": "a"},
                        DestinationKeyId=b["KeyId"], DestinationEncryptionContext={"to": "b"})
    assert re["KeyId"] == b["Arn"]
    assert re["SourceKeyId"] == a["Arn"]
    dec = kms.decrypt(CiphertextBlob=re["CiphertextBlob"], EncryptionContext={"to": "b"})
    assert dec["Plaintext"] == b"move me"
    assert dec["KeyId"] == b["Arn"]


@case()
def alias_lifecycle(kms, t):
    a, b = new_key(kms), new_key(kms)
    name = alias_name()
    kms.create_alias(AliasName=name, TargetKeyId=a["KeyId"])
    expect_error("AlreadyExistsException", kms.create_alias, AliasName=name,
                 TargetKeyId=a["KeyId"])
    listed = [x for x in kms.list_aliases()["Aliases"] if x["AliasName"] == name]
    assert len(listed) == 1
    assert listed[0]["TargetKeyId"] == a["KeyId"]
    assert listed[0]["AliasArn"] == f"arn:aws:kms:us-east-1:{t.account}:{name}"
    kms.update_alias(AliasName=name, TargetKeyId=b["KeyId"])
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == b["KeyId"]
    by_key = [x["AliasName"] for x in kms.list_aliases(KeyId=b["KeyId"])["Aliases"]]
    assert by_key == [name], by_key
    kms.delete_alias(AliasName=name)
    expect_error("NotFoundException", kms.describe_key, KeyId=name)
    expect_error("NotFoundException", kms.delete_alias, AliasName=name)


@case()
def alias_name_rules(kms, t):
    m = new_key(kms)
    expect_error("ValidationException", kms.create_alias, AliasName="no-prefix",
                 TargetKeyId=m["KeyId"])
    expect_error("NotAuthorizedException", kms.create_alias, AliasName="alias/aws/ebs",
                 TargetKeyId=m["KeyId"])
    expect_error("ValidationException", kms.create_alias, AliasName="alias/bad name!",
                 TargetKeyId=m["KeyId"])
    name = alias_name()
    kms.create_alias(AliasName=name, TargetKeyId=m["KeyId"])
    expect_error("ValidationException", kms.create_alias, AliasName=alias_name(),
                 TargetKeyId=name)


@case()
def disable_and_enable(kms, t):
    m = new_key(kms)
    blob = kms.encrypt(KeyId=m["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=m["KeyId"])
    d = kms.describe_key(KeyId=m["KeyId"])["KeyMetadata"]
    assert d["KeyState"] == "Disabled" and d["Enabled"] is False
    kms.enable_key(KeyId=m["KeyId"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


@case(veil_only="moto still encrypts and decrypts under a disabled key")
def disabled_key_refuses_cryptography(kms, t):
    m = new_key(kms)
    blob = kms.encrypt(KeyId=m["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=m["KeyId"])
    expect_error("DisabledException", kms.encrypt, KeyId=m["KeyId"], Plaintext=b"x")
    expect_error("DisabledException", kms.decrypt, CiphertextBlob=blob)
    expect_error("DisabledException", kms.generate_data_key, KeyId=m["KeyId"], KeySpec="AES_256")


@case()
def schedule_and_cancel_deletion(kms, t):
    m = new_key(kms)
    r = kms.schedule_key_deletion(KeyId=m["KeyId"], PendingWindowInDays=7)
    aws_documented(t, r["KeyId"] == m["Arn"], "ScheduleKeyDeletion returns the key ARN")
    aws_documented(t, r.get("KeyState") == "PendingDeletion",
                   "ScheduleKeyDeletion returns KeyState")
    aws_documented(t, r.get("PendingWindowInDays") == 7,
                   "ScheduleKeyDeletion returns PendingWindowInDays")
    assert "DeletionDate" in r
    d = kms.describe_key(KeyId=m["KeyId"])["KeyMetadata"]
    assert d["KeyState"] == "PendingDeletion" and d["Enabled"] is False
    assert "DeletionDate" in d
    aws_documented(t, kms.cancel_key_deletion(KeyId=m["KeyId"])["KeyId"] == m["Arn"],
                   "CancelKeyDeletion returns the key ARN")
    assert kms.describe_key(KeyId=m["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"


@case(veil_only="moto does not validate PendingWindowInDays, refuse a second schedule, "
                 "or refuse cryptography under a key pending deletion")
def deletion_window_rules(kms, t):
    m = new_key(kms)
    blob = kms.encrypt(KeyId=m["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    expect_error("ValidationException", kms.schedule_key_deletion, KeyId=m["KeyId"],
                 PendingWindowInDays=6)
    expect_error("ValidationException", kms.schedule_key_deletion, KeyId=m["KeyId"],
                 PendingWindowInDays=31)
    assert kms.schedule_key_deletion(KeyId=m["KeyId"])["PendingWindowInDays"] == 30
    expect_error("KMSInvalidStateException", kms.schedule_key_deletion, KeyId=m["KeyId"])
    expect_error("KMSInvalidStateException", kms.enable_key, KeyId=m["KeyId"])
    expect_error("KMSInvalidStateException", kms.encrypt, KeyId=m["KeyId"], Plaintext=b"x")
    expect_error("KMSInvalidStateException", kms.decrypt, CiphertextBlob=blob)


@case()
def key_rotation(kms, t):
    m = new_key(kms)
    assert kms.get_key_rotation_status(KeyId=m["KeyId"])["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=m["KeyId"])
    assert kms.get_key_rotation_status(KeyId=m["KeyId"])["KeyRotationEnabled"] is True
    kms.disable_key_rotation(KeyId=m["KeyId"])
    assert kms.get_key_rotation_status(KeyId=m["KeyId"])["KeyRotationEnabled"] is False


@case(veil_only="moto keeps no key versions")
def rotation_keeps_old_versions(kms, t):
    m = new_key(kms)
    old = kms.encrypt(KeyId=m["KeyId"], Plaintext=b"v1")["CiphertextBlob"]
    kms.rotate_key_on_demand(KeyId=m["KeyId"])
    new = kms.encrypt(KeyId=m["KeyId"], Plaintext=b"v2")["CiphertextBlob"]
    assert old[:21] != new[:21]
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"v1"
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"v2"


@case()
def default_key_policy(kms, t):
    m = new_key(kms)
    r = kms.get_key_policy(KeyId=m["KeyId"], PolicyName="default")
    policy = json.loads(r["Policy"])
    statements = policy["Statement"]
    assert any(s["Effect"] == "Allow" and s["Action"] == "kms:*" and
               s["Principal"] == {"AWS": f"arn:aws:iam::{t.account}:root"} for s in statements)


@case()
def put_and_get_key_policy(kms, t):
    m = new_key(kms)
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "admin", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{t.account}:root"},
            "Action": "kms:*", "Resource": "*",
        }],
    }
    kms.put_key_policy(KeyId=m["KeyId"], PolicyName="default", Policy=json.dumps(policy))
    got = json.loads(kms.get_key_policy(KeyId=m["KeyId"], PolicyName="default")["Policy"])
    assert got == policy


@case(veil_only="moto does not parse key policies")
def malformed_key_policy(kms, t):
    m = new_key(kms)
    expect_error("MalformedPolicyDocumentException", kms.put_key_policy, KeyId=m["KeyId"],
                 PolicyName="default", Policy="{not json")
    expect_error("MalformedPolicyDocumentException", kms.put_key_policy, KeyId=m["KeyId"],
                 PolicyName="default", Policy=json.dumps({"Statement": [{"Effect": "Allow"}]}))


@case(veil_only="moto does not enforce key policies")
def key_policy_deny_is_enforced(kms, t):
    m = new_key(kms)
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{t.account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringNotEquals": {"kms:EncryptionContext:tenant": "acme"}}}]}
    kms.put_key_policy(KeyId=m["KeyId"], PolicyName="default", Policy=json.dumps(policy))
    ok = kms.encrypt(KeyId=m["KeyId"], Plaintext=b"x",
                     EncryptionContext={"tenant": "acme"})["CiphertextBlob"]
    bad = kms.encrypt(KeyId=m["KeyId"], Plaintext=b"x",
                      EncryptionContext={"tenant": "globex"})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=ok, EncryptionContext={"tenant": "acme"})["Plaintext"] == b"x"
    e = expect_error("AccessDeniedException", kms.decrypt, CiphertextBlob=bad,
                     EncryptionContext={"tenant": "globex"})
    assert "explicit deny" in e.response["Error"]["Message"]


@case()
def list_keys(kms, t):
    m = new_key(kms)
    keys = []
    marker = None
    while True:
        page = kms.list_keys(Limit=2, **({"Marker": marker} if marker else {}))
        keys += page["Keys"]
        if not page.get("Truncated"):
            break
        marker = page["NextMarker"]
    assert {"KeyId": m["KeyId"], "KeyArn": m["Arn"]} in keys


@case(veil_only="moto does not check the ciphertext's key against KeyId")
def decrypt_with_other_key_id_is_incorrect_key(kms, t):
    a, b = new_key(kms), new_key(kms)
    blob = kms.encrypt(KeyId=a["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    expect_error("IncorrectKeyException", kms.decrypt, CiphertextBlob=blob, KeyId=b["KeyId"])


@case(veil_only="moto accepts any signature")
def bad_signature_is_refused(kms, t):
    bad = kms_servers.Target(t.name, t.endpoint, t.access_key, "x" * 40, t.account).client()
    expect_error("InvalidSignatureException", bad.list_keys)
    unknown = kms_servers.Target(t.name, t.endpoint, "AKIAUNKNOWN000000000", "x" * 40,
                                 t.account).client()
    expect_error("UnrecognizedClientException", unknown.list_keys)


def run(target, failures):
    kms = target.client()
    for fn, veil_only in CASES:
        name = f"{target.name}: {fn.__name__}"
        if veil_only and target.name != "veil-kms":
            print(f"skip {name} ({veil_only})")
            continue
        try:
            fn(kms, target)
            print(f"ok   {name}")
        except Exception:  # noqa: BLE001  (report every failing case)
            failures.append(name)
            print(f"FAIL {name}\n{traceback.format_exc()}")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    try:
        import boto3  # noqa: F401
    except ImportError:
        kms_servers.skip("boto3 is not installed (pip install boto3 moto[server])")
    if not kms_servers.moto_available():
        kms_servers.skip("moto_server is not installed (pip install 'moto[server]')")
    failures = []
    with kms_servers.veil_kms_target(sys.argv[1]) as (target, _):
        run(target, failures)
    with kms_servers.moto_target() as target:
        run(target, failures)
    if MOTO_GAPS:
        print("\nAWS-documented behaviour moto lacks (checked on veil-kms only):")
        for gap in sorted(MOTO_GAPS):
            print(f"  - {gap}")
    print(f"\n{len(failures)} failure(s)" + ("" if not failures else ": " + ", ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
