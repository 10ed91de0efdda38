#!/usr/bin/env bash
# bench/run.sh: runs Veil's ESDK benchmark and the JavaScript ESDK baseline in
# one go and prints one comparison table. It builds nothing (`make bench`
# builds first).
#
# For each (op, suite, frame, size): Veil MB/s and µs per message, the
# ceiling (one AES-256-GCM pass over the same bytes with one OpenSSL
# context) in MB/s, Veil as % of the ceiling, JS MB/s and Veil/JS. Then the
# fixed per-message cost (a 0-byte message). MB is 10^6 bytes throughout.
#
# Environment:
#   BENCH_QUICK=1      short runs for CI smoke use (well under a minute)
#   VEIL_BENCH_BIN     the benchmark binary (default build/default/bench/esdk_benchmark)
#   BENCH_FILTER       passed to --benchmark_filter (Veil side only)
#   BENCH_OUT_DIR      where the raw results are kept (default build/bench-results)
#   BENCH_SKIP_JS=1    skip the JavaScript baseline
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

BIN="${VEIL_BENCH_BIN:-build/default/bench/esdk_benchmark}"
OUT_DIR="${BENCH_OUT_DIR:-build/bench-results}"
VEIL_JSON="${OUT_DIR}/veil.json"
JS_JSONL="${OUT_DIR}/js.jsonl"

if [[ ! -x "${BIN}" ]]; then
  echo "bench/run.sh: ${BIN} not found; build it first (make bench, or set VEIL_BENCH_BIN)" >&2
  exit 1
fi
mkdir -p "${OUT_DIR}"
: >"${JS_JSONL}"

veil_args=(--benchmark_format=json)
if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
  veil_args+=(--benchmark_min_time=0.05)
  export VEIL_BENCH_MIN_TIME="${VEIL_BENCH_MIN_TIME:-0.01}"
fi
if [[ -n "${BENCH_FILTER:-}" ]]; then
  veil_args+=("--benchmark_filter=${BENCH_FILTER}")
fi

echo "bench/run.sh: running ${BIN}" >&2
"${BIN}" "${veil_args[@]}" >"${VEIL_JSON}"

JS_NOTE=""
if [[ "${BENCH_SKIP_JS:-0}" == 1 ]]; then
  JS_NOTE="JS baseline skipped (BENCH_SKIP_JS=1)"
elif [[ ! -f bench/esdk_js_bench.mjs ]]; then
  JS_NOTE="JS baseline skipped: bench/esdk_js_bench.mjs is missing"
elif ! command -v node >/dev/null 2>&1; then
  JS_NOTE="JS baseline skipped: node is not installed (run scripts/bootstrap)"
elif [[ ! -d interop/node_modules/@aws-crypto/client-node ]]; then
  JS_NOTE="JS baseline skipped: interop/node_modules is missing (run scripts/bootstrap)"
else
  echo "bench/run.sh: running node bench/esdk_js_bench.mjs" >&2
  if ! node bench/esdk_js_bench.mjs >"${JS_JSONL}"; then
    JS_NOTE="JS baseline failed (see above); its partial results are shown"
  fi
fi
[[ -n "${JS_NOTE}" ]] && echo "bench/run.sh: ${JS_NOTE}" >&2

python3 - "${VEIL_JSON}" "${JS_JSONL}" "${JS_NOTE}" <<'PY'
import json
import sys

veil_path, js_path, js_note = sys.argv[1], sys.argv[2], sys.argv[3]
with open(veil_path) as f:
    report = json.load(f)

TO_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
esdk, ceiling, empty = {}, {}, {}
errors = []
for b in report.get("benchmarks", []):
    if b.get("run_type", "iteration") != "iteration":
        continue
    name = b["name"].split("/")[0]
    if b.get("error_occurred"):
        errors.append(f'{b["name"]}: {b.get("error_message", "error")}')
        continue
    size, suite, frame = int(b["size"]), int(b["suite"]), int(b["frame"])
    us = b["real_time"] * TO_US[b.get("time_unit", "ns")]
    mbps = b.get("bytes_per_second", 0.0) / 1e6
    if name == "BM_EsdkEncrypt":
        esdk[("encrypt", suite, frame, size)] = (mbps, us)
    elif name == "BM_EsdkDecrypt":
        esdk[("decrypt", suite, frame, size)] = (mbps, us)
    elif name == "BM_AesGcmSeal":
        ceiling[("encrypt", size)] = mbps
    elif name == "BM_AesGcmOpen":
        ceiling[("decrypt", size)] = mbps
    elif name == "BM_EsdkEncryptEmpty":
        empty[("encrypt", suite)] = us
    elif name == "BM_EsdkDecryptEmpty":
        empty[("decrypt", suite)] = us

js = {}
with open(js_path) as f:
    for line in f:
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        key = (r["op"], int(r["suite"], 16), int(r["frame"]), int(r["size"]))
        js[key] = (float(r["mb_per_s"]), float(r["us_per_op"]))


def size_name(n):
    for unit, div in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div and n % div == 0:
            return f"{n // div} {unit}"
    return f"{n} B"


def num(v, fmt):
    return "-" if v is None else format(v, fmt)


ctx = report.get("context", {})
load = ctx.get("load_avg") or []
print(f'Veil ESDK vs AES-GCM ceiling vs JS ESDK  ({ctx.get("num_cpus", "?")} CPUs @ '
      f'{ctx.get("mhz_per_cpu", "?")} MHz, load avg {", ".join(f"{x:.2f}" for x in load) or "?"}; '
      f'MB = 10^6 bytes; wall clock)')
if ctx.get("library_build_type") == "debug":
    print("note: the system libbenchmark reports a debug build; that affects only the harness")
header = ("op", "suite", "frame", "size", "Veil MB/s", "Veil µs/msg", "ceiling MB/s",
          "Veil/ceil", "JS MB/s", "Veil/JS")
rows = []
order = {"encrypt": 0, "decrypt": 1}
for key in sorted(esdk, key=lambda k: (order[k[0]], k[1], k[2], k[3])):
    op, suite, frame, size = key
    mbps, us = esdk[key]
    ceil = ceiling.get((op, size))
    js_mbps = js.get(key, (None, None))[0]
    rows.append((op, f"0x{suite:04x}", str(frame), size_name(size), num(mbps, ".1f"),
                 num(us, ".1f"), num(ceil, ".1f"),
                 "-" if not ceil else f"{100 * mbps / ceil:.1f}%",
                 num(js_mbps, ".1f"),
                 "-" if not js_mbps else f"{mbps / js_mbps:.1f}x"))
widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
          for i, h in enumerate(header)]
line = "  ".join(h.rjust(w) for h, w in zip(header, widths))
print(line)
print("-" * len(line))
prev = None
for r in rows:
    if prev is not None and r[:3] != prev[:3]:
        print()
    print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    prev = r

if empty:
    print()
    print("Fixed per-message cost (0-byte message, frame 4096):")
    for suite in sorted({s for _, s in empty}):
        enc, dec = empty.get(("encrypt", suite)), empty.get(("decrypt", suite))
        print(f"  0x{suite:04x}: encrypt {num(enc, '.1f')} µs, decrypt {num(dec, '.1f')} µs")
if js_note:
    print()
    print(js_note)
elif not js:
    print()
    print("JS baseline produced no results")
if errors:
    print()
    print("Benchmarks that failed:")
    for e in errors:
        print("  " + e)
    sys.exit(1)
PY
