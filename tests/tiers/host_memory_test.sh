#!/usr/bin/env bash
# The host never holds plaintext: after a batch of confidential requests
# whose images carry random canaries, a scan of veil-host's whole memory
# (/proc/<pid>/mem over every readable mapping) and of its log finds no
# canary, while the enclave's answers decrypt at the client. As a control,
# the same scan finds a canary the test plants in the host's memory on
# purpose (a request header), so a silent scanner cannot pass.
set -euo pipefail
ROOT="$1"
BIN="$2"
SHARED="${VEIL_SHARED_DIR:-$ROOT/../shared}"
if [[ ! -f "$SHARED/models/v5lite-e-320-decoded.onnx" && -z "${VEIL_MODEL:-}" ]]; then
  echo "SKIP: no model"; exit 77
fi
work="$(mktemp -d)"
env_file="$work/serve.env"
VEIL_BIN_DIR="$BIN" "$ROOT/scripts/dev-local" --serve "$env_file" >"$work/dev-local.log" 2>&1 &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do [[ -s "$env_file" ]] && break; sleep 0.1; done
[[ -s "$env_file" ]] || { cat "$work/dev-local.log"; echo "FAIL: dev-local did not start"; exit 1; }
# shellcheck disable=SC1090
source "$env_file"

canaries=()
for i in $(seq 1 8); do
  canary="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  canaries+=("$canary")
  # A real photo with the canary appended after the JPEG's end (still a
  # valid image) and, for half of them, a PNG text chunk the intake refuses.
  python3 - "$SHARED/testdata/images/dog.jpg" "$work/img$i" "$canary" "$i" <<'PY'
import sys, zlib, struct
src, dst, canary, i = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3]), int(sys.argv[4])
data = open(src, "rb").read()
if i % 2:
    data = data + canary * 4          # trailing bytes after EOI: decodable
else:
    data = b"\x89PNG\r\n\x1a\n" + canary * 8  # not a valid PNG: an encrypted error result
open(dst, "wb").write(data)
PY
  "$BIN/veil" infer "$work/img$i" --endpoint "$ENDPOINT" --api-key-file "$API_KEY_FILE" \
      --local-key "$LOCAL_KEY" --allow-mock-attestation --json >"$work/out$i" 2>"$work/err$i" || true
  grep -q '"detections"\|could not process' "$work/out$i" "$work/err$i" || {
    cat "$work/err$i"; echo "FAIL: request $i got no answer"; exit 1; }
done
# The control: a value the host certainly held (an HTTP header it parsed).
control="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
python3 - "$ENDPOINT" "$control" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/v1/infer", data=b"x", method="POST",
                             headers={"Authorization": "Bearer " + sys.argv[2],
                                      "Veil-Request-Id": "control"})
try:
    urllib.request.urlopen(req, timeout=5)
except Exception:
    pass
PY
python3 - "$HOST_PID" "$control" "${canaries[@]}" <<'PY'
import sys
pid, control, canaries = sys.argv[1], sys.argv[2], sys.argv[3:]
needles = {c: [bytes.fromhex(c), c.encode()] for c in canaries}
control_needles = [control.encode()]
found, control_found, scanned = [], False, 0
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        addr, perms = line.split()[:2]
        if not perms.startswith("r"):
            continue
        start, end = (int(x, 16) for x in addr.split("-"))
        if end - start > (1 << 32):
            continue  # sanitizer shadow reservations, not data
        try:
            mem.seek(start)
            chunk = mem.read(end - start)
        except (OSError, ValueError, OverflowError):
            continue
        scanned += len(chunk)
        for c, forms in needles.items():
            if any(f in chunk for f in forms):
                found.append(c)
        control_found = control_found or any(f in chunk for f in control_needles)
print(f"scanned {scanned} bytes of veil-host memory")
if not control_found:
    sys.exit("FAIL: the control value the host parsed was not found: the scan is blind")
if found:
    sys.exit(f"FAIL: canaries in host memory: {sorted(set(found))}")
print(f"PASS: none of {len(canaries)} canaries in host memory (control found)")
PY
for c in "${canaries[@]}"; do
  if grep -q "$c" "$HOST_LOG"; then echo "FAIL: canary in the host log"; exit 1; fi
done
echo "PASS: no canary in the host log"
