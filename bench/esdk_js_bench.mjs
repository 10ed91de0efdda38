// esdk_js_bench.mjs: throughput baseline of the official AWS Encryption SDK
// for JavaScript (@aws-crypto/client-node), to compare with Veil's C++ ESDK.
//
// Encrypts and decrypts random plaintexts of 4 KiB, 64 KiB, 1 MiB and 16 MiB
// with a raw AES-256 keyring, for suites 0x0478 and 0x0578 and frame lengths
// 4096 and 65536. Each case is warmed up, then repeated until it has run for
// at least VEIL_BENCH_MIN_TIME seconds (default 0.5; e.g. 0.01 for CI smoke
// runs). Output is one JSON object per line on stdout:
//
//   {"impl":"js","op":"encrypt"|"decrypt","size":N,"suite":"0x0478",
//    "frame":N,"mb_per_s":X,"us_per_op":Y}
//
// size is the plaintext length in bytes; mb_per_s is plaintext bytes / 10^6
// per second; us_per_op is wall-clock microseconds per whole-message
// operation (keyring and key derivation included).
//
// The SDK is loaded from interop/node_modules (installed by scripts/bootstrap),
// so the repository has a single npm install. Run: node bench/esdk_js_bench.mjs

import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'

const interopRequire = createRequire(new URL('../interop/package.json', import.meta.url))
let sdk
try {
  sdk = interopRequire('@aws-crypto/client-node')
} catch (e) {
  process.stderr.write(
    `esdk_js_bench: cannot load @aws-crypto/client-node from interop/node_modules ` +
      `(run scripts/bootstrap): ${e.message}\n`,
  )
  process.exit(1)
}
const { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } = sdk

const SIZES = [4 * 1024, 64 * 1024, 1024 * 1024, 16 * 1024 * 1024]
const SUITES = [0x0478, 0x0578]
const FRAMES = [4096, 65536]

function minTimeSeconds() {
  const raw = process.env.VEIL_BENCH_MIN_TIME
  if (raw === undefined || raw === '') return 0.5
  const v = Number(raw)
  if (!Number.isFinite(v) || v < 0) {
    process.stderr.write(`esdk_js_bench: VEIL_BENCH_MIN_TIME must be a non-negative number, got ${raw}\n`)
    process.exit(2)
  }
  return v
}

// RawAesKeyringNode zeroes the key it is given and requires an unshared
// buffer, so it gets its own copy.
function makeKeyring(key) {
  return new RawAesKeyringNode({
    keyName: 'bench-aes-256',
    keyNamespace: 'veil-bench',
    unencryptedMasterKey: new Uint8Array(key),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
    utf8Sorting: true,
  })
}

// Runs `op` a few times untimed, then until `minTime` seconds have passed
// (at least once). Returns [iterations, seconds].
async function measure(op, size, minTime) {
  const warmups = size >= 1024 * 1024 ? 1 : 5
  for (let i = 0; i < warmups; i++) await op()
  let iterations = 0
  const start = performance.now()
  let elapsed = 0
  do {
    await op()
    iterations++
    elapsed = (performance.now() - start) / 1000
  } while (elapsed < minTime)
  return [iterations, elapsed]
}

function report(op, size, suite, frame, iterations, seconds) {
  const line = {
    impl: 'js',
    op,
    size,
    suite: '0x' + suite.toString(16).padStart(4, '0'),
    frame,
    mb_per_s: Number(((size * iterations) / seconds / 1e6).toFixed(2)),
    us_per_op: Number(((seconds / iterations) * 1e6).toFixed(1)),
  }
  process.stdout.write(JSON.stringify(line) + '\n')
}

async function main() {
  const minTime = minTimeSeconds()
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
  const keyring = makeKeyring(randomBytes(32))
  const encryptionContext = { purpose: 'veil-bench' }

  for (const size of SIZES) {
    const plaintext = randomBytes(size)
    for (const suite of SUITES) {
      for (const frame of FRAMES) {
        const options = { suiteId: suite, frameLength: frame, encryptionContext }
        const encryptOnce = () => encrypt(keyring, plaintext, options)
        const [encIters, encSeconds] = await measure(encryptOnce, size, minTime)
        report('encrypt', size, suite, frame, encIters, encSeconds)

        const { result: ciphertext } = await encryptOnce()
        const decryptOnce = async () => {
          const { plaintext: out } = await decrypt(keyring, ciphertext)
          if (out.byteLength !== size) throw new Error(`decrypt returned ${out.byteLength} bytes, want ${size}`)
        }
        const [decIters, decSeconds] = await measure(decryptOnce, size, minTime)
        report('decrypt', size, suite, frame, decIters, decSeconds)
      }
    }
  }
}

main().catch((e) => {
  process.stderr.write(`esdk_js_bench: ${e?.stack ?? e}\n`)
  process.exit(1)
})
