// esdk_kms_peer.mjs: encrypts or decrypts one file with the official AWS
// Encryption SDK for JavaScript and its KMS keyring (KmsKeyringNode),
// pointed at a KMS endpoint, for veil/kms/kms_interop_test.cc.
//
//   node esdk_kms_peer.mjs encrypt <key-id> <in> <out>   (context tenant=acme, suite 0x0578)
//   node esdk_kms_peer.mjs decrypt <key-arn> <in> <out>  (checks the context has tenant=acme)
//
// Environment: VEIL_INTEROP_DIR (the directory whose node_modules hold
// @aws-crypto/client-node and @aws-sdk/client-kms), VEIL_KMS_ENDPOINT,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION. Exits 0 on success, 1 with one
// line on stderr otherwise.
import { createRequire } from 'node:module'
import { readFileSync, writeFileSync } from 'node:fs'

const require = createRequire(`${process.env.VEIL_INTEROP_DIR}/package.json`)
const { buildClient, CommitmentPolicy, KmsKeyringNode } = require('@aws-crypto/client-node')
const { KMS } = require('@aws-sdk/client-kms')

async function main() {
  const [mode, keyId, inPath, outPath] = process.argv.slice(2)
  if (!outPath) throw new Error('usage: esdk_kms_peer.mjs encrypt|decrypt KEY IN OUT')
  // Aliases and key ids carry no region; AWS_REGION stands in for them.
  const clientProvider = (region) =>
    new KMS({
      region: region || process.env.AWS_REGION,
      endpoint: process.env.VEIL_KMS_ENDPOINT,
      credentials: {
        accessKeyId: process.env.AWS_ACCESS_KEY_ID,
        secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
      },
      maxAttempts: 1,
    })
  const keyring = new KmsKeyringNode({ clientProvider, generatorKeyId: keyId })
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
  const input = readFileSync(inPath)
  if (mode === 'encrypt') {
    const { result } = await encrypt(keyring, input, {
      encryptionContext: { tenant: 'acme' },
      suiteId: 0x0578,
    })
    writeFileSync(outPath, result)
  } else if (mode === 'decrypt') {
    const { plaintext, messageHeader } = await decrypt(keyring, input)
    if (messageHeader.encryptionContext.tenant !== 'acme') throw new Error('encryption context lost')
    writeFileSync(outPath, plaintext)
  } else {
    throw new Error(`unknown mode ${mode}`)
  }
}

main().catch((e) => {
  process.stderr.write(`esdk_kms_peer: ${e && e.message ? e.message : e}\n`)
  process.exit(1)
})
