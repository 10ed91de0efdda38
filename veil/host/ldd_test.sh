#!/usr/bin/env bash
# veil-host must not be able to decrypt: its binary may not load OpenSSL
# (libssl, libcrypto), OpenCV or Debian's OpenSSL-linked cpp-httplib.
# Usage: ldd_test.sh path/to/veil-host
set -euo pipefail
bin="$1"
deps="$(ldd "$bin")"
echo "$deps"
if grep -Ei 'libssl|libcrypto|libopencv|httplib' <<<"$deps"; then
  echo "FAIL: veil-host loads a library that can decrypt (above)"
  exit 1
fi
# Nor may a static copy of them be linked in.
if nm -C "$bin" 2>/dev/null | grep -Eq ' (EVP_|SSL_CTX_|CRYPTO_memcmp)| cv::'; then
  echo "FAIL: veil-host contains OpenSSL or OpenCV symbols"
  exit 1
fi
echo "ok: veil-host loads no libssl, libcrypto, libopencv or cpp-httplib"
