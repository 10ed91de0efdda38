// esdk_peer.mjs: a long-running peer that drives the official AWS Encryption
// SDK for JavaScript (@aws-crypto/client-node) for Veil's interop tests.
//
// Protocol: JSON lines. Each line on stdin is one request; each request gets
// exactly one response line on stdout, in request order (blank lines are
// ignored). The peer never exits on a bad request; it exits when stdin closes.
// Every response line starts with '{'; drivers skip any other stdout line
// (Node itself prints a "SECURITY WARNING" line there under --security-revert).
//
//   {"op":"ping","id":N}
//     -> {"id":N,"ok":true,"version":"<client-node version>","node":"v20.x"}
//   {"op":"encrypt","id":N,"plaintext":"<base64>","encryptionContext":{...},
//    "suiteId":"0x0478","frameLength":N,"keyrings":[KEYRING...],
//    "commitmentPolicy":"REQUIRE_ENCRYPT_REQUIRE_DECRYPT" (optional),
//    "maxEncryptedDataKeys":N (optional)}
//     -> {"id":N,"ok":true,"ciphertext":"<base64>"}
//   {"op":"decrypt","id":N,"ciphertext":"<base64>","keyrings":[KEYRING...],
//    "commitmentPolicy":"REQUIRE_ENCRYPT_REQUIRE_DECRYPT" (optional),
//    "maxEncryptedDataKeys":N (optional)}
//     -> {"id":N,"ok":true,"plaintext":"<base64>","encryptionContext":{...},
//         "suiteId":"0x0578","frameLength":N}
//   any failure
//     -> {"id":N,"ok":false,"error":"<message>"}   (id is null if unreadable)
//
//   KEYRING = {"type":"raw-aes","providerId":"...","keyName":"...",
//              "key":"<base64, 16/24/32 bytes>","utf8Sorting":true (default)}
//           | {"type":"raw-rsa","providerId":"...","keyName":"...",
//              "publicKeyPem":"...","privateKeyPem":"...",
//              "padding":"pkcs1"|"oaep-sha1"|"oaep-sha256"|"oaep-sha384"|"oaep-sha512"}
//   With several keyrings, the first is the generator of a MultiKeyringNode and
//   the rest are its children. Either RSA PEM may be omitted (encrypt needs the
//   public key, decrypt the private key).
//
// suiteId is a hex string ("0x0478") or a number; commitmentPolicy defaults to
// REQUIRE_ENCRYPT_REQUIRE_DECRYPT for both operations, so non-committing suites
// need "FORBID_ENCRYPT_ALLOW_DECRYPT" (encrypt) or "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
// (decrypt). Always pass the suite explicitly: SDK defaults differ.
//
// Node flags: Node >= 18.19.1 / 20.11.1 refuses RSA PKCS#1 v1.5 private
// decryption (CVE-2023-46809, the Marvin attack), and the SDK then reports only
// "unencryptedDataKey has not been set". The C++ launcher
// (veil/testing/node_peer.h) therefore starts this script as
//   node --security-revert=CVE-2023-46809 interop/esdk_peer.mjs
// whenever PKCS#1 decryption is exercised. This is test tooling only.
//
// Keys: RawAesKeyringNode zeroes the key buffer it is given and rejects
// buffers that share Node's pool ("isolated buffer"), so every keyring is built
// from a fresh, unshared copy of the key, once per request.
//
// Encryption-context sorting: RawAesKeyringNode sorts EC keys with
// localeCompare unless `utf8Sorting: true` is set; the peer sets it by default
// so that its Raw AES AAD matches the specification (UTF-8 byte order).

import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'
import { constants as cryptoConstants } from 'node:crypto'

const require = createRequire(import.meta.url)
const {
  buildClient,
  CommitmentPolicy,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
  RawRsaKeyringNode,
  MultiKeyringNode,
} = require('@aws-crypto/client-node')
const CLIENT_NODE_VERSION = require('@aws-crypto/client-node/package.json').version

const AES_WRAPPING_SUITES = {
  16: RawAesWrappingSuiteIdentifier.AES128_GCM_IV12_TAG16_NO_PADDING,
  24: RawAesWrappingSuiteIdentifier.AES192_GCM_IV12_TAG16_NO_PADDING,
  32: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
}

const RSA_PADDINGS = {
  pkcs1: { padding: cryptoConstants.RSA_PKCS1_PADDING, oaepHash: undefined },
  'oaep-sha1': { padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
  'oaep-sha256': { padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
  'oaep-sha384': { padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha384' },
  'oaep-sha512': { padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha512' },
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/

function fail(message) {
  throw new Error(message)
}

function requireString(obj, field, where) {
  const v = obj[field]
  if (typeof v !== 'string') fail(`${where}: "${field}" must be a string`)
  return v
}

// Strict base64 decode: Buffer.from silently skips invalid characters.
function decodeBase64(text, where) {
  if (typeof text !== 'string') fail(`${where}: expected a base64 string`)
  if (text.length % 4 !== 0 || !BASE64_RE.test(text)) fail(`${where}: invalid base64`)
  return Buffer.from(text, 'base64')
}

// Returns a copy of `bytes` that owns its whole ArrayBuffer (byteOffset 0, not
// from Node's shared pool), as RawAesKeyringNode requires.
function isolatedCopy(bytes) {
  return new Uint8Array(bytes)
}

function parseSuiteId(value) {
  let id
  if (typeof value === 'number') {
    id = value
  } else if (typeof value === 'string' && /^0x[0-9a-fA-F]{1,4}$/.test(value)) {
    id = parseInt(value, 16)
  } else {
    fail('"suiteId" must be a hex string like "0x0478" or a number')
  }
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) fail(`"suiteId" out of range: ${value}`)
  return id
}

function formatSuiteId(id) {
  return '0x' + id.toString(16).padStart(4, '0')
}

function parseCommitmentPolicy(value) {
  if (value === undefined || value === null) return CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
  if (typeof value !== 'string' || !Object.hasOwn(CommitmentPolicy, value)) {
    fail(`unknown "commitmentPolicy": ${JSON.stringify(value)}`)
  }
  return CommitmentPolicy[value]
}

function buildClientFor(req) {
  const options = { commitmentPolicy: parseCommitmentPolicy(req.commitmentPolicy) }
  if (req.maxEncryptedDataKeys !== undefined) {
    const n = req.maxEncryptedDataKeys
    if (!Number.isInteger(n) || n < 1) fail('"maxEncryptedDataKeys" must be a positive integer')
    options.maxEncryptedDataKeys = n
  }
  return buildClient(options)
}

function buildAesKeyring(spec, where) {
  const keyNamespace = requireString(spec, 'providerId', where)
  const keyName = requireString(spec, 'keyName', where)
  const key = decodeBase64(spec.key, `${where}.key`)
  const wrappingSuite = AES_WRAPPING_SUITES[key.length]
  if (wrappingSuite === undefined) {
    fail(`${where}: AES key must be 16, 24 or 32 bytes, got ${key.length}`)
  }
  let utf8Sorting = true
  if (spec.utf8Sorting !== undefined) {
    if (typeof spec.utf8Sorting !== 'boolean') fail(`${where}: "utf8Sorting" must be a boolean`)
    utf8Sorting = spec.utf8Sorting
  }
  const unencryptedMasterKey = isolatedCopy(key)
  key.fill(0)
  return new RawAesKeyringNode({
    keyName,
    keyNamespace,
    unencryptedMasterKey,
    wrappingSuite,
    utf8Sorting,
  })
}

function buildRsaKeyring(spec, where) {
  const keyNamespace = requireString(spec, 'providerId', where)
  const keyName = requireString(spec, 'keyName', where)
  const paddingName = requireString(spec, 'padding', where)
  if (!Object.hasOwn(RSA_PADDINGS, paddingName)) {
    fail(`${where}: unknown "padding": ${JSON.stringify(paddingName)}`)
  }
  const { padding, oaepHash } = RSA_PADDINGS[paddingName]
  const rsaKey = {}
  if (spec.publicKeyPem !== undefined) rsaKey.publicKey = requireString(spec, 'publicKeyPem', where)
  if (spec.privateKeyPem !== undefined) rsaKey.privateKey = requireString(spec, 'privateKeyPem', where)
  if (rsaKey.publicKey === undefined && rsaKey.privateKey === undefined) {
    fail(`${where}: needs "publicKeyPem" and/or "privateKeyPem"`)
  }
  const input = { rsaKey, keyName, keyNamespace, padding }
  if (oaepHash !== undefined) input.oaepHash = oaepHash
  return new RawRsaKeyringNode(input)
}

function buildKeyring(specs) {
  if (!Array.isArray(specs) || specs.length === 0) fail('"keyrings" must be a non-empty array')
  const keyrings = specs.map((spec, i) => {
    const where = `keyrings[${i}]`
    if (spec === null || typeof spec !== 'object') fail(`${where}: must be an object`)
    switch (spec.type) {
      case 'raw-aes':
        return buildAesKeyring(spec, where)
      case 'raw-rsa':
        return buildRsaKeyring(spec, where)
      default:
        return fail(`${where}: unknown "type": ${JSON.stringify(spec.type)}`)
    }
  })
  if (keyrings.length === 1) return keyrings[0]
  const [generator, ...children] = keyrings
  return new MultiKeyringNode({ generator, children })
}

function parseEncryptionContext(value) {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) fail('"encryptionContext" must be an object')
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail(`"encryptionContext": value of ${JSON.stringify(k)} must be a string`)
  }
  return value
}

async function doEncrypt(req) {
  const plaintext = decodeBase64(req.plaintext, '"plaintext"')
  const encryptionContext = parseEncryptionContext(req.encryptionContext)
  const keyring = buildKeyring(req.keyrings)
  const options = { encryptionContext }
  if (req.suiteId !== undefined) options.suiteId = parseSuiteId(req.suiteId)
  if (req.frameLength !== undefined) {
    const n = req.frameLength
    if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) fail('"frameLength" must be in [1, 2^32-1]')
    options.frameLength = n
  }
  const { encrypt } = buildClientFor(req)
  const { result } = await encrypt(keyring, plaintext, options)
  return { ciphertext: Buffer.from(result.buffer, result.byteOffset, result.byteLength).toString('base64') }
}

async function doDecrypt(req) {
  const ciphertext = decodeBase64(req.ciphertext, '"ciphertext"')
  const keyring = buildKeyring(req.keyrings)
  const { decrypt } = buildClientFor(req)
  const { plaintext, messageHeader } = await decrypt(keyring, ciphertext)
  return {
    plaintext: Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength).toString('base64'),
    encryptionContext: messageHeader.encryptionContext,
    suiteId: formatSuiteId(messageHeader.suiteId),
    frameLength: messageHeader.frameLength,
  }
}

async function handle(line) {
  let req
  try {
    req = JSON.parse(line)
  } catch (e) {
    return { id: null, ok: false, error: `invalid JSON request: ${e.message}` }
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req)) {
    return { id: null, ok: false, error: 'request must be a JSON object' }
  }
  const id = req.id === undefined ? null : req.id
  try {
    let body
    switch (req.op) {
      case 'ping':
        body = { version: CLIENT_NODE_VERSION, node: process.version }
        break
      case 'encrypt':
        body = await doEncrypt(req)
        break
      case 'decrypt':
        body = await doDecrypt(req)
        break
      default:
        fail(`unknown "op": ${JSON.stringify(req.op)}`)
    }
    return { id, ok: true, ...body }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    return { id, ok: false, error: message || 'unknown error' }
  }
}

function respond(response) {
  process.stdout.write(JSON.stringify(response) + '\n')
}

// Anything that escapes a handler is reported on stderr; the peer keeps going.
process.on('uncaughtException', (e) => process.stderr.write(`esdk_peer: uncaught: ${e?.stack ?? e}\n`))
process.on('unhandledRejection', (e) => process.stderr.write(`esdk_peer: unhandled: ${e?.stack ?? e}\n`))
// A closed stdout means the driver is gone.
process.stdout.on('error', () => process.exit(0))

// Requests are handled one at a time so responses come back in order.
let queue = Promise.resolve()
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
lines.on('line', (line) => {
  if (line.trim() === '') return
  queue = queue.then(() => handle(line)).then(respond, (e) =>
    respond({ id: null, ok: false, error: `internal error: ${e?.message ?? e}` }),
  )
})
lines.on('close', () => {
  queue.then(() => process.exit(0))
})
