#!/usr/bin/env bash
# End-to-end test of the real `veil` binary (STYLE.md C15):
#   bash veil_cli_test.sh PATH/TO/veil
# Runs in a fresh temporary directory. Checks key generation, encrypt/decrypt
# round trips (raw AES, raw RSA, two wrapping keys, stdin/stdout), that every
# failure exits non-zero with one line on stderr and leaves no output file,
# and that plaintext never reaches stderr. With the shared test data beside
# the checkout ($VEIL_SHARED_DIR, else <repo>/../shared) it also decrypts an
# upstream ESDK-.NET 4.0.1 vector.
set -euo pipefail
CLI_TEST_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cli_test_lib.sh"

VEIL="${1:?usage: veil_cli_test.sh PATH/TO/veil}"
VEIL="$(cd "$(dirname "$VEIL")" && pwd)/$(basename "$VEIL")"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir log
# shellcheck source=cli_test_lib.sh
source "$CLI_TEST_LIB"

no_temp_files() {
  if ls -A . | grep -q 'veil-tmp'; then
    fail "$1: temporary file left behind: $(ls -A . | grep veil-tmp)"
  fi
}

# expect_ok NAME: exit 0, nothing on stderr.
expect_ok() {
  [ "$rc" -eq 0 ] || fail "$1: exit $rc: $(cat "log/$1.err")"
  [ ! -s "log/$1.err" ] || fail "$1: unexpected stderr: $(cat "log/$1.err")"
  no_temp_files "$1"
  ok "$1"
}

# expect_fail NAME CODE OUTPUT [MESSAGE]: exit CODE, exactly one stderr line
# starting "veil: " (containing MESSAGE if given), OUTPUT absent or empty
# (for stdout), no temporary file.
expect_fail() {
  local name="$1" code="$2" output="$3" message="${4:-}"
  [ "$rc" -eq "$code" ] || fail "$name: exit $rc, want $code: $(cat "log/$name.err")"
  [ "$(wc -l <"log/$name.err")" -eq 1 ] || fail "$name: want one stderr line, got: $(cat "log/$name.err")"
  grep -q '^veil: ' "log/$name.err" || fail "$name: stderr lacks 'veil: ': $(cat "log/$name.err")"
  if [ -n "$message" ]; then
    grep -qF -- "$message" "log/$name.err" || fail "$name: stderr lacks '$message': $(cat "log/$name.err")"
  fi
  if [ "$output" = "-" ]; then
    [ ! -s "log/$name.out" ] || fail "$name: wrote $(stat -c %s "log/$name.out") bytes to stdout"
  else
    [ ! -e "$output" ] || fail "$name: left output $output behind"
  fi
  no_temp_files "$name"
  ok "$name ($(cat "log/$name.err"))"
}

same() {
  cmp -s "$1" "$2" || fail "$3: $2 differs from $1"
  ok "$3: output equals the original"
}

flip_byte() { # flip_byte FILE OFFSET: xor one byte with 0x01, in place
  local v
  v=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf '%03o' $((v ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Plaintext with a recognisable marker, to prove it never reaches stderr.
marker="VEIL-PLAINTEXT-MARKER-$$-$RANDOM"
{
  for _ in $(seq 1 200); do echo "$marker"; done
  head -c 300000 /dev/urandom
  echo "$marker"
} >plain.bin
aes_spec="raw-aes:veil-test:aes-1:aes.key"
rsa_enc="raw-rsa:veil-test:rsa-1:rsa.pub.pem:oaep-sha256"
rsa_dec="raw-rsa:veil-test:rsa-1:rsa.pem:oaep-sha256"

echo "== help"
run help --help
expect_ok help
grep -q 'encrypt' log/help.out && grep -q 'decrypt' log/help.out && grep -q 'keygen' log/help.out ||
  fail "veil --help does not list the subcommands"
for c in encrypt decrypt keygen; do
  run "help-$c" "$c" --help
  expect_ok "help-$c"
  grep -q -- '--' "log/help-$c.out" || fail "veil $c --help shows no flags"
done
run no-command
expect_fail no-command 2 none
run bad-flag encrypt --input plain.bin --output x.veil --wrapping-key "$aes_spec" --bogus
expect_fail bad-flag 2 x.veil "veil encrypt --help"

echo "== keygen"
run keygen-aes keygen --aes 256 --out aes.key
expect_ok keygen-aes
[ "$(stat -c %s aes.key)" -eq 32 ] || fail "aes.key is not 32 bytes"
[ "$(stat -c %a aes.key)" = 600 ] || fail "aes.key mode is $(stat -c %a aes.key)"
cp aes.key aes.key.orig
run keygen-again keygen --aes 256 --out aes.key
[ "$rc" -ne 0 ] || fail "keygen overwrote aes.key"
cmp -s aes.key aes.key.orig || fail "keygen changed an existing key file"
ok "keygen refuses to overwrite ($(cat log/keygen-again.err))"
run keygen-rsa keygen --rsa 3072 --out rsa
expect_ok keygen-rsa
[ "$(stat -c %a rsa.pem)" = 600 ] || fail "rsa.pem mode is $(stat -c %a rsa.pem)"
grep -q 'BEGIN PRIVATE KEY' rsa.pem || fail "rsa.pem is not PKCS#8"
grep -q 'BEGIN PUBLIC KEY' rsa.pub.pem || fail "rsa.pub.pem is not SPKI"
run keygen-bad keygen --aes 100 --out other.key
expect_fail keygen-bad 2 other.key

echo "== raw AES round trip (default suite 0x0578)"
run enc-aes encrypt --input plain.bin --output aes.veil --wrapping-key "$aes_spec" \
  --encryption-context tenant=acme --encryption-context purpose=ml-inference
expect_ok enc-aes
[ ! -s log/enc-aes.out ] || fail "encrypt to a file wrote to stdout"
[ "$(stat -c %a aes.veil)" = 600 ] || fail "ciphertext mode is $(stat -c %a aes.veil)"
grep -qF "$marker" aes.veil && fail "plaintext visible in the ciphertext"
run dec-aes decrypt --input aes.veil --output aes.out --wrapping-key "$aes_spec" \
  --encryption-context tenant=acme --metadata-output meta.json
expect_ok dec-aes
[ ! -s log/dec-aes.out ] || fail "decrypt to a file wrote to stdout"
same plain.bin aes.out dec-aes
grep -q '"suite": "0x0578"' meta.json || fail "metadata lacks the suite: $(cat meta.json)"
grep -q '"tenant": "acme"' meta.json || fail "metadata lacks the context: $(cat meta.json)"
grep -q '"frame_length": 4096' meta.json || fail "metadata lacks the frame length"
grep -Eq '"message_id": "[0-9a-f]{64}"' meta.json || fail "metadata lacks the message id"
ok "metadata JSON"

echo "== 0x0478 with a small frame length"
run enc-0478 encrypt --input plain.bin --output 0478.veil --wrapping-key "$aes_spec" \
  --algorithm-suite 0x0478 --frame-length 1000
expect_ok enc-0478
run dec-0478 decrypt --input 0478.veil --output 0478.out --wrapping-key "$aes_spec" \
  --metadata-output -
expect_ok dec-0478
same plain.bin 0478.out dec-0478
grep -q '"suite": "0x0478"' log/dec-0478.out || fail "metadata on stdout lacks the suite"
grep -q '"frame_length": 1000' log/dec-0478.out || fail "metadata on stdout lacks the frame length"

echo "== raw RSA (OAEP-SHA256) round trip"
run enc-rsa encrypt --input plain.bin --output rsa.veil --wrapping-key "$rsa_enc"
expect_ok enc-rsa
run dec-rsa decrypt --input rsa.veil --output rsa.out --wrapping-key "$rsa_dec"
expect_ok dec-rsa
same plain.bin rsa.out dec-rsa
run dec-rsa-pub decrypt --input rsa.veil --output rsa-pub.out --wrapping-key "$rsa_enc"
expect_fail dec-rsa-pub 1 rsa-pub.out

echo "== two wrapping keys: either one decrypts"
run enc-two encrypt --input plain.bin --output two.veil --wrapping-key "$aes_spec" \
  --wrapping-key "$rsa_enc" --encryption-context tenant=acme
expect_ok enc-two
run dec-two-aes decrypt --input two.veil --output two-aes.out --wrapping-key "$aes_spec"
expect_ok dec-two-aes
same plain.bin two-aes.out dec-two-aes
run dec-two-rsa decrypt --input two.veil --output two-rsa.out --wrapping-key "$rsa_dec"
expect_ok dec-two-rsa
same plain.bin two-rsa.out dec-two-rsa
run dec-two-max decrypt --input two.veil --output two-max.out --wrapping-key "$aes_spec" \
  --max-encrypted-data-keys 1
expect_fail dec-two-max 1 two-max.out

echo "== stdin and stdout"
run_stdin enc-stdio plain.bin encrypt --input - --output - --wrapping-key "$aes_spec"
expect_ok enc-stdio
cp log/enc-stdio.out stdio.veil
run_stdin dec-stdio stdio.veil decrypt --input - --output - --wrapping-key "$aes_spec"
expect_ok dec-stdio
same plain.bin log/dec-stdio.out dec-stdio
set +e
"$VEIL" encrypt --input - --output - --wrapping-key "$aes_spec" <plain.bin 2>log/pipe.err |
  "$VEIL" decrypt --input - --output pipe.out --wrapping-key "$aes_spec" 2>>log/pipe.err
pipe_rc=$?
set -e
[ "$pipe_rc" -eq 0 ] || fail "pipe: exit $pipe_rc: $(cat log/pipe.err)"
same plain.bin pipe.out pipe

echo "== tampering and truncation: non-zero exit, one line, no output"
size=$(stat -c %s aes.veil)
cp aes.veil tampered.veil
flip_byte tampered.veil $((size / 2))
run dec-tampered decrypt --input tampered.veil --output tampered.out --wrapping-key "$aes_spec"
expect_fail dec-tampered 1 tampered.out "message authentication failed"
cp 0478.veil tampered-last.veil
flip_byte tampered-last.veil $(($(stat -c %s 0478.veil) - 3))
run dec-tampered-last decrypt --input tampered-last.veil --output tampered-last.out \
  --wrapping-key "$aes_spec"
expect_fail dec-tampered-last 1 tampered-last.out "message authentication failed"
[ "$(cat log/dec-tampered.err)" = "$(cat log/dec-tampered-last.err)" ] ||
  fail "authentication failures give different messages"
run_stdin dec-tampered-stdout tampered.veil decrypt --input - --output - --wrapping-key "$aes_spec"
expect_fail dec-tampered-stdout 1 - "message authentication failed"
echo old >existing.out
run dec-tampered-existing decrypt --input tampered.veil --output existing.out \
  --wrapping-key "$aes_spec"
[ "$rc" -eq 1 ] && [ "$(cat existing.out)" = old ] || fail "a failed decrypt touched existing.out"
no_temp_files dec-tampered-existing
ok "a failed decrypt leaves an existing output untouched"
head -c $((size - 1)) aes.veil >truncated.veil
run dec-truncated decrypt --input truncated.veil --output truncated.out --wrapping-key "$aes_spec"
expect_fail dec-truncated 1 truncated.out
head -c $((size / 3)) aes.veil >truncated3.veil
run_stdin dec-truncated-stdout truncated3.veil decrypt --input - --output - \
  --wrapping-key "$aes_spec"
expect_fail dec-truncated-stdout 1 -

echo "== encryption context"
run dec-wrong-ec decrypt --input aes.veil --output wrong-ec.out --wrapping-key "$aes_spec" \
  --encryption-context tenant=evil
expect_fail dec-wrong-ec 1 wrong-ec.out
run enc-required encrypt --input plain.bin --output required.veil --wrapping-key "$aes_spec" \
  --encryption-context tenant=acme --encryption-context request=r-42 \
  --required-encryption-context-key request
expect_ok enc-required
run dec-required-missing decrypt --input required.veil --output required.out \
  --wrapping-key "$aes_spec" --encryption-context tenant=acme
expect_fail dec-required-missing 1 required.out
run dec-required-wrong decrypt --input required.veil --output required.out \
  --wrapping-key "$aes_spec" --encryption-context request=r-43
expect_fail dec-required-wrong 1 required.out
run dec-required decrypt --input required.veil --output required.out \
  --wrapping-key "$aes_spec" --encryption-context request=r-42
expect_ok dec-required
same plain.bin required.out dec-required

echo "== refused flags"
run enc-0378 encrypt --input plain.bin --output 0378.veil --wrapping-key "$aes_spec" \
  --algorithm-suite 0x0378
expect_fail enc-0378 2 0378.veil "0x0378"
run enc-forbid encrypt --input plain.bin --output forbid.veil --wrapping-key "$aes_spec" \
  --commitment-policy forbid-encrypt-allow-decrypt
expect_fail enc-forbid 2 forbid.veil
run enc-same encrypt --input plain.bin --output plain.bin --wrapping-key "$aes_spec"
expect_fail enc-same 2 none
same plain.bin aes.out enc-same-unchanged
# kms: with no AWS configuration at all fails before any request is made.
AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
  AWS_ACCESS_KEY_ID= AWS_SECRET_ACCESS_KEY= AWS_PROFILE= \
  run enc-kms encrypt --input plain.bin --output kms.veil \
  --wrapping-key kms:arn:aws:kms:us-west-2:111122223333:key/example
expect_fail enc-kms 1 kms.veil "no AWS credentials found"
run dec-kms-alias decrypt --input aes.veil --output kms-alias.out --wrapping-key kms:alias/acme
expect_fail dec-kms-alias 2 kms-alias.out "decrypting needs the key ARN"
run enc-bad-spec encrypt --input plain.bin --output spec.veil --wrapping-key raw-aes:only-two
expect_fail enc-bad-spec 2 spec.veil
run enc-bad-ec encrypt --input plain.bin --output ec.veil --wrapping-key "$aes_spec" \
  --encryption-context novalue
expect_fail enc-bad-ec 2 ec.veil
run enc-missing-key encrypt --input plain.bin --output mk.veil \
  --wrapping-key raw-aes:veil-test:aes-1:absent.key
expect_fail enc-missing-key 1 mk.veil
run dec-refuse-signed decrypt --input aes.veil --output signed.out --wrapping-key "$aes_spec" \
  --refuse-signed
expect_fail dec-refuse-signed 1 signed.out

echo "== nothing secret on stderr"
if grep -rqF "$marker" log/*.err; then
  fail "plaintext appeared on stderr: $(grep -rlF "$marker" log/*.err)"
fi
ok "plaintext never appears on stderr"

echo "== upstream vector (ESDK-.NET 4.0.1, raw AES)"
shared="${VEIL_SHARED_DIR:-$SCRIPT_DIR/../../../../shared}"
vectors="$shared/testdata/esdk-vectors/net-4.0.1"
if [ ! -f "$vectors/manifest.json" ]; then
  echo "SKIP: upstream vectors not found at $vectors (set VEIL_SHARED_DIR or place ../shared" \
    "beside the checkout); they are never copied into the repository"
elif ! command -v jq >/dev/null; then
  echo "SKIP: jq is needed to read the vector manifest"
else
  # The signed, committing suite with a raw AES key and a stored context.
  id=$(jq -r '.tests | to_entries[]
        | select(.key | startswith("0578-ec_len_2-cmm_Default"))
        | select((.value["master-keys"] | length) == 1
                 and .value["master-keys"][0]["encryption-algorithm"] == "aes")
        | .key' "$vectors/manifest.json" | head -n 1)
  [ -n "$id" ] || fail "no raw AES 0x0578 vector in $vectors/manifest.json"
  t=$(jq -c --arg id "$id" '.tests[$id]' "$vectors/manifest.json")
  key_label=$(jq -r '.["master-keys"][0].key' <<<"$t")
  provider=$(jq -r '.["master-keys"][0]["provider-id"]' <<<"$t")
  key_id=$(jq -r --arg k "$key_label" '.keys[$k]["key-id"]' "$vectors/keys.json")
  jq -r --arg k "$key_label" '.keys[$k].material' "$vectors/keys.json" | base64 -d >vector.key
  ciphertext="$vectors/$(jq -r '.ciphertext' <<<"$t" | sed 's|^file://||')"
  plaintext="$vectors/$(jq -r '.result.output.plaintext' <<<"$t" | sed 's|^file://||')"
  ec_args=()
  while IFS= read -r pair; do
    [ -n "$pair" ] && ec_args+=(--encryption-context "$pair")
  done < <(jq -r '.["encryption-context"] | to_entries[] | "\(.key)=\(.value)"' <<<"$t")
  run vector decrypt --input "$ciphertext" --output vector.out \
    --wrapping-key "raw-aes:$provider:$key_id:vector.key" "${ec_args[@]}"
  expect_ok "vector"
  same "$plaintext" vector.out "vector $id"
fi

echo "veil_cli_test: all $checks checks passed"
