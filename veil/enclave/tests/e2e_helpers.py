#!/usr/bin/env python3
"""Helpers for e2e_test.sh (standard library, plus boto3 for the KMS calls).

  create-keys                      two keys (acme, globex) that only the admin may use;
                                   prints their ARNs
  put-policy KEY_ARN TENANT PCR0   the tenant key policy (see e2e_test.sh)
  direct-decrypt MESSAGE TENANT DOC
                                   KMS Decrypt of MESSAGE's aws-kms EDK with its own
                                   encryption context but tenant=TENANT, Recipient=DOC;
                                   prints "ok-recipient", "ok-plaintext" or the error code
  relay PORT_FILE TO_PORT CAPTURE_DIR
                                   a TCP relay on 127.0.0.1 that records the bytes of each
                                   connection, each direction, in CAPTURE_DIR
  tls-check CAPTURE_DIR            every captured stream is whole TLS records
  image OUT KIND SEED CANARY_HEX   png (random pixels, canary in tEXt and a private chunk),
                                   jpeg (random 8x8 blocks, canary in COM and APP15),
                                   invalid (random bytes around the canary)
  scan CANARY_HEX FILE...          exit 1 if the canary (raw, hex, HEX, base64) is in a file
  esdk-body-offset MESSAGE         the offset of the first byte after the header
  audit-last AUDIT_JSONL PRINCIPAL_ARN OPERATION
                                   "<outcome> <recipient pcr0 or ->" of that principal's last
                                   call of OPERATION in veil-kms's audit log

KMS calls read AWS_* credentials from the environment and E2E_KMS_URL,
E2E_KMS_CA from the environment.
"""

import asyncio
import base64
import os
import random
import struct
import sys
import zlib

ACCOUNT = "111122223333"
ADMIN = f"arn:aws:iam::{ACCOUNT}:user/admin"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/enclave-parent"
CLIENTS = {"acme": f"arn:aws:iam::{ACCOUNT}:user/alice",
           "globex": f"arn:aws:iam::{ACCOUNT}:user/bob"}


def kms_client():
    import boto3
    return boto3.client("kms", endpoint_url=os.environ["E2E_KMS_URL"],
                        region_name="us-east-1", verify=os.environ["E2E_KMS_CA"])


def admin_only():
    return {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": ADMIN},
            "Action": "kms:*", "Resource": "*"}


def create_keys():
    import json
    kms = kms_client()
    policy = json.dumps({"Version": "2012-10-17", "Statement": [admin_only()]})
    arns = []
    for tenant in ("acme", "globex"):
        r = kms.create_key(Description=f"tenant {tenant}", Policy=policy)
        arns.append(r["KeyMetadata"]["Arn"])
    print(" ".join(arns))


def put_policy(key_arn, tenant, pcr0):
    import json
    statements = [
        admin_only(),
        # The tenant's own client encrypts images and decrypts results, only
        # under its tenant's encryption context.
        {"Sid": "TenantClient", "Effect": "Allow", "Principal": {"AWS": CLIENTS[tenant]},
         "Action": ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": tenant}}},
        # The enclave's parent role: only for the attested image, only for
        # this tenant's context. The RecipientAttestation keys exist only when
        # a Recipient carries a verified document, so without one this Allow
        # does not apply.
        {"Sid": "EnclaveAttested", "Effect": "Allow", "Principal": {"AWS": ROLE},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
         "Condition": {
             "StringEqualsIgnoreCase": {"kms:RecipientAttestation:PCR0": pcr0,
                                        "kms:RecipientAttestation:ImageSha384": pcr0},
             "StringEquals": {"kms:EncryptionContext:tenant": tenant}}},
        # And explicitly: the parent role never gets a key without a Recipient.
        {"Sid": "EnclaveNeverPlaintext", "Effect": "Deny", "Principal": {"AWS": ROLE},
         "Action": "kms:*", "Resource": "*",
         "Condition": {"Null": {"kms:RecipientAttestation:PCR0": "true"}}},
    ]
    kms_client().put_key_policy(
        KeyId=key_arn, PolicyName="default",
        Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))


def parse_header(data):
    """Returns (encryption context, [(provider id, provider info, ciphertext)], body offset)."""
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(data):
            raise ValueError("truncated header")
        out = data[pos:pos + n]
        pos += n
        return out

    def u16():
        return struct.unpack(">H", take(2))[0]

    version = take(1)[0]
    if version == 2:
        take(2 + 32)
    elif version == 1:
        take(1 + 2 + 16)
    else:
        raise ValueError(f"unknown message version {version}")
    suite = struct.unpack(">H", data[1:3] if version == 2 else data[2:4])[0]
    aad_len = u16()
    context = {}
    if aad_len:
        end = pos + aad_len
        for _ in range(u16()):
            k = take(u16()).decode()
            context[k] = take(u16()).decode()
        assert pos == end
    edks = []
    for _ in range(u16()):
        edks.append((take(u16()).decode(), take(u16()).decode(), take(u16())))
    if version == 2:
        take(1)            # content type
        take(4)            # frame length
        take(32)           # algorithm suite data (commitment)
        take(16)           # header auth tag (no IV in v2)
    else:
        take(1 + 4 + 1 + 4)
        iv_len = data[pos - 5]
        take(iv_len + 16)
    del suite
    return context, edks, pos


def direct_decrypt(message_path, tenant, doc_path):
    from botocore.exceptions import ClientError
    data = open(message_path, "rb").read()
    context, edks, _ = parse_header(data)
    context = dict(context, tenant=tenant)
    blob, key_arn = next((ct, info) for pid, info, ct in edks if pid == "aws-kms")
    kwargs = {"CiphertextBlob": blob, "KeyId": key_arn, "EncryptionContext": context}
    if doc_path != "-":
        kwargs["Recipient"] = {"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                               "AttestationDocument": open(doc_path, "rb").read()}
    try:
        r = kms_client().decrypt(**kwargs)
    except ClientError as e:
        print(e.response["Error"]["Code"])
        return
    if r.get("CiphertextForRecipient") and not r.get("Plaintext"):
        print("ok-recipient")
    else:
        print("ok-plaintext")


def relay(port_file, to_port, capture_dir):
    os.makedirs(capture_dir, exist_ok=True)
    counter = [0]

    async def pipe(reader, writer, path):
        with open(path, "ab") as f:
            try:
                while True:
                    chunk = await reader.read(65536)
                    if not chunk:
                        break
                    f.write(chunk)
                    f.flush()
                    writer.write(chunk)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                try:
                    writer.write_eof()
                except (OSError, RuntimeError):
                    pass

    async def handle(client_reader, client_writer):
        counter[0] += 1
        n = counter[0]
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", to_port)
        except OSError:
            client_writer.close()
            return
        base = os.path.join(capture_dir, f"conn{n:04d}")
        await asyncio.gather(pipe(client_reader, server_writer, base + ".c2s"),
                             pipe(server_reader, client_writer, base + ".s2c"))
        client_writer.close()
        server_writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        with open(port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.rename(port_file + ".tmp", port_file)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def tls_check(capture_dir):
    streams = sorted(os.listdir(capture_dir))
    if not streams:
        print("no captured streams")
        return 1
    total = 0
    for name in streams:
        data = open(os.path.join(capture_dir, name), "rb").read()
        pos = 0
        first = True
        while pos < len(data):
            if pos + 5 > len(data):
                print(f"{name}: a partial TLS record header at {pos}")
                return 1
            ctype, version, length = data[pos], struct.unpack(">H", data[pos + 1:pos + 3])[0], \
                struct.unpack(">H", data[pos + 3:pos + 5])[0]
            if ctype not in (0x14, 0x15, 0x16, 0x17):
                print(f"{name}: byte {pos} is not a TLS record (content type {ctype:#x})")
                return 1
            if version != 0x0303 and not (first and version == 0x0301):
                print(f"{name}: record at {pos} has version {version:#x}")
                return 1
            if pos + 5 + length > len(data):
                # A connection cut mid-record (e.g. the proxy was stopped) is
                # still TLS: the rest never crossed.
                if length > 16384 + 2048:
                    print(f"{name}: record at {pos} has length {length}")
                    return 1
                break
            pos += 5 + length
            first = False
        total += len(data)
    print(f"{len(streams)} streams, {total} bytes, all TLS records")
    return 0


def png(rng, canary):
    w, h = rng.randint(16, 200), rng.randint(16, 200)
    raw = b"".join(b"\x00" + rng.randbytes(w * 3) for _ in range(h))

    def chunk(kind, payload):
        return (struct.pack(">I", len(payload)) + kind + payload +
                struct.pack(">I", zlib.crc32(kind + payload) & 0xffffffff))

    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"tEXt", b"Comment\x00" + canary.hex().encode()) +
            chunk(b"veIl", canary) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# Baseline JPEG, one grey component, quantisation 1, each 8x8 block one flat
# random level (DC only, every AC coefficient zero: the block's code is its
# DC difference and an end-of-block). Standard luminance Huffman tables.
DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
DC_VALS = list(range(12))
AC_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d]
AC_VALS = bytes.fromhex(
    "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a"
    "25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a"
    "838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9ca"
    "d2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa")


def huffman_codes(bits, vals):
    codes, code, k = {}, 0, 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            codes[vals[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


def jpeg(rng, canary):
    w, h = 8 * rng.randint(2, 30), 8 * rng.randint(2, 30)
    dc_codes = huffman_codes(DC_BITS, DC_VALS)
    eob = huffman_codes(AC_BITS, list(AC_VALS))[0x00]
    acc, nacc, out = 0, 0, bytearray()

    def put(value, length):
        nonlocal acc, nacc
        for i in range(length - 1, -1, -1):
            acc = (acc << 1) | ((value >> i) & 1)
            nacc += 1
            if nacc == 8:
                out.append(acc)
                if acc == 0xFF:
                    out.append(0)
                acc, nacc = 0, 0

    prev = 0
    for _ in range((w // 8) * (h // 8)):
        dc = rng.randint(-1000, 1000)
        diff, prev = dc - prev, dc
        size = abs(diff).bit_length()
        put(*dc_codes[size])
        if size:
            put(diff if diff > 0 else diff + (1 << size) - 1, size)
        put(*eob)
    if nacc:
        put((1 << (8 - nacc)) - 1, 8 - nacc)

    def segment(marker, payload):
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    return (b"\xff\xd8" +
            segment(0xFE, canary.hex().encode()) +
            segment(0xEF, canary) +
            segment(0xDB, b"\x00" + bytes([1] * 64)) +
            segment(0xC0, struct.pack(">BHHB", 8, h, w, 1) + b"\x01\x11\x00") +
            segment(0xC4, b"\x00" + bytes(DC_BITS) + bytes(DC_VALS)) +
            segment(0xC4, b"\x10" + bytes(AC_BITS) + AC_VALS) +
            segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") +
            bytes(out) + b"\xff\xd9")


def invalid(rng, canary):
    return rng.randbytes(rng.randint(0, 2000)) + canary + canary.hex().encode() + \
        rng.randbytes(rng.randint(0, 2000))


def image(out, kind, seed, canary_hex):
    rng = random.Random(int(seed))
    canary = bytes.fromhex(canary_hex)
    data = {"png": png, "jpeg": jpeg, "invalid": invalid}[kind](rng, canary)
    with open(out, "wb") as f:
        f.write(data)


def scan(canary_hex, paths):
    canary = bytes.fromhex(canary_hex)
    needles = [canary, canary.hex().encode(), canary.hex().upper().encode(),
               base64.b64encode(canary).rstrip(b"=")]
    found = 0
    for path in paths:
        try:
            data = open(path, "rb").read()
        except OSError:
            continue
        for needle in needles:
            if needle in data:
                print(f"canary found in {path}")
                found += 1
                break
    return 1 if found else 0


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "create-keys":
        create_keys()
    elif cmd == "put-policy":
        put_policy(*args)
    elif cmd == "direct-decrypt":
        direct_decrypt(*args)
    elif cmd == "relay":
        relay(args[0], int(args[1]), args[2])
    elif cmd == "tls-check":
        return tls_check(args[0])
    elif cmd == "image":
        image(*args)
    elif cmd == "scan":
        return scan(args[0], args[1:])
    elif cmd == "audit-last":
        import json
        last = None
        for line in open(args[0]):
            r = json.loads(line)
            if r.get("principal") == args[1] and r.get("operation") == args[2]:
                last = r
        if last is None:
            print("none")
        else:
            print(last.get("outcome"), (last.get("recipient") or {}).get("pcr0", "-"))
    elif cmd == "esdk-body-offset":
        print(parse_header(open(args[0], "rb").read())[2])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
