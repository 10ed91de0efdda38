#!/usr/bin/env bash
# End-to-end test of `veil detect` and `veil model manifest` on the real
# binary (STYLE.md C15):
#   bash veil_detect_test.sh PATH/TO/veil [SHARED_DIR]
# Uses the small pretrained models and photos in the shared test data
# ($2, else $VEIL_SHARED_DIR, else <repo>/../shared); exits 77 (skipped)
# without them. Runs in a fresh temporary directory.
set -euo pipefail
CLI_TEST_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cli_test_lib.sh"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

VEIL="${1:?usage: veil_detect_test.sh PATH/TO/veil [SHARED_DIR]}"
VEIL="$(cd "$(dirname "$VEIL")" && pwd)/$(basename "$VEIL")"
SHARED="${2:-${VEIL_SHARED_DIR:-$SCRIPT_DIR/../../../../shared}}"
if [ ! -f "$SHARED/models/v5lite-e-320-decoded.onnx" ] || [ ! -f "$SHARED/testdata/images/dog.jpg" ]; then
  echo "SKIP: shared test data not found at $SHARED (models/, testdata/images/)"
  exit 77
fi
SHARED="$(cd "$SHARED" && pwd)"
V5="$SHARED/models/v5lite-e-320-decoded.onnx"
YOLOX="$SHARED/models/yolox_nano.onnx"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir log
# shellcheck source=cli_test_lib.sh
source "$CLI_TEST_LIB"
cp "$SHARED/testdata/images/dog.jpg" "$SHARED/testdata/images/horses.jpg" .

no_temp_files() {
  if find . -name '.veil-tmp-*' | grep -q .; then
    fail "$1: temporary file left behind: $(find . -name '.veil-tmp-*')"
  fi
}

# expect_json NAME LINES: exit 0, nothing on stderr, LINES lines on stdout,
# each one JSON document.
expect_json() {
  [ "$rc" -eq 0 ] || fail "$1: exit $rc: $(cat "log/$1.err")"
  [ ! -s "log/$1.err" ] || fail "$1: unexpected stderr: $(cat "log/$1.err")"
  [ "$(wc -l <"log/$1.out")" -eq "$2" ] || fail "$1: want $2 lines on stdout: $(cat "log/$1.out")"
  python3 -c 'import json, sys
for line in open(sys.argv[1]): json.loads(line)' "log/$1.out" || fail "$1: stdout is not JSON lines"
  no_temp_files "$1"
}

# json_field NAME EXPR: evaluate EXPR on the first JSON line of NAME's stdout
# (as `d`).
json_field() {
  python3 -c 'import json, sys
d = json.loads(open(sys.argv[1]).readline())
print(eval(sys.argv[2]))' "log/$1.out" "$2"
}

# expect_image_errors NAME CODE PATH...: exit CODE, one "veil detect: PATH: "
# line per PATH in order, then the "veil: N of M images failed" summary.
expect_image_errors() {
  local name="$1" code="$2" i=1
  shift 2
  [ "$rc" -eq "$code" ] || fail "$name: exit $rc, want $code: $(cat "log/$name.err")"
  for path in "$@"; do
    sed -n "${i}p" "log/$name.err" | grep -qF "veil detect: $path: " ||
      fail "$name: stderr line $i is not about $path: $(cat "log/$name.err")"
    i=$((i + 1))
  done
  tail -n 1 "log/$name.err" | grep -Eq '^veil: [0-9]+ of [0-9]+ images failed$' ||
    fail "$name: no summary line: $(cat "log/$name.err")"
  [ "$(wc -l <"log/$name.err")" -eq $(($# + 1)) ] || fail "$name: extra stderr: $(cat "log/$name.err")"
  no_temp_files "$name"
}

# expect_fail NAME CODE MESSAGE: exit CODE, one "veil: " stderr line
# containing MESSAGE, nothing on stdout.
expect_fail() {
  local name="$1" code="$2" message="$3"
  [ "$rc" -eq "$code" ] || fail "$name: exit $rc, want $code: $(cat "log/$name.err")"
  [ "$(wc -l <"log/$name.err")" -eq 1 ] || fail "$name: want one stderr line: $(cat "log/$name.err")"
  grep -q '^veil: ' "log/$name.err" || fail "$name: stderr lacks 'veil: ': $(cat "log/$name.err")"
  grep -qF -- "$message" "log/$name.err" || fail "$name: stderr lacks '$message': $(cat "log/$name.err")"
  [ ! -s "log/$name.out" ] || fail "$name: wrote to stdout: $(cat "log/$name.out")"
  no_temp_files "$name"
  ok "$name ($(cat "log/$name.err"))"
}

png_size() { # png_size FILE: "WIDTH HEIGHT" from the IHDR chunk
  python3 -c 'import struct, sys
d = open(sys.argv[1], "rb").read(24)
assert d[12:16] == b"IHDR", "no IHDR chunk"
print(*struct.unpack(">II", d[16:24]))' "$1"
}

expect_png() { # expect_png FILE WIDTH HEIGHT
  [ -s "$1" ] || fail "$1 was not written"
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    fail "$1 does not start with the PNG signature"
  [ "$(png_size "$1")" = "$2 $3" ] || fail "$1 is $(png_size "$1"), want $2 $3"
}

echo "== help"
run help --help
[ "$rc" -eq 0 ] && grep -q 'detect' log/help.out && grep -q 'model' log/help.out ||
  fail "veil --help does not list detect and model"
run help-detect detect --help
[ "$rc" -eq 0 ] && grep -q -- '--annotate' log/help-detect.out && grep -q -- '--family' log/help-detect.out ||
  fail "veil detect --help: $(cat log/help-detect.out)"
run help-manifest model manifest --help
[ "$rc" -eq 0 ] && grep -q -- '--version' log/help-manifest.out || fail "veil model manifest --help"
ok "help"

echo "== detect, JSON lines"
run json detect dog.jpg --json --model "$V5"
expect_json json 1
[ "$(json_field json 'd["source"]')" = dog.jpg ] || fail "json: source is not the path as given"
[ "$(json_field json 'sorted({x["label"] for x in d["detections"]})')" = \
  "['bicycle', 'car', 'dog', 'truck']" ] || fail "json: labels: $(cat log/json.out)"
[ "$(json_field json 'd["model"]["family"], d["image"]["width"], d["image"]["height"]')" = \
  "('yolov5', 768, 576)" ] || fail "json: model or image: $(cat log/json.out)"
ok "detect --json: one line, dog, bicycle, car, truck"

VEIL_MODEL="$V5" run env-model detect dog.jpg --json
expect_json env-model 1
grep -q '"dog"' log/env-model.out || fail "env-model: no dog"
ok "the model from \$VEIL_MODEL"

(unset VEIL_MODEL; VEIL_SHARED_DIR="$SHARED" run default-model detect dog.jpg horses.jpg --json
 expect_json default-model 2) || exit 1
ok "a model found without --model or \$VEIL_MODEL"

VEIL_MODEL="$work/no-such.onnx" run env-missing detect dog.jpg
expect_fail env-missing 1 "\$VEIL_MODEL names $work/no-such.onnx"

echo "== detect, text"
run text detect dog.jpg --model "$V5"
[ "$rc" -eq 0 ] || fail "text: exit $rc: $(cat log/text.err)"
[ "$(wc -l <log/text.err)" -eq 1 ] && grep -q '^veil detect: model v5lite-e-320-decoded .*yolov5, 320x320, sha256 0c38c8da.*derived from' log/text.err ||
  fail "text: the model line: $(cat log/text.err)"
head -n 1 log/text.out | grep -Eq '^dog\.jpg: 768x576 jpeg, 4 detections in [0-9]+\.[0-9] ms$' ||
  fail "text: header: $(cat log/text.out)"
sed -n 2p log/text.out | grep -Eq '^  dog        0\.[67][0-9]  \[[0-9]+, [0-9]+, [0-9]+, [0-9]+\]$' ||
  fail "text: detection line: $(cat log/text.out)"
[ "$(wc -l <log/text.out)" -eq 5 ] || fail "text: want 5 lines: $(cat log/text.out)"
ok "detect: readable block ($(sed -n 2p log/text.out))"

echo "== YOLOX"
run yolox detect dog.jpg --json --model "$YOLOX" --family yolox
expect_json yolox 1
[ "$(json_field yolox 'd["model"]["family"]')" = yolox ] || fail "yolox: family"
grep -q '"dog"' log/yolox.out || fail "yolox: no dog: $(cat log/yolox.out)"
ok "detect --family yolox"

echo "== --annotate"
run annotate detect dog.jpg --json --model "$V5" --annotate out.png
expect_json annotate 1
expect_png out.png "$(json_field annotate 'd["image"]["width"]')" "$(json_field annotate 'd["image"]["height"]')"
ok "--annotate out.png: a PNG the size of the image"
mkdir annotated
run annotate-dir detect dog.jpg horses.jpg --model "$V5" --annotate annotated
[ "$rc" -eq 0 ] || fail "annotate-dir: exit $rc: $(cat log/annotate-dir.err)"
expect_png annotated/dog.annotated.png 768 576
horses_size="$(python3 -c 'import json, sys
print(*json.load(open(sys.argv[1]))["models"]["v5lite-e-320-decoded.onnx"]["horses.jpg"]["size"])' \
  "$SHARED/testdata/images/expected.json")"
expect_png annotated/horses.annotated.png $horses_size
[ "$(ls -A annotated | wc -l)" -eq 2 ] || fail "annotate-dir: $(ls -A annotated)"
ok "--annotate DIR with two images: <stem>.annotated.png each"
run annotate-file-two detect dog.jpg horses.jpg --model "$V5" --annotate two.png
expect_fail annotate-file-two 2 "must name an existing directory"
[ ! -e two.png ] || fail "annotate-file-two wrote two.png"

echo "== bad images: each reported, the others still run"
: >empty.jpg
echo "just some text, not a picture" >x.jpg
head -c 5000 dog.jpg >truncated.jpg
for bad in empty.jpg x.jpg truncated.jpg; do
  run "bad-$bad" detect "$bad" --json --model "$V5"
  expect_image_errors "bad-$bad" 1 "$bad"
  [ ! -s "log/bad-$bad.out" ] || fail "bad-$bad: wrote to stdout"
  ok "$bad: $(head -n 1 "log/bad-$bad.err")"
done
[ "$(grep -h '^veil detect: ' log/bad-*.err | sed -E 's/^veil detect: [^:]+: //' | sort -u | wc -l)" -eq 3 ] ||
  fail "bad images share a message: $(cat log/bad-*.err)"
grep -q 'just some text' log/bad-x.jpg.err && fail "the error quotes the file's bytes"
run mixed detect dog.jpg empty.jpg x.jpg truncated.jpg horses.jpg --json --model "$V5"
expect_image_errors mixed 1 empty.jpg x.jpg truncated.jpg
grep -q '^veil: 3 of 5 images failed$' log/mixed.err || fail "mixed: summary: $(cat log/mixed.err)"
[ "$(wc -l <log/mixed.out)" -eq 2 ] && head -n 1 log/mixed.out | grep -q '"source":"dog.jpg"' &&
  tail -n 1 log/mixed.out | grep -q '"source":"horses.jpg"' || fail "mixed: stdout: $(cat log/mixed.out)"
ok "mixed good and bad images: exit 1, good ones in order on stdout"

echo "== usage errors"
run conf-zero detect dog.jpg --model "$V5" --conf 0
expect_fail conf-zero 2 "--conf"
run iou-big detect dog.jpg --model "$V5" --iou 1.5
expect_fail iou-big 2 "--iou"
run bad-family detect dog.jpg --model "$V5" --family yolov8
expect_fail bad-family 2 "--family yolov8"
run no-images detect --model "$V5"
[ "$rc" -eq 2 ] || fail "no-images: exit $rc"
ok "no images: exit 2"

echo "== veil model manifest round trip"
mkdir m
cp "$V5" m/v5.onnx
# The shell creates m/v5.json (empty) before veil runs: the command must
# describe the ONNX file, not look for a manifest beside it.
set +e
"$VEIL" model manifest m/v5.onnx --id v5 --version 1.0 >m/v5.json 2>log/manifest.err
rc=$?
set -e
[ "$rc" -eq 0 ] && [ ! -s log/manifest.err ] || fail "manifest: exit $rc: $(cat log/manifest.err)"
python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
assert m["id"] == "v5" and m["version"] == "1.0" and m["family"] == "yolov5", m
assert m["weights"] == "v5.onnx", m
assert m["weights_sha256"] == "0c38c8da926f98bb9b37bb01bc2f379f98128c0f83a032677b34cbef1aefd325", m
assert m["input"] == {"width": 320, "height": 320}, m' m/v5.json || fail "manifest: $(cat m/v5.json)"
ok "veil model manifest: id, version, weights, digest, input"
run manifest-output model manifest m/v5.onnx --id v5 --version 1.0 --output m/v5-copy.json
[ "$rc" -eq 0 ] && cmp -s m/v5.json m/v5-copy.json || fail "manifest --output differs from stdout"
ok "manifest --output writes the same document"
run manifest-self model manifest m/v5.onnx --output m/v5.onnx
expect_fail manifest-self 2 "--output names the model itself"
cmp -s "$V5" m/v5.onnx || fail "manifest-self changed the model"

run via-json detect dog.jpg --json --model m/v5.json
expect_json via-json 1
[ "$(json_field via-json 'd["model"]["id"], d["model"]["version"]')" = "('v5', '1.0')" ] ||
  fail "via-json: $(cat log/via-json.out)"
[ "$(json_field via-json 'sorted({x["label"] for x in d["detections"]})')" = \
  "['bicycle', 'car', 'dog', 'truck']" ] || fail "via-json: labels: $(cat log/via-json.out)"
ok "detect --model m/v5.json uses the manifest"
run via-onnx detect dog.jpg --model m/v5.onnx
[ "$rc" -eq 0 ] && grep -q '^veil detect: model v5 1.0, .*manifest .*m/v5.json' log/via-onnx.err ||
  fail "via-onnx: the manifest beside the ONNX file was not used: $(cat log/via-onnx.err)"
ok "detect --model m/v5.onnx finds m/v5.json beside it"
run family-contradicts detect dog.jpg --model m/v5.json --family yolox
expect_fail family-contradicts 2 "contradicts the manifest"

echo "== a manifest with an altered digest is refused"
sed 's/"weights_sha256": "0c38c8da/"weights_sha256": "1c38c8da/' m/v5.json >m/altered.json
grep -q '1c38c8da' m/altered.json || fail "could not alter the digest"
ln -s v5.onnx m/altered.onnx
sed -i 's/"weights": "v5.onnx"/"weights": "altered.onnx"/' m/altered.json
run altered detect dog.jpg --json --model m/altered.json
expect_fail altered 1 "do not match the manifest"
grep -q 'SHA-256 is 0c38c8da.*the manifest pins 1c38c8da' log/altered.err ||
  fail "altered: the message does not name both digests: $(cat log/altered.err)"
run altered-onnx detect dog.jpg --json --model m/altered.onnx
expect_fail altered-onnx 1 "do not match the manifest"

echo "PASS: $checks checks"
