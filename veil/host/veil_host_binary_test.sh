#!/usr/bin/env bash
# Runs the real veil-host binary: a config error exits 2 naming the key;
# a good config starts without an enclave (the banner says where it
# connects), serves /healthz, answers infer 503, and SIGTERM stops it with
# exit 0 and a "stopped" line.
# Usage: veil_host_binary_test.sh path/to/veil-host
set -euo pipefail
bin="$1"
dir="$(mktemp -d /tmp/veil-host-bin-XXXXXX)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

printf '{"tenants":[{"id":"acme","api_key_sha256":"%s"}]}' \
  "$(printf %s 'k-123' | sha256sum | cut -d' ' -f1)" > "$dir/tenants.json"

# A strict config: the error names the key, exit code 2.
echo '{"listen":"127.0.0.1:0","enclave":"unix:'"$dir"'/c.sock","tenants_file":"tenants.json","tenant_limit":3}' \
  > "$dir/bad.json"
set +e
"$bin" --config "$dir/bad.json" 2> "$dir/bad.err"
rc=$?
set -e
[ "$rc" = 2 ] || { echo "FAIL: bad config exit $rc"; cat "$dir/bad.err"; exit 1; }
grep -q '"tenant_limit"' "$dir/bad.err" || { echo "FAIL: error does not name the key"; cat "$dir/bad.err"; exit 1; }

# Port 0: the banner says which port the host got.
echo '{"listen":"127.0.0.1:0","enclave":"unix:'"$dir"'/c.sock","tenants_file":"tenants.json","shutdown_grace_seconds":2}' \
  > "$dir/host.json"
"$bin" --config "$dir/host.json" 2> "$dir/log" &
pid=$!
for _ in $(seq 50); do
  grep -q '"event":"enclave"' "$dir/log" 2>/dev/null && break
  sleep 0.1
done
grep -q '"event":"veil-host starting"' "$dir/log" || { echo "FAIL: no banner"; cat "$dir/log"; exit 1; }
grep -q "\"enclave\":\"unix:$dir/c.sock\"" "$dir/log" || { echo "FAIL: banner lacks the enclave"; cat "$dir/log"; exit 1; }
port="$(grep -o '"http":"127.0.0.1:[0-9]*"' "$dir/log" | head -1 | sed 's/.*://; s/"//')"
[ -n "$port" ] || { echo "FAIL: banner lacks the port"; cat "$dir/log"; exit 1; }

exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' >&3
reply="$(cat <&3)"
exec 3<&-
grep -q '^HTTP/1.1 200' <<<"$reply" || { echo "FAIL: healthz: $reply"; exit 1; }
grep -q '"reachable":false' <<<"$reply" || { echo "FAIL: healthz body: $reply"; exit 1; }

exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /v1/infer HTTP/1.1\r\nAuthorization: Bearer k-123\r\nVeil-Request-Id: r1\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx' >&3
reply="$(cat <&3)"
exec 3<&-
grep -q '^HTTP/1.1 503' <<<"$reply" || { echo "FAIL: infer without enclave: $reply"; exit 1; }

kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
pid=""
[ "$rc" = 0 ] || { echo "FAIL: exit $rc after SIGTERM"; cat "$dir/log"; exit 1; }
grep -q '"event":"stopped"' "$dir/log" || { echo "FAIL: no stopped line"; cat "$dir/log"; exit 1; }
echo "ok: veil-host binary (config errors, banner, healthz, 503 without enclave, SIGTERM)"
