#!/usr/bin/env python3
"""veil-kms against moto_server under the same load generator, in one run.

Starts both servers on free ports, creates a key in each, and runs
build/.../bench/kms_bench (keep-alive HTTP, SigV4, N concurrent clients) for
GenerateDataKey and Decrypt against each. Prints a table, and the targets:
veil-kms throughput >= 20x moto's, veil-kms p99 < 5 ms (no TLS).

usage: kms_bench.py BUILD_DIR [--clients 8] [--seconds 5]
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "veil", "kms_server", "tests"))
import kms_servers  # noqa: E402


def run(bench, target, key_id, op, clients, seconds):
    out = subprocess.run(
        [bench, "--endpoint", target.endpoint, "--key-id", key_id, "--op", op,
         "--clients", str(clients), "--seconds", str(seconds)],
        env=target.env(), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"kms_bench against {target.name} failed: {out.stderr}{out.stdout}")
    return json.loads(out.stdout)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build_dir")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=5)
    a = p.parse_args()
    bench = os.path.join(a.build_dir, "bench", "kms_bench")
    veil = os.path.join(a.build_dir, "bin", "veil-kms")
    if not kms_servers.moto_available():
        kms_servers.skip("moto_server is not installed")
    results = {}
    with kms_servers.veil_kms_target(veil) as (target, _):
        key = target.client().create_key()["KeyMetadata"]["KeyId"]
        for op in ("GenerateDataKey", "Decrypt"):
            results[("veil-kms", op)] = run(bench, target, key, op, a.clients, a.seconds)
    with kms_servers.moto_target() as target:
        key = target.client().create_key()["KeyMetadata"]["KeyId"]
        for op in ("GenerateDataKey", "Decrypt"):
            results[("moto", op)] = run(bench, target, key, op, a.clients, a.seconds)

    print(f"{a.clients} keep-alive clients, {a.seconds:g} s per run, {os.cpu_count()} CPUs, no TLS")
    print(f"{'server':10} {'operation':16} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for (server, op), r in results.items():
        print(f"{server:10} {op:16} {r['throughput_rps']:10.0f} {r['p50_ms']:8.2f} "
              f"{r['p99_ms']:8.2f} {r['failures']:7d}")
    ok = True
    for op in ("GenerateDataKey", "Decrypt"):
        v, m = results[("veil-kms", op)], results[("moto", op)]
        ratio = v["throughput_rps"] / max(m["throughput_rps"], 1e-9)
        ratio_ok = ratio >= 20
        p99_ok = v["p99_ms"] < 5
        ok = ok and ratio_ok and p99_ok
        print(f"{op}: veil-kms/moto throughput {ratio:.1f}x (target >= 20x: "
              f"{'met' if ratio_ok else 'MISSED'}); veil-kms p99 {v['p99_ms']:.2f} ms "
              f"(target < 5 ms: {'met' if p99_ok else 'MISSED'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
