#!/usr/bin/env bash
# End-to-end test of `veil attest verify` on the real binary (STYLE.md C15):
#   bash veil_attest_verify_test.sh PATH/TO/veil SHARED_NITRO_DIR
# SHARED_NITRO_DIR is ../shared/testdata/nitro (the real documents and the AWS
# root, never copied into the repository); without it the test is skipped
# (exit 77). Real documents verify at their own timestamps and fail today;
# policy failures exit 1 naming the check; flag errors exit 2; a simulator
# CA's root is announced as not AWS Nitro.
set -euo pipefail
CLI_TEST_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cli_test_lib.sh"

VEIL="${1:?usage: veil_attest_verify_test.sh PATH/TO/veil SHARED_NITRO_DIR}"
NITRO="${2:?usage: veil_attest_verify_test.sh PATH/TO/veil SHARED_NITRO_DIR}"
VEIL="$(cd "$(dirname "$VEIL")" && pwd)/$(basename "$VEIL")"
if [ ! -f "$NITRO/expected.json" ]; then
  echo "skip: $NITRO/expected.json not found (shared test data is not copied into the repo)"
  exit 77
fi
NITRO="$(cd "$NITRO" && pwd)"
ROOT="$NITRO/aws-nitro-enclaves-root-g1.pem"
DOC1="$NITRO/doc1-eu-central-1-2025-01-06.cbor"
DOC2="$NITRO/doc2-us-east-1-2022-10-13.cbor"
DOC3="$NITRO/doc3-us-east-1-2022-10-12-debug.cbor"
DOC4="$NITRO/doc4-ap-south-1-2025-11-10-pcr16.cbor"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir log
# shellcheck source=cli_test_lib.sh
source "$CLI_TEST_LIB"

expect_ok() {
  [ "$rc" -eq 0 ] || fail "$1: exit $rc: $(cat "log/$1.err")"
  ok "$1"
}
expect_fail() { # expect_fail NAME CODE MESSAGE
  [ "$rc" -eq "$2" ] || fail "$1: exit $rc, want $2: $(cat "log/$1.err")"
  grep -q '^veil: ' "log/$1.err" || fail "$1: stderr lacks 'veil: ': $(cat "log/$1.err")"
  grep -qF -- "$3" "log/$1.err" || fail "$1: stderr lacks '$3': $(cat "log/$1.err")"
  [ ! -s "log/$1.out" ] || fail "$1: printed a result although it failed: $(cat "log/$1.out")"
  ok "$1 ($(grep '^veil: ' "log/$1.err" | tail -n 1))"
}
expected() { jq -r "$1" "$NITRO/expected.json"; }

echo "== real documents at their own timestamps"
run doc1 attest verify "$DOC1" --root "$ROOT" --at 2025-01-06T16:07:05.472Z
expect_ok doc1
grep -q "^module_id:  $(expected '.documents[0].module_id')\$" log/doc1.out ||
  fail "doc1 summary lacks the module id: $(cat log/doc1.out)"
grep -q 'tier production' log/doc1.out || fail "doc1 is not production"
[ ! -s log/doc1.err ] || fail "the AWS root printed a warning: $(cat log/doc1.err)"
ok "summary names module_id and tier; no warning for the AWS root"

for i in 0 1 2 3; do
  doc="$NITRO/$(expected ".documents[$i].file")"
  ts_ms="$(expected ".documents[$i].timestamp_ms")"
  allow=()
  [ "$(expected ".documents[$i].debug_mode_pcr012_zero")" = true ] && allow=(--allow-debug)
  run "json$i" attest verify "$doc" --root "$ROOT" --at "$((ts_ms / 1000))" --json "${allow[@]}"
  expect_ok "json$i"
  for key in module_id timestamp_ms digest; do
    [ "$(jq -r ".$key" "log/json$i.out")" = "$(expected ".documents[$i].$key")" ] ||
      fail "json$i: $key differs"
  done
  [ "$(jq -S .pcrs "log/json$i.out")" = "$(expected ".documents[$i].pcrs" | jq -S .)" ] ||
    fail "json$i: pcrs differ from expected.json"
  for field in public_key user_data nonce; do
    want=true
    [ "$(expected ".documents[$i].${field}_hex")" = null ] && want=false
    [ "$(jq -r ".$field" "log/json$i.out")" = "$want" ] || fail "json$i: $field presence"
  done
  [ "$(jq -r .debug "log/json$i.out")" = "$(expected ".documents[$i].debug_mode_pcr012_zero")" ] ||
    fail "json$i: debug"
  ok "json$i: module_id, timestamp_ms, digest, every PCR, presence and debug as expected.json"
done

echo "== today's date"
run now attest verify "$DOC1" --root "$ROOT"
expect_fail now 1 "certificate chain: certificate has expired"
run later attest verify "$DOC1" --root "$ROOT" --at 2025-01-06T20:07:06Z
expect_fail later 1 "certificate has expired (leaf)"

echo "== policy"
pcr0="$(expected '.documents[0].pcrs["0"]')"
run pcr-ok attest verify "$DOC1" --root "$ROOT" --at 1736179625 --expect-pcr "0=$pcr0" \
  --expect-pcr "4=$(expected '.documents[0].pcrs["4"]')"
expect_ok pcr-ok
run pcr-bad attest verify "$DOC1" --root "$ROOT" --at 1736179625 --expect-pcr "0=${pcr0%??}00"
expect_fail pcr-bad 1 "pcrs: PCR0 does not match"
run pcr-missing attest verify "$DOC1" --root "$ROOT" --at 1736179625 --expect-pcr "16=$pcr0"
expect_fail pcr-missing 1 "pcrs: PCR16 is not in the document"
nonce="$(expected '.documents[1].nonce_hex')"
run nonce-ok attest verify "$DOC2" --root "$ROOT" --at 1665651482 --nonce "$nonce"
expect_ok nonce-ok
run nonce-bad attest verify "$DOC2" --root "$ROOT" --at 1665651482 --nonce 00112233
expect_fail nonce-bad 1 "nonce: the nonce does not match"
run nonce-absent attest verify "$DOC1" --root "$ROOT" --at 1736179625 --nonce 00112233
expect_fail nonce-absent 1 "nonce: the document has no nonce"
run debug attest verify "$DOC3" --root "$ROOT" --at 1665582606
expect_fail debug 1 "debug: the enclave runs in debug mode"
run debug-ok attest verify "$DOC3" --root "$ROOT" --at 1665582606 --allow-debug
expect_ok debug-ok
grep -q '^debug:      YES' log/debug-ok.out || fail "debug-ok does not say debug"
ok "debug mode is shown"
run doc4 attest verify "$DOC4" --root "$ROOT" --at 2025-11-10T17:23:00Z \
  --expect-pcr "16=$(expected '.documents[3].pcrs["16"]')"
expect_ok doc4

echo "== tampering and stdin"
cp "$DOC1" tampered.cbor
printf '\x00' | dd of=tampered.cbor bs=1 seek=30 conv=notrunc status=none
run tampered attest verify tampered.cbor --root "$ROOT" --at 1736179625
expect_fail tampered 1 "signature: COSE_Sign1 signature does not verify"
head -c 1000 "$DOC1" >truncated.cbor
run truncated attest verify truncated.cbor --root "$ROOT" --at 1736179625
expect_fail truncated 1 "truncated"
set +e
"$VEIL" attest verify - --root "$ROOT" --at 1736179625 --json <"$DOC1" >log/stdin.out 2>log/stdin.err
rc=$?
set -e
expect_ok stdin
[ "$(jq -r .module_id log/stdin.out)" = "$(expected '.documents[0].module_id')" ] ||
  fail "stdin: module_id"

echo "== usage errors exit 2"
run bad-at attest verify "$DOC1" --root "$ROOT" --at yesterday
expect_fail bad-at 2 "--at 'yesterday'"
run bad-pcr attest verify "$DOC1" --root "$ROOT" --expect-pcr 32=00
expect_fail bad-pcr 2 "N in 0..31"
run bad-pcr-hex attest verify "$DOC1" --root "$ROOT" --expect-pcr 0=xyz
expect_fail bad-pcr-hex 2 "not hex"
run bad-nonce attest verify "$DOC1" --root "$ROOT" --nonce 0
expect_fail bad-nonce 2 "--nonce '0' is not hex"
run no-root attest verify "$DOC1"
expect_fail no-root 2 "--root is required"
run bad-root attest verify "$DOC1" --root "$DOC1"
expect_fail bad-root 2 "not a PEM or DER certificate"
run no-doc attest verify missing.cbor --root "$ROOT"
expect_fail no-doc 1 "cannot open document 'missing.cbor'"

echo "== a simulator CA is not AWS Nitro"
run ca attest simulate-ca --out ca
expect_ok ca
run foreign attest verify "$DOC1" --root ca/root.pem --at 1736179625
expect_fail foreign 1 "root: cabundle[0] (sha256 641a0321"
grep -qF 'simulated attestation root: not AWS Nitro' log/foreign.err ||
  fail "no simulated-root warning: $(cat log/foreign.err)"
ok "the simulated root is announced on stderr"
cp "$VEIL" enclave
run sim attest simulate --ca ca --measure enclave --nonce 0badc0de --out sim.cbor
expect_ok sim
run sim-verify attest verify sim.cbor --root ca/root.pem --nonce 0badc0de --json
expect_ok sim-verify
grep -qF 'simulated attestation root: not AWS Nitro' log/sim-verify.err ||
  fail "no simulated-root warning: $(cat log/sim-verify.err)"
[ "$(jq -r .tier log/sim-verify.out)" = simulated ] || fail "sim-verify: tier"
[ "$(jq -r .nonce log/sim-verify.out)" = true ] || fail "sim-verify: nonce"
ok "a simulated document verifies under its own root, loudly"
run sim-aws attest verify sim.cbor --root "$ROOT"
expect_fail sim-aws 1 "root: cabundle[0]"

echo "PASS: $checks checks"
