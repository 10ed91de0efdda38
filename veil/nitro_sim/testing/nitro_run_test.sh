#!/usr/bin/env bash
# End-to-end test of veil-nitro-run, the simulated Nitro launcher:
#   bash nitro_run_test.sh VEIL_NITRO_RUN VEIL_NSM_SIM VEIL_SANDBOX_PROBE VEIL
# describe: the PCRs are `veil measure`'s, and one changed byte in any part
# changes them. run, with veil-sandbox-probe as the "enclave": no network,
# no host files, a read-only filesystem but /tmp and /run/veil, the NSM
# reachable, its document's PCRs the measured ones (checked by `veil attest
# verify`, i.e. AttestationVerifier at tier simulated), console only with
# --debug (and PCR0 = 0 there), no restart, exit status, SIGTERM and SIGKILL
# of the launcher leave no process behind. Exit 77 (skipped) when bubblewrap
# cannot create namespaces here.
set -euo pipefail

usage="usage: nitro_run_test.sh VEIL_NITRO_RUN VEIL_NSM_SIM VEIL_SANDBOX_PROBE VEIL"
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
RUN="$(abs "${1:?$usage}")"
SIM="$(abs "${2:?$usage}")"
PROBE="$(abs "${3:?$usage}")"
# A sanitizer build of the probe: LeakSanitizer cannot stop the world inside
# the sandbox (no ptrace), so leaks are not checked there; the launcher
# passes *SAN_OPTIONS (and nothing else) through its cleared environment.
sanitized=false
if ldd "$PROBE" 2>/dev/null | grep -q libasan; then
  sanitized=true
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
VEIL="$(abs "${4:?$usage}")"

if ! command -v bwrap >/dev/null; then
  echo "SKIP: bwrap (Debian package bubblewrap) is not installed"
  exit 77
fi
if ! bwrap_err="$(bwrap --unshare-all --die-with-parent --ro-bind /usr /usr \
  --symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev /usr/bin/true 2>&1)"; then
  echo "SKIP: bwrap cannot create namespaces on this machine: $bwrap_err"
  exit 77
fi
# veil-nitro-run looks for veil-nsm-sim beside itself.
[ "$(dirname "$RUN")" = "$(dirname "$SIM")" ] || { echo "FAIL: $RUN and $SIM not side by side"; exit 1; }

work="$(mktemp -d)"
listener_pid=""
launcher_pid=""
cleanup() {
  [ -n "$launcher_pid" ] && kill -KILL "$launcher_pid" 2>/dev/null || true
  [ -n "$listener_pid" ] && kill "$listener_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
mkdir log

checks=0
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() {
  checks=$((checks + 1))
  echo "ok: $*"
}
# A name no other process on this machine has: pgrep -f finds exactly ours.
tag="veilprobe$$x$RANDOM"
zeros="$(printf '0%.0s' $(seq 1 96))"

# wait_for COND_CMD SECONDS: poll every 0.05 s.
wait_for() {
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    if eval "$1"; then return 0; fi
    sleep 0.05
  done
  return 1
}
# no_processes_left NAME: nothing of this test's runs still runs.
no_processes_left() {
  wait_for "! pgrep -f '$tag' >/dev/null" 5 ||
    fail "$1: processes left behind: $(pgrep -af "$tag" || true)"
  ok "$1: no process left behind"
}
pcr() { jq -r ".Measurements.PCR$2" "$1"; }

echo "== setup"
"$VEIL" attest simulate-ca --out ca >log/ca.out 2>&1 || fail "simulate-ca: $(cat log/ca.out)"
"$PROBE" --listen "$work/port" &
listener_pid=$!
wait_for "[ -s '$work/port' ]" 10 || fail "the host listener did not start"
port="$(cat port)"
# Positive control: the listener is reachable from the host itself.
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "host cannot reach its own listener"
exec 3>&-
wait_for "[ -s '$work/port.accepted' ]" 5 || fail "listener did not count the control"
ok "host listener on 127.0.0.1:$port is reachable from the host"

# make_image DIR CONFIG_JSON: an image whose "enclave" is the probe.
make_image() {
  mkdir -p "$1"
  cp "$PROBE" "$1/$tag"
  head -c 300000 /dev/urandom >"$1/model.bin"
  echo "$2" >"$1/probe.json"
  cat >"$1/image.json" <<EOF
{"format": "veil-enclave-image/1", "name": "probe", "version": "0.0.1",
 "binary": "$tag", "files": ["model.bin", "probe.json"], "config": "probe.json"}
EOF
}
config() { # config EXTRA_JSON_FIELDS
  echo "{\"tcp_port\": $port, \"host_home\": \"${HOME:-/root}\", \"marker\": \"marker-$tag\",
         \"nonce_hex\": \"00112233\"${1:+, $1}}"
}

echo "== describe"
make_image img "$(config)"
"$RUN" describe --image img/image.json >log/describe.out 2>log/describe.err ||
  fail "describe: $(cat log/describe.err)"
"$VEIL" measure "img/$tag" img/model.bin img/probe.json >log/measure.out
jq -e '.EifVersion == 4 and .IsSigned == false and .CheckCRC == true and
       .ImageName == "probe" and .ImageVersion == "0.0.1" and
       .Metadata.BuildTool == "veil-nitro-run" and (.Metadata.Parts | length) == 3' \
  log/describe.out >/dev/null || fail "describe output: $(cat log/describe.out)"
[ "$(jq -S .Measurements log/describe.out)" = "$(jq -S .Measurements log/measure.out)" ] ||
  fail "describe and veil measure differ: $(cat log/describe.out log/measure.out)"
ok "describe prints the same measurements as veil measure"
[ "$(jq -r '.Metadata.Parts[0].Sha384' log/describe.out)" = "$(sha384sum "img/$tag" | cut -d' ' -f1)" ] ||
  fail "Parts[0].Sha384 is not the binary's SHA-384"
ok "describe lists each part's SHA-384"
role="arn:aws:iam::123456789012:role/veil"
"$RUN" describe --image img/image.json --role-arn "$role" --instance-id i-0123456789abcdef0 \
  >log/describe34.out
"$VEIL" measure "img/$tag" img/model.bin img/probe.json --role-arn "$role" \
  --instance-id i-0123456789abcdef0 >log/measure34.out
[ "$(jq -S .Measurements log/describe34.out)" = "$(jq -S .Measurements log/measure34.out)" ] &&
  [ "$(pcr log/describe34.out 3)" != null ] && [ "$(pcr log/describe34.out 4)" != null ] ||
  fail "PCR3/PCR4 differ from veil measure"
ok "describe --role-arn --instance-id prints veil measure's PCR3 and PCR4"

# One changed byte in each part changes PCR0, and PCR1 (binary) or PCR2.
for part in "$tag" model.bin probe.json; do
  rm -rf img2 && cp -r img img2
  offset=$(($(stat -c %s "img2/$part") / 2))
  printf '\xff' | dd of="img2/$part" bs=1 seek="$offset" conv=notrunc status=none
  if cmp -s "img/$part" "img2/$part"; then # the byte was already 0xff
    printf '\x00' | dd of="img2/$part" bs=1 seek="$offset" conv=notrunc status=none
  fi
  "$RUN" describe --image img2/image.json >log/describe2.out
  [ "$(pcr log/describe2.out 0)" != "$(pcr log/describe.out 0)" ] || fail "$part: PCR0 unchanged"
  if [ "$part" = "$tag" ]; then changed=1 same=2; else changed=2 same=1; fi
  [ "$(pcr log/describe2.out $changed)" != "$(pcr log/describe.out $changed)" ] ||
    fail "$part: PCR$changed unchanged"
  [ "$(pcr log/describe2.out $same)" = "$(pcr log/describe.out $same)" ] ||
    fail "$part: PCR$same changed"
  ok "one changed byte in $part changes PCR0 and PCR$changed, not PCR$same"
done

bad() { # bad NAME JSON EXPECTED_MESSAGE
  echo "$2" >img/bad.json
  set +e
  "$RUN" describe --image img/bad.json >/dev/null 2>"log/$1.err"
  local rc=$?
  set -e
  [ "$rc" -eq 1 ] || fail "$1: exit $rc"
  grep -qF -- "$3" "log/$1.err" || fail "$1: stderr lacks '$3': $(cat "log/$1.err")"
  ok "$1 is refused: $(cat "log/$1.err")"
}
bad unknown-key '{"format": "veil-enclave-image/1", "name": "p", "version": "1", "binary": "b",
  "files": ["c"], "config": "c", "kernel": "k"}' '"kernel" is not a known key'
bad config-not-in-files '{"format": "veil-enclave-image/1", "name": "p", "version": "1",
  "binary": "b", "files": ["c"], "config": "d"}' '"config" is "d", which is not one of "files"'
bad duplicate-basename '{"format": "veil-enclave-image/1", "name": "p", "version": "1",
  "binary": "b", "files": ["x/c", "y/c"], "config": "x/c"}' 'two parts named "c"'

# launch NAME [ARGS...]: veil-nitro-run run in the background; stdout and
# stderr in log/NAME.{out,err}; sets launcher_pid.
launch() {
  local name="$1"
  shift
  "$RUN" run --image img/image.json --ca ca --run-dir "run-$name" "$@" \
    >"log/$name.out" 2>"log/$name.err" </dev/null &
  launcher_pid=$!
}
# finish NAME: wait for the launcher (at most 30 s); sets rc.
finish() {
  wait_for "! kill -0 $launcher_pid 2>/dev/null" 30 || fail "$1: the launcher did not exit"
  set +e
  wait "$launcher_pid"
  rc=$?
  set -e
  launcher_pid=""
}
probe_is() { # probe_is NAME JQ_FILTER WHAT
  jq -e "$2" "run-$1/sock/probe.json" >/dev/null ||
    fail "$1: $3: $(jq -c . "run-$1/sock/probe.json")"
  ok "$1: $3"
}

echo "== run"
# A sanitizer build reserves terabytes of shadow address space, which an
# RLIMIT_AS of 4 GiB forbids: there the memory limit is recorded but not set.
memory_flags=(--memory-mib 4096)
if $sanitized; then memory_flags=(); fi
launch plain --enclave-cid 21 "${memory_flags[@]}"
finish plain
[ "$rc" -eq 0 ] || fail "plain: exit $rc: $(cat log/plain.err)"
ok "plain: the launcher exits 0 when the enclave exits 0"
jq -e --arg pcr0 "$(pcr log/describe.out 0)" --argjson sanitized "$sanitized" \
  '.Simulated == true and .Debug == false and .EnclaveName == "probe" and .EnclaveCID == 21 and
   (.MemoryMiB == 4096 or ($sanitized and .MemoryMiB == null)) and .NumberOfCPUs >= 1 and .ProcessID > 0 and
   (.EnclaveID | test("^i-[0-9a-f]{17}-enc[0-9a-f]{16}$")) and .Measurements.PCR0 == $pcr0' \
  log/plain.out >/dev/null || fail "plain: run JSON: $(cat log/plain.out)"
ok "plain: run-enclave JSON (id, CID, memory, PCR0 = describe's)"
grep -q 'SIMULATED NITRO ENCLAVE -- THIS IS NOT AN AWS NITRO ENCLAVE' log/plain.err ||
  fail "plain: no simulation banner"
ok "plain: the banner says SIMULATED"
grep -q "exited with status 0; not restarting it" log/plain.err || fail "plain: no exit report"
ok "plain: the launcher reports how the enclave ended"
! grep -q "marker-$tag" log/plain.err log/plain.out || fail "plain: the console leaked without --debug"
ok "plain: without --debug the enclave's console is discarded"

probe_is plain '[.net[] | .ok] == [false, false, false]' \
  "no network: TCP to the host's 127.0.0.1, TCP to 1.1.1.1:80 and UDP to 8.8.8.8:53 all fail"
[ "$(wc -l <port.accepted)" -eq 1 ] || fail "plain: the host listener accepted a connection"
ok "plain: the host listener saw no connection from the enclave"
probe_is plain '.interfaces == ["lo"]' "the only network interface is its own loopback"
probe_is plain '.read["/etc/passwd"].ok == false and .host_home_visible == false' \
  "host files are invisible (/etc/passwd, \$HOME)"
probe_is plain '.root_entries == ["bin", "dev", "enclave", "etc", "lib", "lib64", "proc", "run", "tmp", "usr"]' \
  "the root holds only usr (+ links), proc, dev, tmp, enclave and run"
probe_is plain "[.write | to_entries[] | select(.value.ok) | .key] | sort == [\"/run/veil/probe-write\", \"/tmp/probe\"]" \
  "writable: only /tmp and /run/veil (not /, /usr, /enclave, the image)"
probe_is plain '[.write | to_entries[] | select(.value.ok | not) | .value.error] | unique == ["Read-only file system"]' \
  "every other write fails with EROFS"
probe_is plain '[.env[] | select(test("^[A-Z]*SAN_OPTIONS=") | not)] == ["PATH=/usr/bin", "VEIL_ENCLAVE_SIMULATED=1", "PWD=/enclave"]' \
  "the environment is PATH, VEIL_ENCLAVE_SIMULATED and PWD only"
probe_is plain '.cap_eff == "0000000000000000"' "no capabilities"
probe_is plain ".config == \"/enclave/app/probe.json\" and .app_entries == [\"model.bin\", \"probe.json\"] and .bin_entries == [\"$tag\"]" \
  "the image is at /enclave/bin and /enclave/app, started with --config"
if [ ${#memory_flags[@]} -gt 0 ]; then
  probe_is plain '.rlimit_as == 4294967296' "--memory-mib is enforced as RLIMIT_AS"
fi
probe_is plain ".nsm.connected and .nsm.kind == \"simulated\" and .nsm.module_id == \"$(jq -r .EnclaveID log/plain.out)\"" \
  "the NSM is reachable at /run/veil/nsm.sock and is the launcher's"
"$VEIL" attest verify run-plain/sock/probe-doc.cbor --root ca/root.pem --nonce 00112233 \
  --expect-pcr "0=$(pcr log/describe.out 0)" --expect-pcr "1=$(pcr log/describe.out 1)" \
  --expect-pcr "2=$(pcr log/describe.out 2)" >log/verify-plain.out 2>&1 ||
  fail "plain: document does not verify: $(cat log/verify-plain.out)"
grep -q 'verified (tier simulated)' log/verify-plain.out || fail "plain: $(cat log/verify-plain.out)"
ok "plain: the enclave's document verifies (tier simulated) with PCR0-2 = the measured image"
[ "$(wc -l <run-plain/sock/probe-starts)" -eq 1 ] || fail "plain: the enclave was restarted"
ok "plain: the enclave ran once"
[ ! -e run-plain/sock/nsm.sock ] && [ ! -e run-plain/image ] ||
  fail "plain: left $(ls -R run-plain)"
ok "plain: the sockets and the image copy are removed"
[ "$(stat -c %a run-plain/sock)" = 700 ] || fail "plain: sock/ mode $(stat -c %a run-plain/sock)"
ok "plain: DIR/sock is mode 0700"
no_processes_left plain

echo "== run --debug"
launch debug --debug
finish debug
[ "$rc" -eq 0 ] || fail "debug: exit $rc: $(cat log/debug.err)"
grep -qx "\[enclave\] probe stdout: marker-$tag" log/debug.err &&
  grep -qx "\[enclave\] probe stderr: marker-$tag" log/debug.err ||
  fail "debug: the console is not forwarded: $(cat log/debug.err)"
! grep -q "marker-$tag" log/debug.out || fail "debug: console on stdout"
ok "debug: the enclave's stdout and stderr appear on the launcher's stderr as [enclave] lines"
grep -q 'DEBUG MODE' log/debug.err && jq -e '.Debug == true' log/debug.out >/dev/null ||
  fail "debug: not announced"
ok "debug: announced in the banner and the JSON"
set +e
"$VEIL" attest verify run-debug/sock/probe-doc.cbor --root ca/root.pem >log/verify-debug.out 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "debug: document accepted without --allow-debug"
"$VEIL" attest verify run-debug/sock/probe-doc.cbor --root ca/root.pem --allow-debug \
  --expect-pcr "0=$zeros" --nonce 00112233 >log/verify-debug.out 2>&1 ||
  fail "debug: $(cat log/verify-debug.out)"
ok "debug: the document carries PCR0 = 0 and is refused unless debug is allowed"
no_processes_left debug

echo "== exit status, no restart"
make_image img "$(config '"exit_code": 3')"
launch exit3
finish exit3
[ "$rc" -eq 1 ] || fail "exit3: exit $rc"
grep -q "the enclave exited with status 3; not restarting it" log/exit3.err ||
  fail "exit3: $(cat log/exit3.err)"
[ "$(wc -l <run-exit3/sock/probe-starts)" -eq 1 ] || fail "exit3: restarted"
ok "exit3: an enclave exiting 3 is not restarted and the launcher exits 1"
no_processes_left exit3

echo "== SIGTERM"
make_image img "$(config '"linger_seconds": 60')"
launch term
wait_for "[ -s run-term/sock/probe.json ]" 20 || fail "term: the enclave did not start: $(cat log/term.err)"
pgrep -f "$tag" >/dev/null || fail "term: no enclave process"
pgrep -f "run-term/sock/nsm.sock" >/dev/null || fail "term: no veil-nsm-sim"
kill -TERM "$launcher_pid"
finish term
[ "$rc" -eq 0 ] || fail "term: exit $rc: $(cat log/term.err)"
[ -e run-term/sock/probe-sigterm ] || fail "term: the enclave never saw SIGTERM"
grep -q "SIGTERM received, stopping the enclave" log/term.err || fail "term: $(cat log/term.err)"
ok "term: SIGTERM to the launcher reaches the enclave, which exits; the launcher exits"
no_processes_left term

make_image img "$(config '"linger_seconds": 60, "ignore_sigterm": true')"
launch stubborn --stop-timeout 1
wait_for "[ -s run-stubborn/sock/probe.json ]" 20 || fail "stubborn: did not start"
kill -TERM "$launcher_pid"
finish stubborn
[ "$rc" -eq 1 ] || fail "stubborn: exit $rc"
grep -q "did not stop within 1s; SIGKILL" log/stubborn.err &&
  grep -q "killed by signal 9 (SIGKILL)" log/stubborn.err || fail "stubborn: $(cat log/stubborn.err)"
ok "stubborn: an enclave ignoring SIGTERM is killed after --stop-timeout"
no_processes_left stubborn

echo "== SIGKILL of the launcher"
make_image img "$(config '"linger_seconds": 60')"
launch killed
wait_for "[ -s run-killed/sock/probe.json ]" 20 || fail "killed: did not start"
kill -KILL "$launcher_pid"
finish killed
no_processes_left "killed (launcher SIGKILLed: PR_SET_PDEATHSIG, --die-with-parent)"

echo "== failures"
make_image img "$(config)"
set +e
"$RUN" run --image img/image.json --ca "$work/nonexistent-ca" --run-dir run-badca \
  >log/badca.out 2>log/badca.err </dev/null
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "veil-nsm-sim exited with status 1 before serving" log/badca.err ||
  fail "badca: exit $rc: $(cat log/badca.err)"
[ ! -s log/badca.out ] || fail "badca: printed a run JSON"
ok "badca: veil-nsm-sim failing to start is reported, nothing is launched"
no_processes_left badca

echo "PASS: $checks checks"
