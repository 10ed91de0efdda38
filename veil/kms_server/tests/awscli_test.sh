#!/usr/bin/env bash
# The real AWS CLI v2 against veil-kms: create-key, create-alias, encrypt,
# decrypt, generate-data-key, re-encrypt, put-key-policy, disable/enable,
# schedule-key-deletion. Debian's awscli package installs v2 as
# /usr/bin/aws; an `aws` earlier on PATH may be a v1 shim, so /usr/bin/aws is
# preferred. Exit 77 (skip) when no AWS CLI v2 is installed.
#
# usage: awscli_test.sh VEIL_KMS_BINARY
set -euo pipefail

VEIL_KMS="$1"
AWS=""
for candidate in /usr/bin/aws "$(command -v aws || true)"; do
  if [[ -n "${candidate}" && -x "${candidate}" ]] &&
     [[ "$("${candidate}" --version 2>/dev/null)" == aws-cli/2.* ]]; then
    AWS="${candidate}"
    break
  fi
done
if [[ -z "${AWS}" ]]; then
  echo "SKIP: AWS CLI v2 not installed (apt-get install awscli)"
  exit 77
fi

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  [[ -n "${SERVER_PID}" ]] && kill "${SERVER_PID}" 2>/dev/null && wait "${SERVER_PID}" 2>/dev/null
  rm -rf "${WORK}"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- server log" >&2
  cat "${WORK}/server.log" >&2 || true
  exit 1
}

DATA="${WORK}/data"
eval "$("${VEIL_KMS}" principal add --data-dir "${DATA}" \
  --arn arn:aws:iam::111122223333:user/cli-tester | sed 's/^/export /')"
"${VEIL_KMS}" serve --listen 127.0.0.1:0 --data-dir "${DATA}" \
  --port-file "${WORK}/port" >"${WORK}/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do [[ -s "${WORK}/port" ]] && break; sleep 0.05; done
[[ -s "${WORK}/port" ]] || fail "veil-kms did not start"
PORT="$(cat "${WORK}/port")"

export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN
kms() { "${AWS}" --endpoint-url "http://127.0.0.1:${PORT}" --output text kms "$@"; }
kms_json() { "${AWS}" --endpoint-url "http://127.0.0.1:${PORT}" --output json kms "$@"; }
expect_error() {
  local want="$1"; shift
  local out
  if out="$(kms "$@" 2>&1)"; then fail "expected ${want} from: $*"; fi
  grep -q "(${want})" <<<"${out}" || fail "expected ${want} from: $*; got: ${out}"
}

cd "${WORK}"

KEY_ID="$(kms create-key --description "awscli test" --query KeyMetadata.KeyId)"
KEY_ARN="$(kms describe-key --key-id "${KEY_ID}" --query KeyMetadata.Arn)"
[[ "${KEY_ARN}" == "arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}" ]] || fail "ARN ${KEY_ARN}"
echo "ok create-key ${KEY_ID}"

kms create-alias --alias-name alias/cli-test --target-key-id "${KEY_ID}"
[[ "$(kms describe-key --key-id alias/cli-test --query KeyMetadata.KeyId)" == "${KEY_ID}" ]] ||
  fail "alias does not resolve"
echo "ok create-alias"

printf 'the quick brown fox' >plain.txt
kms encrypt --key-id alias/cli-test --plaintext fileb://plain.txt \
  --encryption-context tenant=acme,purpose=test --query CiphertextBlob | base64 -d >blob.bin
kms decrypt --ciphertext-blob fileb://blob.bin --encryption-context tenant=acme,purpose=test \
  --query Plaintext | base64 -d >out.txt
cmp plain.txt out.txt || fail "decrypt returned other bytes"
expect_error InvalidCiphertextException decrypt --ciphertext-blob fileb://blob.bin \
  --encryption-context tenant=globex,purpose=test
echo "ok encrypt/decrypt (and a wrong encryption context is refused)"

kms_json generate-data-key --key-id "${KEY_ID}" --key-spec AES_256 >dk.json
python3 - <<'PY' || fail "generate-data-key response"
import base64, json
r = json.load(open("dk.json"))
assert len(base64.b64decode(r["Plaintext"])) == 32
open("dk.blob", "wb").write(base64.b64decode(r["CiphertextBlob"]))
open("dk.plain", "wb").write(base64.b64decode(r["Plaintext"]))
PY
kms decrypt --ciphertext-blob fileb://dk.blob --query Plaintext | base64 -d >dk.out
cmp dk.plain dk.out || fail "data key does not decrypt to itself"
echo "ok generate-data-key"

KEY2_ID="$(kms create-key --query KeyMetadata.KeyId)"
kms re-encrypt --ciphertext-blob fileb://blob.bin \
  --source-encryption-context tenant=acme,purpose=test \
  --destination-key-id "${KEY2_ID}" --destination-encryption-context tenant=acme \
  --query CiphertextBlob | base64 -d >blob2.bin
[[ "$(kms decrypt --ciphertext-blob fileb://blob2.bin --encryption-context tenant=acme \
  --query KeyId)" == "arn:aws:kms:us-east-1:111122223333:key/${KEY2_ID}" ]] ||
  fail "re-encrypted blob is not under the destination key"
kms decrypt --ciphertext-blob fileb://blob2.bin --encryption-context tenant=acme \
  --query Plaintext | base64 -d >out2.txt
cmp plain.txt out2.txt || fail "re-encrypt changed the plaintext"
echo "ok re-encrypt"

cat >policy.json <<'JSON'
{"Version": "2012-10-17", "Statement": [
  {"Sid": "admin", "Effect": "Allow",
   "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
  {"Sid": "only-acme", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt",
   "Resource": "*",
   "Condition": {"StringNotEquals": {"kms:EncryptionContext:tenant": "acme"}}}]}
JSON
kms put-key-policy --key-id "${KEY2_ID}" --policy-name default --policy file://policy.json
# (Output captured first: `grep -q` closing the pipe early would make the CLI
# fail with EPIPE under pipefail.)
GOT_POLICY="$(kms get-key-policy --key-id "${KEY2_ID}" --policy-name default --query Policy)"
grep -q only-acme <<<"${GOT_POLICY}" || fail "get-key-policy does not return the new policy"
kms encrypt --key-id "${KEY2_ID}" --plaintext fileb://plain.txt --encryption-context tenant=globex \
  --query CiphertextBlob | base64 -d >globex.bin
expect_error AccessDeniedException decrypt --ciphertext-blob fileb://globex.bin \
  --encryption-context tenant=globex
echo "ok put-key-policy (its Deny is enforced)"

kms disable-key --key-id "${KEY_ID}"
[[ "$(kms describe-key --key-id "${KEY_ID}" --query KeyMetadata.KeyState)" == "Disabled" ]] ||
  fail "disable-key"
expect_error DisabledException encrypt --key-id "${KEY_ID}" --plaintext fileb://plain.txt
kms enable-key --key-id "${KEY_ID}"
kms encrypt --key-id "${KEY_ID}" --plaintext fileb://plain.txt >/dev/null
echo "ok disable-key/enable-key"

kms enable-key-rotation --key-id "${KEY_ID}"
[[ "$(kms get-key-rotation-status --key-id "${KEY_ID}" --query KeyRotationEnabled)" == "True" ]] ||
  fail "get-key-rotation-status"
echo "ok enable-key-rotation"

STATE="$(kms schedule-key-deletion --key-id "${KEY_ID}" --pending-window-in-days 7 \
  --query KeyState)"
[[ "${STATE}" == "PendingDeletion" ]] || fail "schedule-key-deletion: ${STATE}"
expect_error KMSInvalidStateException decrypt --ciphertext-blob fileb://blob.bin \
  --encryption-context tenant=acme,purpose=test
expect_error ValidationException schedule-key-deletion --key-id "${KEY2_ID}" \
  --pending-window-in-days 3
kms cancel-key-deletion --key-id "${KEY_ID}" >/dev/null
echo "ok schedule-key-deletion"

[[ "$(wc -l <"${DATA}/audit.jsonl")" -gt 20 ]] || fail "audit log too short"
if grep -q "the quick brown fox\|$(base64 -w0 plain.txt)" "${DATA}/audit.jsonl"; then
  fail "plaintext in the audit log"
fi
# HTTPS: the same CLI over TLS (--tls-cert/--tls-key), trusting the
# server's self-signed certificate with --ca-bundle.
kill "${SERVER_PID}" && wait "${SERVER_PID}" 2>/dev/null || true
SERVER_PID=""
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout tls.key -out tls.crt 2>/dev/null ||
  fail "cannot make a TLS certificate"
rm -f "${WORK}/port"
"${VEIL_KMS}" serve --listen 127.0.0.1:0 --data-dir "${DATA}" --tls-cert tls.crt \
  --tls-key tls.key --port-file "${WORK}/port" >>"${WORK}/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do [[ -s "${WORK}/port" ]] && break; sleep 0.05; done
[[ -s "${WORK}/port" ]] || fail "veil-kms did not start with TLS"
PORT="$(cat "${WORK}/port")"
[[ "$("${AWS}" --endpoint-url "https://127.0.0.1:${PORT}" --ca-bundle tls.crt --output text \
  kms describe-key --key-id "${KEY2_ID}" --query KeyMetadata.KeyId)" == "${KEY2_ID}" ]] ||
  fail "describe-key over HTTPS"
"${AWS}" --endpoint-url "https://127.0.0.1:${PORT}" --ca-bundle tls.crt --output text \
  kms decrypt --ciphertext-blob fileb://blob2.bin --encryption-context tenant=acme \
  --query Plaintext | base64 -d >out3.txt
cmp plain.txt out3.txt || fail "decrypt over HTTPS"
echo "ok HTTPS (--tls-cert/--tls-key), state kept across the restart"

echo "PASS: AWS CLI $("${AWS}" --version | cut -d' ' -f1) against veil-kms"
