# Helpers shared by the end-to-end tests of the `veil` binary. Source it
# after setting VEIL and changing into a scratch directory that has log/.
#   fail MSG          print FAIL: MSG on stderr and exit 1
#   ok MSG            count a passed check and print it
#   run NAME ARGS...  run veil with stdout/stderr in log/NAME.{out,err}; sets rc
#   run_stdin NAME FILE ARGS...  the same, feeding FILE on stdin
checks=0

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() {
  checks=$((checks + 1))
  echo "ok: $*"
}
run() {
  local name="$1"
  shift
  set +e
  "$VEIL" "$@" >"log/$name.out" 2>"log/$name.err" </dev/null
  rc=$?
  set -e
}
run_stdin() {
  local name="$1" input="$2"
  shift 2
  set +e
  "$VEIL" "$@" >"log/$name.out" 2>"log/$name.err" <"$input"
  rc=$?
  set -e
}
