#!/usr/bin/env python3
"""Crash durability: SIGKILL veil-kms in the middle of a burst of CreateKey,
CreateAlias and Encrypt calls, restart it on the same data directory, and
check that every call that returned success still holds: each acknowledged
key and alias exists, and each acknowledged ciphertext decrypts to its
plaintext under its encryption context.

usage: crash_durability_test.py VEIL_KMS_BINARY
Exit status: 0 pass, 1 fail, 77 boto3 missing.
"""

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kms_servers  # noqa: E402

WORKERS = 6
ROUNDS = 3
BURST_SECONDS = 1.5


def is_transport_error(e):
    """A connection-level failure (refused, timed out) that a loaded 2-core
    machine can produce before the kill: the call was not acknowledged, so
    durability is not at stake, and the worker simply tries again. Any answer
    from the server that is an error still fails the test."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import ReadTimeoutError
    return isinstance(e, (BotoConnectionError, ReadTimeoutError))


def burst(target, stop, acked, errors):
    kms = target.client(connect_timeout=10, read_timeout=30)
    mine = None
    while not stop.is_set():
        try:
            key_id = kms.create_key(Description="crash")["KeyMetadata"]["KeyId"]
            acked["keys"].append(key_id)
            mine = mine or key_id
            alias = f"alias/crash-{uuid.uuid4().hex[:16]}"
            kms.create_alias(AliasName=alias, TargetKeyId=key_id)
            acked["aliases"].append((alias, key_id))
            for kid in (key_id, mine):
                plaintext = os.urandom(32)
                ec = {"n": uuid.uuid4().hex}
                blob = kms.encrypt(KeyId=kid, Plaintext=plaintext,
                                   EncryptionContext=ec)["CiphertextBlob"]
                acked["blobs"].append((kid, blob, plaintext, ec))
        except Exception as e:  # noqa: BLE001  (the server dies mid-call)
            if stop.is_set():
                return
            if is_transport_error(e):
                time.sleep(0.05)
                continue
            errors.append(repr(e))
            return


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    try:
        import boto3  # noqa: F401
    except ImportError:
        kms_servers.skip("boto3 is not installed")
    tmp = tempfile.mkdtemp(prefix="veil-kms-crash-")
    data = os.path.join(tmp, "data")
    os.makedirs(data, mode=0o700)
    try:
        access, secret = kms_servers.add_principal(
            sys.argv[1], data, f"arn:aws:iam::{kms_servers.ACCOUNT}:user/crash")
        server = kms_servers.VeilKms(sys.argv[1], data)
        acked = {"keys": [], "aliases": [], "blobs": []}
        for round_no in range(ROUNDS):
            server.start()
            target = kms_servers.Target("veil-kms", server.endpoint, access, secret,
                                        kms_servers.ACCOUNT)
            # Everything acknowledged so far survived the previous SIGKILL.
            check(target, acked, server)
            stop = threading.Event()
            errors = []
            threads = [threading.Thread(target=burst, args=(target, stop, acked, errors))
                       for _ in range(WORKERS)]
            for t in threads:
                t.start()
            time.sleep(BURST_SECONDS)
            server.kill(signal.SIGKILL)
            stop.set()
            for t in threads:
                t.join()
            if errors:
                print(f"FAIL: calls failed before the kill: {errors[:3]}")
                print(server.log())
                return 1
            print(f"round {round_no}: SIGKILL after {len(acked['keys'])} keys, "
                  f"{len(acked['aliases'])} aliases, {len(acked['blobs'])} ciphertexts acknowledged")
        server.start()
        target = kms_servers.Target("veil-kms", server.endpoint, access, secret,
                                    kms_servers.ACCOUNT)
        check(target, acked, server)
        server.kill(signal.SIGTERM)
        with open(os.path.join(data, "audit.jsonl")) as f:
            for line in f:
                json.loads(line)
        print(f"PASS: {len(acked['keys'])} keys, {len(acked['aliases'])} aliases and "
              f"{len(acked['blobs'])} ciphertexts survived {ROUNDS} SIGKILLs")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check(target, acked, server):
    kms = target.client()
    for key_id in acked["keys"]:
        state = kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
        assert state == "Enabled", (key_id, state)
    for alias, key_id in acked["aliases"]:
        assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key_id, alias
    for key_id, blob, plaintext, ec in acked["blobs"]:
        r = kms.decrypt(CiphertextBlob=blob, EncryptionContext=ec)
        assert r["Plaintext"] == plaintext, key_id
        assert r["KeyId"].endswith(key_id), (server.endpoint, key_id)


if __name__ == "__main__":
    sys.exit(main())
