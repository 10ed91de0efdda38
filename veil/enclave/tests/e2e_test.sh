#!/usr/bin/env bash
# End to end: attested key release (docs/e2e.md).
#
#   bash e2e_test.sh VEIL VEIL_ENCLAVE VEIL_NITRO_RUN VEIL_NSM_SIM VEIL_VSOCK_PROXY \
#                    VEIL_KMS VEIL_CHANNEL SHARED_DIR
#
# The client CLI encrypts an image under a tenant's key in veil-kms; the
# real veil-enclave, sandboxed by veil-nitro-run with a simulated NSM, gets
# the data key only through KMS Decrypt with a Recipient, over TLS through
# veil-vsock-proxy, and only because the key policy names its PCR0. Each
# check prints PASS or FAIL; the first FAIL ends the run with the logs.
#
# Exit 77 (skipped) when SHARED_DIR has no model or test image, when bwrap
# cannot create namespaces here, or without openssl or python3 with boto3.
# VEIL_E2E_SEED fixes the seed of the canary property (printed on each run);
# VEIL_E2E_CANARY_RUNS its number of images (default 20).
set -euo pipefail

usage="usage: e2e_test.sh VEIL VEIL_ENCLAVE VEIL_NITRO_RUN VEIL_NSM_SIM VEIL_VSOCK_PROXY VEIL_KMS VEIL_CHANNEL SHARED_DIR"
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
VEIL="$(abs "${1:?$usage}")"
ENCLAVE="$(abs "${2:?$usage}")"
NITRO_RUN="$(abs "${3:?$usage}")"
NSM_SIM="$(abs "${4:?$usage}")"
VSOCK_PROXY="$(abs "${5:?$usage}")"
KMS="$(abs "${6:?$usage}")"
CHANNEL="$(abs "${7:?$usage}")"
SHARED="${8:?$usage}"
HELPERS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/e2e_helpers.py"
MODEL="$SHARED/models/v5lite-e-320-decoded.onnx"
DOG="$SHARED/testdata/images/dog.jpg"

skip() {
  echo "SKIP: $*"
  exit 77
}
[ -f "$MODEL" ] || skip "no model at $MODEL (the shared models directory is absent)"
[ -f "$DOG" ] || skip "no test image at $DOG"
command -v openssl >/dev/null || skip "the openssl CLI is not installed"
python3 -c 'import boto3' 2>/dev/null || skip "python3 with boto3 is not available"
command -v bwrap >/dev/null || skip "bwrap (Debian package bubblewrap) is not installed"
if ! bwrap_err="$(bwrap --unshare-all --die-with-parent --ro-bind /usr /usr \
  --symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev /usr/bin/true 2>&1)"; then
  skip "bwrap cannot create namespaces on this machine: $bwrap_err"
fi
[ "$(dirname "$NITRO_RUN")" = "$(dirname "$NSM_SIM")" ] ||
  { echo "FAIL: $NITRO_RUN and $NSM_SIM are not side by side"; exit 1; }

# A short path: unix socket paths are limited to 107 bytes.
work="$(mktemp -d /tmp/veil-e2e.XXXXXX)"
kms_pid="" relay_pid="" proxy_pid="" launcher_pid=""
cleanup() {
  set +e
  local p
  for p in "$launcher_pid" "$proxy_pid" "$relay_pid" "$kms_pid"; do
    if [ -n "$p" ]; then
      kill "$p" 2>/dev/null
      wait "$p" 2>/dev/null
    fi
  done
  if [ -n "${VEIL_E2E_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$work"
mkdir -p log creds tls cap msg
RUN="$work/run"
CHANNEL_EP="unix:$RUN/sock/channel.sock"
start_time=$SECONDS
passed=0

dump_logs() {
  local f
  for f in log/kms.log log/proxy.log log/launch-*.err; do
    [ -f "$f" ] || continue
    echo "--- $f (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
}
die() {
  echo "FAIL: $*" >&2
  dump_logs
  exit 1
}
# check NAME FUNCTION: runs one test; the function prints why it failed.
check() {
  local name="$1" t0=$SECONDS
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "PASS: $name ($((SECONDS - t0)) s)"
  else
    die "$name"
  fi
}
wait_for() {  # wait_for SECONDS CMD...: poll every 0.05 s
  local limit=$(($1 * 20)) i
  shift
  for ((i = 0; i < limit; i++)); do
    "$@" && return 0
    sleep 0.05
  done
  return 1
}
phase() { echo "--- $* (t=$((SECONDS - start_time)) s)"; }

# ---------------------------------------------------------------------------
phase "set-up: CAs, veil-kms, principals, keys"

"$VEIL" attest simulate-ca --out "$work/sim-ca" >log/simulate-ca.out 2>&1 ||
  die "veil attest simulate-ca"

# The key service's TLS: a test CA and a certificate for kms.veil.test (the
# name the enclave pins) that also names 127.0.0.1 (the client CLI and boto3
# on this machine connect by address).
(
  set -e
  cd tls
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=veil e2e test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
    -keyout ca.key -out ca.pem
  printf 'subjectAltName=DNS:kms.veil.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
  openssl req -newkey rsa:2048 -nodes -subj /CN=kms.veil.test -keyout server.key -out server.csr
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 1 \
    -extfile server.ext -out server.pem
) >log/openssl.log 2>&1 || die "openssl: $(tail -3 log/openssl.log)"

ACCOUNT=111122223333
principal() {  # principal NAME ARN: credentials in creds/NAME.env
  "$KMS" principal add --data-dir "$work/kms-data" --arn "$2" >"creds/$1.env" ||
    die "veil-kms principal add $2"
}
principal admin "arn:aws:iam::$ACCOUNT:user/admin"
principal alice "arn:aws:iam::$ACCOUNT:user/alice"
principal bob "arn:aws:iam::$ACCOUNT:user/bob"
principal enclave "arn:aws:iam::$ACCOUNT:role/enclave-parent"

"$KMS" serve --listen 127.0.0.1:0 --data-dir "$work/kms-data" --port-file "$work/kms.port" \
  --tls-cert tls/server.pem --tls-key tls/server.key \
  --attestation-root "$work/sim-ca/root.pem" >log/kms.log 2>&1 &
kms_pid=$!
wait_for 10 test -s "$work/kms.port" || die "veil-kms did not start"
KMS_PORT="$(cat "$work/kms.port")"

export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null \
  AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
  AWS_ENDPOINT_URL_KMS="https://127.0.0.1:$KMS_PORT" AWS_CA_BUNDLE="$work/tls/ca.pem" \
  E2E_KMS_URL="https://127.0.0.1:$KMS_PORT" E2E_KMS_CA="$work/tls/ca.pem"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL
as() {  # as PRINCIPAL CMD...: run CMD with that principal's credentials
  local who="$1"
  shift
  env $(cat "creds/$who.env") "$@"
}
helper() { python3 "$HELPERS" "$@"; }

read -r ACME_KEY GLOBEX_KEY < <(as admin python3 "$HELPERS" create-keys) ||
  die "CreateKey"
[ -n "$GLOBEX_KEY" ] || die "CreateKey returned no ARNs"

# ---------------------------------------------------------------------------
phase "set-up: the enclave image"

img="$work/image"
mkdir -p "$img"
cp "$ENCLAVE" "$img/veil-enclave"
cp "$MODEL" "$img/v5lite-e-320-decoded.onnx"
cp tls/ca.pem "$img/kms-ca.pem"
"$VEIL" model manifest "$img/v5lite-e-320-decoded.onnx" --id v5lite-e-320 \
  --output "$img/model.json" >log/manifest.out 2>&1 || die "veil model manifest"
cat >"$img/enclave.json" <<EOF
{
  "format": "veil-enclave-config/1",
  "profile": "development",
  "channel": "unix:/run/veil/channel.sock",
  "nsm": "simulator:/run/veil/nsm.sock",
  "model": "/enclave/app/model.json",
  "workers": 1,
  "queue": 8,
  "keys": {
    "tier": "kms-recipient",
    "kms": {
      "endpoint": "https://kms.veil.test:$KMS_PORT",
      "region": "us-east-1",
      "ca_file": "/enclave/app/kms-ca.pem",
      "connect_host": "127.0.0.1",
      "proxy": "unix:/run/veil/kms.sock"
    }
  },
  "tenants": {
    "acme": {"kms_key": "$ACME_KEY"},
    "globex": {"kms_key": "$GLOBEX_KEY"}
  }
}
EOF
cat >"$img/image.json" <<'EOF'
{"format": "veil-enclave-image/1", "name": "veil-enclave", "version": "0.1.0",
 "binary": "veil-enclave",
 "files": ["model.json", "v5lite-e-320-decoded.onnx", "kms-ca.pem", "enclave.json"],
 "config": "enclave.json"}
EOF

pcr0_of() {  # pcr0_of IMAGE.json
  "$NITRO_RUN" describe --image "$1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Measurements"]["PCR0"])'
}
PCR0="$(pcr0_of "$img/image.json")" || die "veil-nitro-run describe"
[ "${#PCR0}" -eq 96 ] || die "PCR0 '$PCR0' is not 96 hex digits"
echo "image PCR0 $PCR0"

# The key policies pin that PCR0 (see e2e_helpers.py put_policy).
as admin python3 "$HELPERS" put-policy "$ACME_KEY" acme "$PCR0" || die "PutKeyPolicy acme"
as admin python3 "$HELPERS" put-policy "$GLOBEX_KEY" globex "$PCR0" || die "PutKeyPolicy globex"

# ---------------------------------------------------------------------------
# The parent's side: a recording relay (what crossed the proxy) behind
# veil-vsock-proxy, and the launcher.

python3 "$HELPERS" relay "$work/relay.port" "$KMS_PORT" "$work/cap" 2>log/relay.err &
relay_pid=$!
wait_for 10 test -s "$work/relay.port" || die "the recording relay did not start"
RELAY_PORT="$(cat "$work/relay.port")"

start_proxy() {
  "$VSOCK_PROXY" --listen "unix:$RUN/sock/kms.sock" --to "tcp:127.0.0.1:$RELAY_PORT" \
    --stop-grace 1 >>log/proxy.log 2>&1 &
  proxy_pid=$!
  wait_for 10 test -S "$RUN/sock/kms.sock" || die "veil-vsock-proxy did not start"
}
stop_proxy() {
  kill -TERM "$proxy_pid" && wait "$proxy_pid" 2>/dev/null || true
  proxy_pid=""
}

launches=0
# diagnose IMAGE_JSON: the enclave's console from a --debug launch of the
# same image (a normal launch has none), for a launch that failed.
diagnose() {
  rm -rf "$work/run-diagnose"
  timeout 20 "$NITRO_RUN" run --image "$1" --ca "$work/sim-ca" --run-dir "$work/run-diagnose" \
    --debug 2>&1 >/dev/null | grep -E '^\[enclave\]|exited|killed' | tail -n 8 >&2 || true
}
# launch NAME IMAGE_JSON [launcher flags]: start the enclave, wait for its
# channel, push the parent role's credentials.
launch() {
  local name="$1" image="$2" i
  shift 2
  launches=$((launches + 1))
  "$NITRO_RUN" run --image "$image" --ca "$work/sim-ca" --run-dir "$RUN" "$@" \
    >"log/launch-$name.out" 2>"log/launch-$name.err" &
  launcher_pid=$!
  for ((i = 0; i < 1200; i++)); do
    [ -n "$proxy_pid" ] || [ ! -d "$RUN/sock" ] || start_proxy
    [ -S "$RUN/sock/channel.sock" ] && break
    if ! kill -0 "$launcher_pid" 2>/dev/null; then
      wait "$launcher_pid" 2>/dev/null || true
      launcher_pid=""
      echo "launch $name: veil-nitro-run ended: $(grep -E 'exited|killed|cannot' "log/launch-$name.err" | tail -n 2)" >&2
      echo "the enclave's console (from a --debug launch of the same image):" >&2
      diagnose "$image"
      die "launch $name: the enclave did not start"
    fi
    sleep 0.05
  done
  [ -S "$RUN/sock/channel.sock" ] || die "launch $name: the enclave did not listen on its channel in 60 s"
  [ -n "$proxy_pid" ] || start_proxy
  as enclave "$CHANNEL" --endpoint "$CHANNEL_EP" credentials --from-environment \
    >"log/credentials-$name.out" 2>&1 || die "launch $name: credentials: $(cat "log/credentials-$name.out")"
}
# kms_refused PCR0: veil-kms's last Decrypt by the parent role was refused
# by policy (AccessDenied) for an attested Recipient with that PCR0.
kms_refused() {
  local got
  got="$(helper audit-last "$work/kms-data/audit.jsonl" "arn:aws:iam::$ACCOUNT:role/enclave-parent" Decrypt)"
  [ "$got" = "AccessDeniedException $1" ] ||
    { echo "  veil-kms audit: last enclave Decrypt is '$got', expected AccessDeniedException for PCR0 $1" >&2; return 1; }
}
stop_enclave() {
  kill -TERM "$launcher_pid" 2>/dev/null || true
  wait "$launcher_pid" 2>/dev/null || true
  launcher_pid=""
}

# ---------------------------------------------------------------------------
# Client side.

new_request() { cat /proc/sys/kernel/random/uuid; }
in_minutes() { date -u -d "$1 min" +%Y-%m-%dT%H:%M:%SZ; }
# encrypt_as WHO IN OUT TENANT KEY REQUEST EXPIRES
encrypt_as() {
  as "$1" "$VEIL" encrypt --input "$2" --output "$3" --wrapping-key "kms:$5" \
    --encryption-context "tenant=$4" --encryption-context purpose=ml-inference \
    --encryption-context "request=$6" --encryption-context "expires=$7" \
    >>log/client.log 2>&1
}
# decrypt_result_as WHO IN OUT TENANT KEY REQUEST
decrypt_result_as() {
  as "$1" "$VEIL" decrypt --input "$2" --output "$3" --wrapping-key "kms:$5" \
    --encryption-context "tenant=$4" --encryption-context purpose=ml-inference-result \
    --encryption-context "request=$6" >>log/client.log 2>&1
}
# infer TENANT REQUEST IN OUT: the host's call; stderr (the error code) in OUT.err
infer() {
  "$CHANNEL" --endpoint "$CHANNEL_EP" infer --tenant "$1" --request-id "$2" --in "$3" \
    --out "$4" >"$4.stdout" 2>"$4.err"
}
# expect_code CODE TENANT REQUEST IN: the enclave answers exactly `error: CODE`
expect_code() {
  local want="$1" out
  out="msg/$(new_request).out"
  if infer "$2" "$3" "$4" "$out"; then
    echo "  expected error: $want, the enclave answered a result" >&2
    return 1
  fi
  if [ "$(cat "$out.err")" != "error: $want" ]; then
    echo "  expected 'error: $want', got: $(cat "$out.err")" >&2
    return 1
  fi
}

# ---------------------------------------------------------------------------
phase "launch the enclave (image PCR0 ${PCR0:0:16}...)"
launch good "$img/image.json"
"$CHANNEL" --endpoint "$CHANNEL_EP" health >log/health.json || die "health"
grep -q '"tier":"keys=kms-recipient nsm=simulator' log/health.json || die "health: $(cat log/health.json)"

ROUND_REQ="$(new_request)"
test_round_trip() {
  encrypt_as alice "$DOG" msg/dog.veil acme "$ACME_KEY" "$ROUND_REQ" "$(in_minutes +5)" ||
    { echo "  veil encrypt failed: $(tail -3 log/client.log)" >&2; return 1; }
  infer acme "$ROUND_REQ" msg/dog.veil msg/dog.result ||
    { echo "  infer: $(cat msg/dog.result.err)" >&2; return 1; }
  decrypt_result_as alice msg/dog.result msg/dog.json acme "$ACME_KEY" "$ROUND_REQ" ||
    { echo "  veil decrypt failed: $(tail -3 log/client.log)" >&2; return 1; }
  grep -q '"label":"dog"' msg/dog.json || { echo "  no dog in $(cat msg/dog.json)" >&2; return 1; }
  # The result is bound to its request: another request id does not open it.
  if decrypt_result_as alice msg/dog.result msg/dog2.json acme "$ACME_KEY" "$(new_request)"; then
    echo "  the result opened under another request id" >&2
    return 1
  fi
  # And KMS logged the enclave's Decrypt as an attested call with this PCR0.
  local audit
  audit="$(helper audit-last "$work/kms-data/audit.jsonl" "arn:aws:iam::$ACCOUNT:role/enclave-parent" Decrypt)"
  [ "$audit" = "ok $PCR0" ] ||
    { echo "  veil-kms audit: the enclave's Decrypt is '$audit', expected an attested ok for PCR0 $PCR0" >&2; return 1; }
}
check "round trip: veil encrypt (acme) -> enclave (KMS Decrypt with Recipient, PCR0 pinned) -> veil decrypt finds a dog" test_round_trip

test_globex_round_trip() {
  local req
  req="$(new_request)"
  encrypt_as bob "$DOG" msg/globex.veil globex "$GLOBEX_KEY" "$req" "$(in_minutes +5)" || return 1
  infer globex "$req" msg/globex.veil msg/globex.result ||
    { echo "  infer: $(cat msg/globex.result.err)" >&2; return 1; }
  decrypt_result_as bob msg/globex.result msg/globex.json globex "$GLOBEX_KEY" "$req" || return 1
  grep -q '"label":"dog"' msg/globex.json
}
check "round trip for the second tenant (globex, its own key and client)" test_globex_round_trip

test_replay() { expect_code replayed acme "$ROUND_REQ" msg/dog.veil; }
check "replay: the same ciphertext and request id again -> replayed" test_replay

test_expired() {
  local req
  req="$(new_request)"
  encrypt_as alice "$DOG" msg/expired.veil acme "$ACME_KEY" "$req" "$(in_minutes -1)" || return 1
  expect_code expired acme "$req" msg/expired.veil
}
check "expired: expires one minute ago -> expired" test_expired

test_tampered() {
  local req size offset
  req="$(new_request)"
  encrypt_as alice "$DOG" msg/tamper.veil acme "$ACME_KEY" "$req" "$(in_minutes +5)" || return 1
  offset="$(helper esdk-body-offset msg/tamper.veil)" || return 1
  size="$(stat -c %s msg/tamper.veil)"
  offset=$((offset + (size - offset) / 2))
  python3 -c 'import sys; p, o = sys.argv[1], int(sys.argv[2]); d = bytearray(open(p, "rb").read()); d[o] ^= 0x01; open(p + ".flipped", "wb").write(d)' \
    msg/tamper.veil "$offset"
  expect_code unauthenticated acme "$req" msg/tamper.veil.flipped || return 1
  # The refusal spent nothing: the genuine message with that id still works.
  infer acme "$req" msg/tamper.veil msg/tamper.result ||
    { echo "  the genuine message after the forgery: $(cat msg/tamper.result.err)" >&2; return 1; }
}
check "modified ciphertext: one bit flipped in the body -> unauthenticated (and the id is not burnt)" test_tampered

test_cross_tenant_enclave() { expect_code permission_denied globex "$ROUND_REQ-x" msg/dog.veil; }
check "cross-tenant, enclave: globex presents acme's ciphertext -> permission_denied" test_cross_tenant_enclave

test_cross_tenant_kms() {
  local doc="$work/attestation.cbor" got
  # A valid, fresh attestation document of the running enclave (its
  # PCR0 is the one the policy names; its public key is the enclave's).
  "$CHANNEL" --endpoint "$CHANNEL_EP" attest --nonce "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" \
    --out "$doc" || return 1
  # Control: acme's EDK with acme's context, by the parent role with that
  # document -> released, as CiphertextForRecipient only.
  got="$(as enclave python3 "$HELPERS" direct-decrypt msg/dog.veil acme "$doc")"
  [ "$got" = ok-recipient ] || { echo "  control (tenant=acme) got $got" >&2; return 1; }
  # acme's EDK with tenant=globex in the context, same principal, same document.
  got="$(as enclave python3 "$HELPERS" direct-decrypt msg/dog.veil globex "$doc")"
  [ "$got" = AccessDeniedException ] || { echo "  tenant=globex got $got" >&2; return 1; }
  kms_refused "$PCR0" || return 1
  # The parent role without a Recipient: never the plaintext key.
  got="$(as enclave python3 "$HELPERS" direct-decrypt msg/dog.veil acme -)"
  [ "$got" = AccessDeniedException ] || { echo "  no Recipient got $got" >&2; return 1; }
  kms_refused - || return 1
}
check "cross-tenant, KMS: Decrypt of acme's EDK with tenant=globex and a valid attestation -> AccessDenied (control: tenant=acme released; no Recipient: AccessDenied)" test_cross_tenant_kms

test_proxy_is_the_only_path() {
  local req
  req="$(new_request)"
  encrypt_as alice "$DOG" msg/proxy.veil acme "$ACME_KEY" "$req" "$(in_minutes +5)" || return 1
  stop_proxy
  [ ! -e "$RUN/sock/kms.sock" ] || { echo "  kms.sock still there" >&2; return 1; }
  expect_code unavailable acme "$req" msg/proxy.veil || return 1
  start_proxy
  infer acme "$req" msg/proxy.veil msg/proxy.result ||
    { echo "  after the proxy restart: $(cat msg/proxy.result.err)" >&2; return 1; }
  decrypt_result_as alice msg/proxy.result msg/proxy.json acme "$ACME_KEY" "$req" || return 1
  grep -q '"label":"dog"' msg/proxy.json
}
check "the proxy is the enclave's only path to KMS: proxy stopped -> unavailable; restarted -> the same request succeeds" test_proxy_is_the_only_path

# ---------------------------------------------------------------------------
runs="${VEIL_E2E_CANARY_RUNS:-20}"
seed="${VEIL_E2E_SEED:-$(od -An -tu4 -N4 /dev/urandom | tr -d ' ')}"
phase "canary property: $runs images, seed $seed (VEIL_E2E_SEED=$seed to repeat)"
test_canary() {
  local i kind canary req host_files=() canaries=()
  local kinds=(png jpeg png jpeg invalid)
  RANDOM=$((seed % 32768))
  for ((i = 0; i < runs; i++)); do
    kind="${kinds[i % 5]}"
    canary="$(python3 -c 'import random,sys; print(random.Random(int(sys.argv[1])).randbytes(16).hex())' "$((seed + i))")"
    canaries+=("$canary")
    req="$(new_request)"
    helper image "msg/c$i.img" "$kind" "$((seed + i))" "$canary" || return 1
    encrypt_as alice "msg/c$i.img" "msg/c$i.veil" acme "$ACME_KEY" "$req" "$(in_minutes +5)" ||
      return 1
    infer acme "$req" "msg/c$i.veil" "msg/c$i.result" ||
      { echo "  image $i ($kind): $(cat "msg/c$i.result.err")" >&2; return 1; }
    decrypt_result_as alice "msg/c$i.result" "msg/c$i.json" acme "$ACME_KEY" "$req" || return 1
    if [ "$kind" = invalid ]; then
      grep -q '"error"' "msg/c$i.json" || { echo "  image $i: $(cat "msg/c$i.json")" >&2; return 1; }
    else
      grep -q '"detections"' "msg/c$i.json" ||
        { echo "  image $i ($kind) not decoded: $(head -c 300 "msg/c$i.json")" >&2; return 1; }
    fi
    # What the host handled: the request and result ciphertexts and
    # everything veil-channel printed.
    host_files+=("msg/c$i.veil" "msg/c$i.result" "msg/c$i.result.stdout" "msg/c$i.result.err")
  done
  # Every log this machine's operator can read, and every byte that crossed
  # veil-vsock-proxy (the recording relay's capture).
  local seen=("${host_files[@]}" log/kms.log "$work/kms-data/audit.jsonl" log/proxy.log
              log/relay.err log/launch-*.out log/launch-*.err log/credentials-*.out log/health.json
              cap/*)
  # The scanner's control: it does find each canary in the plaintext image.
  for ((i = 0; i < runs; i++)); do
    if helper scan "${canaries[i]}" "msg/c$i.img" >/dev/null; then
      echo "  the scanner missed the canary in plaintext image $i" >&2
      return 1
    fi
  done
  for canary in "${canaries[@]}"; do
    helper scan "$canary" "${seen[@]}" || return 1
  done
  helper tls-check cap >log/tls-check.out || { cat log/tls-check.out >&2; return 1; }
  echo "  $runs canaries absent from ${#seen[@]} files; $(cat log/tls-check.out)"
}
check "canary property ($runs random PNG/JPEG/invalid images, seeded loop): no canary on the host side, in any log, or across the proxy (TLS records only)" test_canary

# ---------------------------------------------------------------------------
phase "changed images and debug mode"
stop_enclave

# variant NAME: a copy of the image to change.
variant() {
  rm -rf "$work/$1"
  cp -a "$img" "$work/$1"
  echo "$work/$1"
}

REFUSE_REQ_FILE=msg/refuse.veil
fresh_request() {  # a new acme request into $REFUSE_REQ_FILE; prints its id
  local req
  req="$(new_request)"
  encrypt_as alice "$DOG" "$REFUSE_REQ_FILE" acme "$ACME_KEY" "$req" "$(in_minutes +5)" || return 1
  echo "$req"
}

test_changed_config() {
  local v pcr req
  v="$(variant image-config)"
  # One byte more: a space before the closing brace (the JSON means the same).
  python3 -c 'import sys; p = sys.argv[1]; d = open(p).read().rstrip("\n"); open(p, "w").write(d[:-1] + " }\n")' \
    "$v/enclave.json"
  pcr="$(pcr0_of "$v/image.json")"
  [ "$pcr" != "$PCR0" ] || { echo "  PCR0 did not change" >&2; return 1; }
  launch config "$v/image.json"
  req="$(fresh_request)" || return 1
  expect_code permission_denied acme "$req" "$REFUSE_REQ_FILE" || return 1
  kms_refused "$pcr" || return 1
  stop_enclave
}
check "changed config (one byte of enclave.json): new PCR0, relaunched, KMS refuses the Recipient -> permission_denied" test_changed_config

test_changed_model() {
  local v pcr req size
  v="$(variant image-model)"
  # One byte of the weights (the middle of the file, inside the float data),
  # with a manifest that pins the changed file, so the enclave starts.
  size="$(stat -c %s "$v/v5lite-e-320-decoded.onnx")"
  python3 -c 'import sys; p, o = sys.argv[1], int(sys.argv[2]); d = bytearray(open(p, "rb").read()); d[o] ^= 0x01; open(p, "wb").write(d)' \
    "$v/v5lite-e-320-decoded.onnx" "$((size / 2))"
  "$VEIL" model manifest "$v/v5lite-e-320-decoded.onnx" --id v5lite-e-320 \
    --output "$v/model.json" >>log/manifest.out 2>&1 || return 1
  pcr="$(pcr0_of "$v/image.json")"
  [ "$pcr" != "$PCR0" ] || { echo "  PCR0 did not change" >&2; return 1; }
  launch model "$v/image.json"
  req="$(fresh_request)" || return 1
  expect_code permission_denied acme "$req" "$REFUSE_REQ_FILE" || return 1
  kms_refused "$pcr" || return 1
  stop_enclave
}
check "changed model (one byte of the weights, re-manifested): new PCR0, relaunched, KMS refuses -> permission_denied" test_changed_model

test_changed_binary() {
  local v pcr
  v="$(variant image-binary)"
  chmod u+w "$v/veil-enclave"
  printf '\0' >>"$v/veil-enclave"
  pcr="$(pcr0_of "$v/image.json")"
  [ "$pcr" != "$PCR0" ] || { echo "  PCR0 did not change" >&2; return 1; }
}
check "changed binary (one byte appended to veil-enclave): new PCR0 (describe only; not in the policy)" test_changed_binary

test_debug() {
  local req
  launch debug "$img/image.json" --debug
  grep -q 'debug=true' "log/launch-debug.err" ||
    { echo "  the launcher did not say debug=true" >&2; return 1; }
  req="$(fresh_request)" || return 1
  expect_code permission_denied acme "$req" "$REFUSE_REQ_FILE" || return 1
  kms_refused "$(printf '0%.0s' $(seq 1 96))" || return 1
  stop_enclave
}
check "--debug launch of the same image (PCR0 all zero): refused -> permission_denied" test_debug

phase "done"
echo "PASS: $passed checks, $launches enclave launches, $((SECONDS - start_time)) s"
