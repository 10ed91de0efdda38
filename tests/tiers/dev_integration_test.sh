#!/usr/bin/env bash
# Runs `make dev-integration`'s script against the built tree and checks
# each step a reader must see: the attestation verified with the image's
# PCR0, the detections, and both refusals.
set -euo pipefail
ROOT="$1"
BIN="$2"
SHARED="${VEIL_SHARED_DIR:-$ROOT/../shared}"
[[ -f "$SHARED/models/v5lite-e-320-decoded.onnx" && -f "$SHARED/testdata/images/dog.jpg" ]] ||
  { echo "SKIP: ../shared models/images absent"; exit 77; }
bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/lib /lib \
  --symlink usr/lib64 /lib64 --proc /proc --dev /dev /usr/bin/true 2>/dev/null ||
  { echo "SKIP: bubblewrap cannot create namespaces here"; exit 77; }
python3 -c 'import boto3' 2>/dev/null || { echo "SKIP: python3 has no boto3"; exit 77; }
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
VEIL_BIN_DIR="$BIN" timeout 170 "$ROOT/scripts/dev-integration" >"$out" 2>&1 ||
  { cat "$out"; echo "FAIL: dev-integration exited non-zero"; exit 1; }
cat "$out"
check() { grep -Eq "$1" "$out" && echo "PASS: $2" || { echo "FAIL: $2"; exit 1; }; }
pcr0="$(grep -Eo 'PCR0 [0-9a-f]{96}' "$out" | head -n1 | cut -d' ' -f2)"
check "tier simulated, PCR0 $pcr0, nonce matched" "the client verified the enclave (simulated tier, image PCR0, own nonce)"
check "^  dog +0\.[0-9]+" "dog detected in dog.jpg, through the enclave"
check "refused: HTTP 403 .*permission_denied" "globex cannot get acme's ciphertext decrypted"
check "the client refuses to send: PCR0" "a client pinning PCR0 refuses a modified enclave"
check "KMS denies the key: .*HTTP 403 \(permission_denied\)" "a modified enclave is denied the key by KMS"
