#!/usr/bin/env bash
# Runs `make dev-local`'s script against the built tree and checks what a
# reader sees: the mock is named, the photo's detections come back, and the
# whole tier runs in well under 30 seconds.
set -euo pipefail
ROOT="$1"
BIN="$2"
SHARED="${VEIL_SHARED_DIR:-$ROOT/../shared}"
if [[ ! -f "$SHARED/models/v5lite-e-320-decoded.onnx" && -z "${VEIL_MODEL:-}" ]]; then
  echo "SKIP: no model (../shared/models absent and VEIL_MODEL unset)"
  exit 77
fi
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
start=$(date +%s%N)
VEIL_BIN_DIR="$BIN" "$ROOT/scripts/dev-local" >"$out" 2>&1 || { cat "$out"; echo "FAIL: dev-local exited non-zero"; exit 1; }
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
cat "$out"
grep -q "MOCK: proves nothing" "$out" || { echo "FAIL: the mock attestation is not named"; exit 1; }
grep -q "keys=local nsm=mock" "$out" || { echo "FAIL: the enclave's tier is not shown"; exit 1; }
grep -Eq "^  dog +0\.[0-9]+" "$out" || { echo "FAIL: no dog detected in dog.jpg"; exit 1; }
echo "PASS: dev-local in ${elapsed_ms} ms"
(( elapsed_ms < 30000 )) || { echo "FAIL: dev-local took ${elapsed_ms} ms (> 30 s)"; exit 1; }
