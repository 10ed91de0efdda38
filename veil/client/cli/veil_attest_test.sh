#!/usr/bin/env bash
# End-to-end test of the simulated-attestation commands of the real `veil`
# binary, and of veil-nsm-sim's start-up (STYLE.md C15):
#   bash veil_attest_test.sh PATH/TO/veil PATH/TO/veil-nsm-sim
# simulate-ca -> simulate -> veil measure gives exactly the PCRs inside the
# document -> veil attest verify accepts it with the simulator root (and
# those PCRs and nonce) and refuses it with the AWS root, a wrong nonce or
# PCR0, and in debug mode without --allow-debug.
set -euo pipefail
CLI_TEST_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cli_test_lib.sh"

VEIL="${1:?usage: veil_attest_test.sh PATH/TO/veil PATH/TO/veil-nsm-sim}"
SIM="${2:?usage: veil_attest_test.sh PATH/TO/veil PATH/TO/veil-nsm-sim}"
VEIL="$(cd "$(dirname "$VEIL")" && pwd)/$(basename "$VEIL")"
SIM="$(cd "$(dirname "$SIM")" && pwd)/$(basename "$SIM")"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

work="$(mktemp -d)"
sim_pid=""
cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
mkdir log
# shellcheck source=cli_test_lib.sh
source "$CLI_TEST_LIB"

expect_ok() {
  [ "$rc" -eq 0 ] || fail "$1: exit $rc: $(cat "log/$1.err")"
  ok "$1"
}
expect_fail() { # expect_fail NAME CODE [MESSAGE]
  [ "$rc" -eq "$2" ] || fail "$1: exit $rc, want $2: $(cat "log/$1.err")"
  grep -q '^veil: ' "log/$1.err" || fail "$1: stderr lacks 'veil: ': $(cat "log/$1.err")"
  if [ -n "${3:-}" ]; then
    grep -qF -- "$3" "log/$1.err" || fail "$1: stderr lacks '$3': $(cat "log/$1.err")"
  fi
  ok "$1 ($(cat "log/$1.err"))"
}
hex_of() { od -An -tx1 -v "$1" | tr -d ' \n'; }
# pcr_of NAME: the PCR's hex from `veil measure` JSON in log/NAME.out
pcr_of() { sed -n "s/.*\"$2\": \"\([0-9a-f]*\)\".*/\1/p" "log/$1.out"; }
zeros="$(printf '0%.0s' $(seq 1 96))"
# doc_has_pcr DOC INDEX HEX: the document's pcrs map holds INDEX -> HEX
# (uint key, then bstr(48) = 58 30, then the value).
doc_has_pcr() {
  hex_of "$1" | grep -q "$(printf '%02x' "$2")5830$3" ||
    fail "$1 does not carry PCR$2 = $3"
}

# An "enclave image": the enclave binary (any executable will do), a model
# file larger than one read chunk, and a configuration.
cp "$VEIL" enclave
head -c 300000 /dev/urandom >model.bin
echo '{"tenant":"acme","model":"yolov5s"}' >enclave.json

echo "== simulate-ca"
run ca attest simulate-ca --out ca
expect_ok ca
[ -s ca/root.pem ] || fail "ca/root.pem missing"
grep -q 'BEGIN CERTIFICATE' ca/root.pem || fail "ca/root.pem is not PEM"
for k in root regional zonal instance; do
  [ "$(stat -c %a "ca/$k.key")" = 600 ] || fail "ca/$k.key mode is $(stat -c %a "ca/$k.key")"
done
ok "private keys are mode 0600"
instance_id="$(sed -n 's/^instance: //p' log/ca.out)"
[[ "$instance_id" =~ ^i-[0-9a-f]{17}$ ]] || fail "bad instance id '$instance_id'"
cp ca/root.pem root.orig
run ca-again attest simulate-ca --out ca
expect_fail ca-again 1 "exists"
cmp -s ca/root.pem root.orig || fail "simulate-ca replaced an existing CA"

echo "== simulate"
printf 'session-binding' >user.bin
run doc attest simulate --ca ca --measure enclave --measure model.bin --measure enclave.json \
  --nonce 00112233445566778899 --user-data user.bin --out doc.cbor
expect_ok doc
grep -q 'SIMULATED' log/doc.out || fail "simulate does not say SIMULATED"
doc_hex="$(hex_of doc.cbor)"
[ "${doc_hex:0:14}" = "8444a1013822a0" ] || fail "envelope starts ${doc_hex:0:14}"
# payload bstr head (59 LL LL), then a9 69 "module_id"
[ "${doc_hex:20:22}" = "a9696d6f64756c655f6964" ] || fail "payload starts ${doc_hex:20:22}"
ok "envelope 84 44 a1 01 38 22 a0, payload a9 69 \"module_id\""
echo "$doc_hex" | grep -q "656e6f6e63654a00112233445566778899" || fail "nonce not in the document"
echo "$doc_hex" | grep -q "69757365725f646174614f$(hex_of user.bin)" || fail "user_data not bound"
echo "$doc_hex" | grep -q "6a7075626c69635f6b6579f6" || fail "absent public_key is not null"
ok "nonce and user_data come back exactly; absent public_key is null"

echo "== measure equals the PCRs in the document"
run measure measure enclave model.bin enclave.json --instance-id "$instance_id"
expect_ok measure
grep -q '"HashAlgorithm": "Sha384 { ... }"' log/measure.out || fail "no HashAlgorithm line"
for i in 0 1 2 4 8; do
  v="$(pcr_of measure "PCR$i")"
  [ "${#v}" -eq 96 ] || fail "measure printed no PCR$i"
  doc_has_pcr doc.cbor "$i" "$v"
done
[ "$(pcr_of measure PCR8)" = "$zeros" ] || fail "PCR8 of an unsigned image is not zero"
ok "PCR0, 1, 2, 4 and 8 of veil measure are the document's"
for i in 0 1 2 4 8; do
  grep -q "^PCR$i: $(pcr_of measure "PCR$i")\$" log/doc.out || fail "simulate printed another PCR$i"
done
ok "simulate prints the same PCRs"

echo "== verify (veil attest verify) agrees"
run attest-help attest --help
expect_ok attest-help
if grep -qE '^ +verify ' log/attest-help.out; then
  run verify attest verify doc.cbor --root ca/root.pem --nonce 00112233445566778899 \
    --expect-pcr "0=$(pcr_of measure PCR0)" --expect-pcr "2=$(pcr_of measure PCR2)" --json
  expect_ok verify
  grep -q 'simulated' log/verify.err || fail "verify does not announce the simulated root"
  for i in 0 1 2 4 8; do
    grep -qE "\"$i\": *\"$(pcr_of measure "PCR$i")\"" log/verify.out ||
      fail "verify reports another PCR$i than veil measure"
  done
  ok "verified with the simulator root; its PCRs are veil measure's"
  run verify-nonce attest verify doc.cbor --root ca/root.pem --nonce 00
  expect_fail verify-nonce 1
  run verify-image attest verify doc.cbor --root ca/root.pem --expect-pcr "0=$zeros"
  expect_fail verify-image 1
  shared="${VEIL_SHARED_DIR:-$SCRIPT_DIR/../../../../shared}"
  aws_root="$shared/testdata/nitro/aws-nitro-enclaves-root-g1.pem"
  if [ -f "$aws_root" ]; then
    run verify-aws attest verify doc.cbor --root "$aws_root"
    expect_fail verify-aws 1
  else
    echo "note: no AWS root in $shared; skipping the production-root check"
  fi
  run debug-doc attest simulate --ca ca --measure enclave --debug --out debug-verify.cbor
  expect_ok debug-doc
  run verify-debug attest verify debug-verify.cbor --root ca/root.pem
  expect_fail verify-debug 1
  run verify-debug-ok attest verify debug-verify.cbor --root ca/root.pem --allow-debug
  expect_ok verify-debug-ok
else
  echo "note: veil attest verify is not built; skipping the verify step"
fi

echo "== a changed model changes PCR0 and PCR2, not PCR1"
cp model.bin model2.bin
printf '\x01' | dd of=model2.bin bs=1 seek=1000 conv=notrunc status=none
run measure2 measure enclave model2.bin enclave.json
expect_ok measure2
[ "$(pcr_of measure PCR0)" != "$(pcr_of measure2 PCR0)" ] || fail "PCR0 unchanged"
[ "$(pcr_of measure PCR2)" != "$(pcr_of measure2 PCR2)" ] || fail "PCR2 unchanged"
[ "$(pcr_of measure PCR1)" = "$(pcr_of measure2 PCR1)" ] || fail "PCR1 changed"
ok "one model byte changes PCR0 and PCR2 only"

echo "== debug and role"
run debug attest simulate --ca ca --measure enclave --debug --out debug.cbor \
  --role-arn arn:aws:iam::123456789012:role/veil
expect_ok debug
doc_has_pcr debug.cbor 0 "$zeros"
run measure-role measure enclave --role-arn arn:aws:iam::123456789012:role/veil
expect_ok measure-role
doc_has_pcr debug.cbor 3 "$(pcr_of measure-role PCR3)"
ok "debug document has PCR0 zero and PCR3 measured"

echo "== public key"
# The MOCK root's public key (veil/attestation/mock_root.h), as a sample SPKI.
cat >pub.pem <<'EOF'
-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAER7smzsvG9kKlsMGrKO70eaEtLovrapHe
+4eJqOoe/c6LX7vADeeVLeZEHN5T935EiL05ZMJcjG95mPO3mswUDFk6c5ySVmIG
nSPb4pfZbVn/FhfnGZdRJ1aieGCy79GC
-----END PUBLIC KEY-----
EOF
run pk attest simulate --ca ca --measure enclave --public-key pub.pem --out pk.cbor
expect_ok pk
hex_of pk.cbor | grep -q "6a7075626c69635f6b657958783076301006072a8648ce3d020106052b81040022036200" ||
  fail "public_key is not the DER SubjectPublicKeyInfo"
ok "PEM public key embedded as DER"

echo "== usage errors"
run bad-nonce attest simulate --ca ca --measure enclave --nonce zz --out x.cbor
expect_fail bad-nonce 2 "--nonce"
head -c 513 /dev/zero >big.bin
run big-user attest simulate --ca ca --measure enclave --user-data big.bin --out x.cbor
expect_fail big-user 2 "512"
run no-ca attest simulate --ca nowhere --measure enclave --out x.cbor
expect_fail no-ca 1 "nowhere/root.pem"
run no-file measure enclave does-not-exist
expect_fail no-file 1 "does-not-exist"
[ ! -e x.cbor ] || fail "a failed simulate left x.cbor"

echo "== veil-nsm-sim starts loudly and stops cleanly"
sock="$work/nsm.sock"
"$SIM" --ca ca --socket "$sock" --measure enclave --measure model.bin >log/sim.out 2>log/sim.err &
sim_pid=$!
for _ in $(seq 1 100); do
  [ -S "$sock" ] && grep -q 'listening on' log/sim.err && break
  sleep 0.1
done
[ -S "$sock" ] || fail "veil-nsm-sim did not create $sock: $(cat log/sim.err)"
grep -q 'SIMULATED NITRO SECURE MODULE' log/sim.err || fail "no SIMULATED banner"
grep -q "root_sha256=" log/sim.err || fail "banner lacks the root fingerprint"
run measure-sim measure enclave model.bin
grep -q "PCR0=$(pcr_of measure-sim PCR0)" log/sim.err || fail "veil-nsm-sim reports another PCR0"
ok "veil-nsm-sim banner: SIMULATED, root fingerprint, PCR0 as veil measure"
kill -TERM "$sim_pid"
wait "$sim_pid" || fail "veil-nsm-sim exited $? on SIGTERM"
sim_pid=""
[ ! -e "$sock" ] || fail "veil-nsm-sim left its socket behind"
ok "veil-nsm-sim stops on SIGTERM and removes its socket"

echo "PASS: $checks checks"
