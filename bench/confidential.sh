#!/usr/bin/env bash
# bench/confidential.sh: what confidentiality costs. It builds nothing (`make
# bench` does) and prints one table:
#
#   - confidential inference through the integration tier (scripts/dev-
#     integration --serve: veil-kms over TLS, the sandboxed enclave with
#     simulated attestation, veil-host) at 1, 2 and 4 concurrent clients,
#     each doing what `veil infer` does (bench/confidential_bench.cc), against
#     plaintext Detector::Detect in process with the enclave's pool (1
#     network) on the same model and image: p50/p99 latency, throughput,
#     the p50 overhead, the throughput ratio, and the KMS calls per request
#     counted from veil-kms's audit log (client principal vs enclave role);
#   - the same confidential runs against scripts/dev-local --serve (local
#     keys, no KMS, mock TEE);
#   - the client with an ESDK CachingCmm around its keyring: the KMS calls per
#     request do not drop, because every request's encryption context
#     carries a fresh request id and expiry (no cached entry can match);
#   - the crypto floor (bench/confidential_floor_benchmark.cc) summed per
#     request, and the latency the confidential path adds at 1 client
#     divided by it.
#
# Environment:
#   BENCH_QUICK=1          short runs (a few seconds each) for smoke use
#   BENCH_SECONDS          seconds per measured run (default 20; quick 3)
#   VEIL_BENCH_BUILD_DIR   build tree (default build/default): bench/ and bin/
#   VEIL_BIN_DIR           the tier binaries (default $VEIL_BENCH_BUILD_DIR/bin)
#   VEIL_SHARED_DIR        shared test data (default ../shared)
#   VEIL_BENCH_IMAGE       JPEG or PNG (default $VEIL_SHARED_DIR/testdata/images/dog.jpg)
#   VEIL_MODEL             model for both tiers and the baseline (default the
#                          tiers' default, $VEIL_SHARED_DIR/models/v5lite-e-320-decoded.onnx)
#   BENCH_OUT_DIR          where the raw results are kept (default build/bench-results)
#   BENCH_SKIP_LOCAL=1     skip the dev-local runs
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
BUILD="${VEIL_BENCH_BUILD_DIR:-build/default}"
export VEIL_BIN_DIR="${VEIL_BIN_DIR:-$ROOT/$BUILD/bin}"
SHARED="${VEIL_SHARED_DIR:-$ROOT/../shared}"
export VEIL_SHARED_DIR="$SHARED"
IMAGE="${VEIL_BENCH_IMAGE:-$SHARED/testdata/images/dog.jpg}"
export VEIL_MODEL="${VEIL_MODEL:-$SHARED/models/v5lite-e-320-decoded.onnx}"
BENCH="$BUILD/bench/confidential_bench"
FLOOR="$BUILD/bench/confidential_floor_benchmark"
OUT="${BENCH_OUT_DIR:-build/bench-results}/confidential"
QUICK="${BENCH_QUICK:-0}"
if [[ "$QUICK" == 1 ]]; then SECONDS_PER_RUN="${BENCH_SECONDS:-3}"; else SECONDS_PER_RUN="${BENCH_SECONDS:-20}"; fi
CLIENTS=(1 2 4)

for b in "$BENCH" "$FLOOR"; do
  [[ -x "$b" ]] || { echo "bench/confidential.sh: $b not found; build it first (make bench)" >&2; exit 1; }
done
[[ -f "$IMAGE" ]] || { echo "bench/confidential.sh: no image at $IMAGE" >&2; exit 1; }
[[ -f "$VEIL_MODEL" ]] || { echo "bench/confidential.sh: no model at $VEIL_MODEL" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"

tier_pid=""
stop_tier() {
  if [[ -n "$tier_pid" ]]; then
    kill -TERM "$tier_pid" 2>/dev/null || true
    wait "$tier_pid" 2>/dev/null || true
    tier_pid=""
  fi
}
trap stop_tier EXIT

start_tier() {  # start_tier SCRIPT ENV_FILE LOG
  rm -f "$2"
  "$1" --serve "$2" >"$3" 2>&1 &
  tier_pid=$!
  local t=1200
  while ((t-- > 0)); do
    [[ -s "$2" ]] && grep -q '^RUN_DIR=' "$2" && return 0
    kill -0 "$tier_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench/confidential.sh: $1 --serve did not come up; its log:" >&2
  tail -n 30 "$3" >&2
  exit 1
}

audit_lines() { if [[ -f "$1" ]]; then wc -l <"$1"; else echo 0; fi; }

# kms_delta AUDIT FROM_LINE OUT_JSON: the KMS calls after line FROM_LINE, by
# principal (client = user/alice, enclave = the enclave role) and operation.
kms_delta() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
path, start, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
counts = {"client": 0, "enclave": 0, "other": 0, "ops": {}, "not_ok": 0}
with open(path) as f:
    for i, line in enumerate(f):
        if i < start or not line.strip():
            continue
        r = json.loads(line)
        p = r.get("principal", "")
        who = "client" if "user/alice" in p else "enclave" if "enclave" in p else "other"
        counts[who] += 1
        op = f'{who}:{r.get("operation", "?")}'
        counts["ops"][op] = counts["ops"].get(op, 0) + 1
        if r.get("outcome") != "ok":
            counts["not_ok"] += 1
json.dump(counts, open(out, "w"))
PY
}

# run_bench NAME ARGS...: one confidential_bench run, JSON to $OUT/NAME.json.
run_bench() {
  local name="$1"
  shift
  echo "bench/confidential.sh: $name" >&2
  "$@" >"$OUT/$name.json" 2>"$OUT/$name.err" || {
    echo "bench/confidential.sh: $name failed:" >&2
    cat "$OUT/$name.err" >&2
    exit 1
  }
}

echo "bench/confidential.sh: ${SECONDS_PER_RUN} s per run; clients ${CLIENTS[*]}" >&2

# 1. The plaintext baseline: Detector::Detect in process, 1 network.
for c in "${CLIENTS[@]}"; do
  run_bench "plaintext-$c" "$BENCH" --plaintext --model "$VEIL_MODEL" --image "$IMAGE" \
    --clients "$c" --seconds "$SECONDS_PER_RUN" --warmup 2
done

# 2. The integration tier.
start_tier scripts/dev-integration "$OUT/integration.env" "$OUT/integration.log"
(
  # shellcheck disable=SC1091
  . "$OUT/integration.env"
  client() {
    env $(cat "$ALICE_CREDENTIALS") AWS_REGION="$AWS_REGION" AWS_DEFAULT_REGION="$AWS_REGION" \
      AWS_ENDPOINT_URL_KMS="$AWS_ENDPOINT_URL_KMS" AWS_CA_BUNDLE="$AWS_CA_BUNDLE" \
      AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
      "$BENCH" --endpoint "$ENDPOINT" --api-key-file "$ACME_API_KEY_FILE" --key "$ACME_KEY" \
      --attestation-root "$ATTESTATION_ROOT" --expect-pcr "0=$PCR0" --image "$IMAGE" "$@"
  }
  # Warm-up: the enclave's first requests fetch credentials and warm OpenCV.
  run_bench integration-warmup client --clients 2 --requests 4
  measure() {  # measure NAME ARGS...
    local name="$1"
    shift
    local before
    before="$(audit_lines "$KMS_AUDIT_LOG")"
    run_bench "$name" client "$@"
    sleep 0.3
    kms_delta "$KMS_AUDIT_LOG" "$before" "$OUT/$name.kms.json"
  }
  for c in "${CLIENTS[@]}"; do
    measure "integration-$c" --clients "$c" --seconds "$SECONDS_PER_RUN"
  done
  measure integration-cache-1 --clients 1 --seconds "$SECONDS_PER_RUN" --cache
)
stop_tier

# 3. dev-local: local keys, no KMS, mock TEE.
if [[ "${BENCH_SKIP_LOCAL:-0}" != 1 ]]; then
  start_tier scripts/dev-local "$OUT/local.env" "$OUT/local.log"
  (
    # shellcheck disable=SC1091
    . "$OUT/local.env"
    client() {
      "$BENCH" --endpoint "$ENDPOINT" --api-key-file "$API_KEY_FILE" --local-key "$LOCAL_KEY" \
        --allow-mock-attestation --image "$IMAGE" "$@"
    }
    run_bench local-warmup client --clients 2 --requests 4
    for c in "${CLIENTS[@]}"; do
      run_bench "local-$c" client --clients "$c" --seconds "$SECONDS_PER_RUN"
    done
  )
  stop_tier
fi

# 4. The floor.
echo "bench/confidential.sh: confidential_floor_benchmark" >&2
floor_args=(--benchmark_format=json)
[[ "$QUICK" == 1 ]] && floor_args+=(--benchmark_min_time=0.2)
"$FLOOR" "${floor_args[@]}" >"$OUT/floor.json" 2>"$OUT/floor.err"

python3 - "$OUT" "$(nproc)" "$SECONDS_PER_RUN" "$(basename "$IMAGE")" "$(basename "$VEIL_MODEL")" \
  "${CLIENTS[@]}" <<'PY'
import json, os, sys
out, cpus, secs, image, model = sys.argv[1:6]
clients = sys.argv[6:]
def load(name):
    p = os.path.join(out, name + ".json")
    return json.load(open(p)) if os.path.exists(p) else None
nan = float("nan")
def p50(r): return r["latency_ms"]["p50"] if r else nan
def p99(r): return r["latency_ms"]["p99"] if r else nan
def thr(r): return r["throughput"] if r else nan
def total(r): return (r["requests"] + r["errors"] + r.get("warmup_requests", 0)) if r else 0

print(f"Confidential inference: {image}, model {model}; {cpus} CPUs shared with other work"
      f" (noisy); {secs} s per run; latency in ms, throughput in requests/s")
print("Confidential = what `veil infer` does per request (encrypt, POST, enclave, decrypt);"
      " attestation verified once per client, before its requests.")
print("Plaintext = Detector::Detect in process, 1 network (the enclave's pool).")
for tier, label in (("integration", "integration tier (veil-kms over TLS, sandboxed enclave, simulated attestation)"),
                    ("local", "dev-local (local AES key, no KMS, mock TEE, no sandbox)")):
    if load(f"{tier}-{clients[0]}") is None:
        continue
    print()
    print(label)
    hdr = (f"{'clients':>7} | {'conf p50':>8} {'p99':>7} {'req/s':>6} | {'plain p50':>9} {'p99':>7}"
           f" {'req/s':>6} | {'p50 overhead':>18} | {'thr ratio':>9} | {'errors':>6}")
    if tier == "integration":
        hdr += " | KMS calls/req (client + enclave)"
    print(hdr)
    for c in clients:
        conf, plain = load(f"{tier}-{c}"), load(f"plaintext-{c}")
        d = p50(conf) - p50(plain)
        row = (f"{c:>7} | {p50(conf):8.1f} {p99(conf):7.1f} {thr(conf):6.2f} | {p50(plain):9.1f}"
               f" {p99(plain):7.1f} {thr(plain):6.2f} | {d:7.1f} ms {100 * d / p50(plain):6.1f} %"
               f" | {thr(conf) / thr(plain):9.2f} | {conf['errors']:6d}")
        if tier == "integration":
            k = load(f"{tier}-{c}.kms")
            n = total(conf)
            row += (f" | {(k['client'] + k['enclave']) / n:.2f} = {k['client'] / n:.2f} + {k['enclave'] / n:.2f}"
                    if k and n else " | ?")
        print(row)
    r = load(f"{tier}-1")
    if r:
        s = r["stages_ms"]
        parts = ", ".join(f"{k} {v['p50']:.2f}" for k, v in s.items())
        kms = ("; client encrypt and decrypt each include one KMS call, http the enclave's two"
               if tier == "integration" else "")
        print(f"  stages at 1 client (p50 ms): {parts}; http includes the enclave's detect{kms}")

cache = load("integration-cache-1")
if cache:
    k, nk = load("integration-cache-1.kms"), total(cache)
    base, kb = load("integration-1"), load("integration-1.kms")
    nb = total(base)
    print()
    print("Data-key caching (ESDK CachingCmm around the client's KMS keyring, 1 client):")
    if k and kb and nk and nb:
        print(f"  KMS calls/request without cache {(kb['client'] + kb['enclave']) / nb:.2f}"
              f" (client {kb['client'] / nb:.2f}), with cache {(k['client'] + k['enclave']) / nk:.2f}"
              f" (client {k['client'] / nk:.2f}); cache hits: encrypt {cache['cache_hits']['encrypt']},"
              f" decrypt {cache['cache_hits']['decrypt']} of {cache['requests'] + cache['errors']} requests")
        ops = ", ".join(f"{op} {n / nk:.2f}" for op, n in sorted(k["ops"].items()))
        print(f"  per request with cache: {ops}")
    print("  The calls do not drop: every request's encryption context carries a fresh request id"
          " and expiry, so no cached data key can match (reusing one would weaken replay"
          " protection). The protocol is unchanged; caching does not help this workload.")

floor = load("floor")
if floor:
    rows = {}
    for b in floor["benchmarks"]:
        if b.get("error_occurred"):
            print(f'{b["name"]}: {b.get("error_message")}')
            continue
        rows[b["name"].split("/min_time")[0].replace("/real_time", "")] = b["real_time"]
    g = lambda n: rows.get(n, nan)
    unwrap, req_dec, res_enc = g("BM_RecipientUnwrap"), g("BM_ImageDecrypt/1400"), g("BM_ResultEncrypt")
    req_enc, res_dec = g("BM_ImageEncrypt/1400"), g("BM_ResultDecrypt")
    enclave = 2 * unwrap + req_dec + res_enc
    client = req_enc + res_dec
    print()
    print("Crypto floor (confidential_floor_benchmark, ms, one thread):")
    print(f"  image encrypt  0x0478 {g('BM_ImageEncrypt/1144'):6.2f}   0x0578 {req_enc:6.2f}")
    print(f"  image decrypt  0x0478 {g('BM_ImageDecrypt/1144'):6.2f}   0x0578 {req_dec:6.2f}")
    print(f"  result JSON (~0.7 KB, 0x0478) encrypt {res_enc:.3f}, decrypt {res_dec:.3f}")
    print(f"  Recipient unwrap (CMS, RSA-OAEP-SHA256 2048) {unwrap:.3f}")
    print(f"  attestation verify: cached chain {g('BM_AttestationVerifyCachedChain'):.3f},"
          f" cold (as veil infer, once per session) {g('BM_AttestationVerifyCold'):.3f}")
    floor_ms = enclave + client
    print(f"  per request: enclave 2 x unwrap + request decrypt (0x0578) + result encrypt = {enclave:.2f};"
          f" client request encrypt (0x0578) + result decrypt = {client:.2f}; floor {floor_ms:.2f} ms")
    print(f"  once per session (not per request): attestation verify {g('BM_AttestationVerifyCold'):.2f} ms")
    for tier in ("integration", "local"):
        conf, plain = load(f"{tier}-1"), load("plaintext-1")
        if conf and plain:
            added = p50(conf) - p50(plain)
            print(f"  {tier}: added latency at 1 client (confidential p50 - plaintext p50) {added:.1f} ms"
                  f" = {added / floor_ms:.1f} x floor")
PY
