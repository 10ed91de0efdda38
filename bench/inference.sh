#!/usr/bin/env bash
# bench/inference.sh: runs bench/inference_benchmark and prints the detect
# path's overhead above a bare net.forward() (same model, image and run) and
# the throughput with 1 and 2 workers. It builds nothing (`make bench` does).
#
# Environment:
#   BENCH_QUICK=1       short runs (seconds) for smoke use
#   VEIL_BENCH_MODEL    ONNX or manifest (default ../shared/models/v5lite-e-320-decoded.onnx)
#   VEIL_BENCH_IMAGE    JPEG or PNG (default ../shared/testdata/images/dog.jpg)
#   BENCH_OUT_DIR       where the raw results are kept (default build/bench-results)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
BIN="${VEIL_INFERENCE_BENCH_BIN:-build/default/bench/inference_benchmark}"
OUT_DIR="${BENCH_OUT_DIR:-build/bench-results}"
OUT="${OUT_DIR}/inference.json"
if [[ ! -x "${BIN}" ]]; then
  echo "bench/inference.sh: ${BIN} not found; build it first (make bench)" >&2
  exit 1
fi
mkdir -p "${OUT_DIR}"
args=(--benchmark_format=json)
[[ "${BENCH_QUICK:-0}" == 1 ]] && args+=(--benchmark_min_time=0.2)
echo "bench/inference.sh: running ${BIN}" >&2
"${BIN}" "${args[@]}" >"${OUT}"

python3 - "${OUT}" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rows = {}
for b in report["benchmarks"]:
    if b.get("error_occurred"):
        print(f'{b["name"]}: {b.get("error_message")}')
        continue
    rows[b["name"].split("/min_time")[0]] = b
def ms(name):
    return rows[name]["real_time"] if name in rows else float("nan")
bare = ms("BM_BareForward")
print(f"Inference, {report['context'].get('num_cpus')} CPUs; times are means per image")
print(f"  bare net.forward() on a prepared blob   {bare:8.2f} ms")
for arg, label in (("0", "full JPEG decode (default)"), ("1", "JPEG DCT scaling")):
    name = f"BM_DetectFull/{arg}"
    if name not in rows:
        continue
    r = rows[name]
    t = r["real_time"]
    print(f"  Detect, {label:28s} {t:8.2f} ms  overhead {100 * (t - bare) / bare:5.1f} %"
          f"  (decode {r['decode_ms']:.2f}, pre {r['preprocess_ms']:.2f},"
          f" forward {r['forward_ms']:.2f}, post {r['postprocess_ms']:.2f} ms;"
          f" all but decode: {100 * (t - r['decode_ms'] - bare) / bare:4.1f} %)")
if "BM_Interleaved" in rows:
    r = rows["BM_Interleaved"]
    print(f"  interleaved (same loop): forward {r['bare_forward_ms']:.2f} ms, Detect {r['detect_ms']:.2f} ms"
          f" -> overhead {r['overhead_pct']:.1f} % (JPEG decode {r['decode_ms']:.2f} ms;"
          f" without it {r['overhead_without_decode_pct']:.1f} %)")
for workers in ("1", "2"):
    name = f"BM_Throughput/{workers}"
    if name in rows:
        print(f"  throughput, {workers} worker(s)                {rows[name]['images_per_s']:8.1f} images/s")
PY
