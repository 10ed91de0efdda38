// @aws-sdk/client-kms (the official JavaScript SDK v3) against veil-kms.
// Run by sdk_js_test.py, which starts the server and passes
// VEIL_KMS_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// VEIL_INTEROP_DIR (where interop/package.json pins the SDK).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.VEIL_INTEROP_DIR, "package.json"));
const kms = require("@aws-sdk/client-kms");

const client = new kms.KMSClient({
  endpoint: process.env.VEIL_KMS_ENDPOINT,
  region: "us-east-1",
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
  },
  maxAttempts: 1,
});
const send = (Command, input) => client.send(new Command(input));

async function expectError(name, Command, input) {
  try {
    await send(Command, input);
  } catch (e) {
    assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
    assert.equal(e.$metadata.httpStatusCode, 400);
    return;
  }
  assert.fail(`expected ${name}`);
}

const { KeyMetadata: key } = await send(kms.CreateKeyCommand, { Description: "js sdk" });
assert.equal(key.KeyState, "Enabled");
assert.ok(key.CreationDate instanceof Date);
assert.match(key.Arn, /^arn:aws:kms:us-east-1:111122223333:key\/[0-9a-f-]{36}$/);
console.log("ok CreateKey");

await send(kms.CreateAliasCommand, { AliasName: "alias/js", TargetKeyId: key.KeyId });
const ec = { tenant: "acme" };
const plaintext = new TextEncoder().encode("from the JavaScript SDK");
const enc = await send(kms.EncryptCommand, {
  KeyId: "alias/js", Plaintext: plaintext, EncryptionContext: ec,
});
assert.equal(enc.KeyId, key.Arn);
const dec = await send(kms.DecryptCommand, {
  CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec,
});
assert.deepEqual(Buffer.from(dec.Plaintext), Buffer.from(plaintext));
await expectError("InvalidCiphertextException", kms.DecryptCommand, {
  CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { tenant: "globex" },
});
console.log("ok Encrypt/Decrypt");

const dk = await send(kms.GenerateDataKeyCommand, { KeyId: key.KeyId, KeySpec: "AES_256" });
assert.equal(dk.Plaintext.length, 32);
const dk2 = await send(kms.DecryptCommand, { CiphertextBlob: dk.CiphertextBlob });
assert.deepEqual(Buffer.from(dk2.Plaintext), Buffer.from(dk.Plaintext));
console.log("ok GenerateDataKey");

const { Aliases } = await send(kms.ListAliasesCommand, { KeyId: key.KeyId });
assert.deepEqual(Aliases.map((a) => a.AliasName), ["alias/js"]);
await send(kms.DisableKeyCommand, { KeyId: key.KeyId });
await expectError("DisabledException", kms.EncryptCommand, { KeyId: key.KeyId, Plaintext: plaintext });
await send(kms.EnableKeyCommand, { KeyId: key.KeyId });
const sched = await send(kms.ScheduleKeyDeletionCommand, { KeyId: key.KeyId, PendingWindowInDays: 7 });
assert.equal(sched.KeyState, "PendingDeletion");
assert.ok(sched.DeletionDate instanceof Date);
await expectError("NotFoundException", kms.DescribeKeyCommand, { KeyId: "alias/none" });
console.log("ok aliases, key states, errors");
console.log("PASS: @aws-sdk/client-kms against veil-kms");
