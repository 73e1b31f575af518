// The browser envelope (services/web/static/js/envelope.js) against the protocol
// v1 test vectors that the Python envelope passes too. Run with `node --test`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as envelope from "../../services/web/static/js/envelope.js";

const vectors = JSON.parse(readFileSync(new URL("../../docs/protocol-v1-vectors.json", import.meta.url)));
const { b64uDecode: d, b64uEncode: e } = envelope;

const payloadOf = (vector) => ({
  text: vector.text,
  files: vector.files.map((f) => ({ name: f.name, type: f.type, data: d(f.data) })),
});

for (const vector of vectors.secrets) {
  test(`secret vector: ${vector.name}`, async () => {
    const sealed = await envelope.sealSecret(payloadOf(vector), vector.passphrase, {
      linkKey: d(vector.link_key),
      nonce: d(vector.nonce),
    });
    assert.equal(e(sealed.keys.claim), vector.claim);
    assert.equal(e(await envelope.verifier(sealed.keys.claim)), vector.claim_verifier);
    assert.equal(e(sealed.keys.encrypt), vector.encrypt_key);
    assert.equal(sealed.keys.unlock === null ? null : e(sealed.keys.unlock), vector.unlock);
    assert.equal(e(envelope.encodePayload(payloadOf(vector))), vector.padded_plaintext);
    assert.equal(e(sealed.ciphertext), vector.ciphertext);
    const opened = await envelope.openSecret(d(vector.ciphertext), sealed.keys);
    assert.deepEqual(opened, payloadOf(vector));
  });
}

test("receipt vector", async () => {
  const [vector] = vectors.receipts;
  const keys = await envelope.deriveReceiptKeys(d(vector.receipt_key));
  assert.equal(e(keys.manage), vector.manage);
  assert.equal(e(keys.label), vector.label_key);
  const sealed = await envelope.seal(keys.label, envelope.encodeLabel(vector.label), d(vector.nonce));
  assert.equal(e(sealed), vector.sealed_label);
  assert.equal(envelope.decodeLabel(await envelope.unseal(keys.label, sealed)), vector.label);
});

test("padding buckets", () => {
  for (const row of vectors.padding) {
    assert.equal(envelope.paddedLength(row.framed_length), row.padded_length, `length ${row.framed_length}`);
  }
});

test("wrong key and tampering do not decrypt", async () => {
  const sealed = await envelope.sealSecret({ text: "x" });
  const other = await envelope.deriveSecretKeys(envelope.randomBytes(32));
  await assert.rejects(envelope.openSecret(sealed.ciphertext, other), envelope.EnvelopeError);
  const tampered = sealed.ciphertext.slice();
  tampered[tampered.length - 1] ^= 1;
  await assert.rejects(envelope.openSecret(tampered, sealed.keys), envelope.EnvelopeError);
});

test("malformed frames are refused", () => {
  for (const framed of [[], [0, 0, 0, 5, 97], [0, 0, 0, 1, 0xff, 0, 0], [0, 0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1]]) {
    assert.throws(() => envelope.decodePayload(Uint8Array.from(framed)), envelope.EnvelopeError);
  }
});

test("a frame of more than 1000 files is refused (review finding 12)", () => {
  const file = [0, 1, 97, 0, 0, 0, 0, 0, 0]; // name "a", no type, no bytes
  const frame = (count) => Uint8Array.from([0, 0, 0, 0, count >> 8, count & 0xff, ...Array(count).fill(file).flat()]);
  assert.equal(envelope.decodePayload(frame(1000)).files.length, 1000);
  assert.throws(() => envelope.decodePayload(frame(1001)), envelope.EnvelopeError);
});

test("base64url decoding is strict", () => {
  for (const text of ["a", "ab=", "a+b", "a/b", "é", "AB", "A B"]) {
    assert.throws(() => d(text), envelope.EnvelopeError, text);
  }
  for (let size = 0; size < 70; size += 1) {
    const data = Uint8Array.from({ length: size }, (_, i) => i);
    assert.deepEqual(d(e(data)), data);
  }
});

test("prepareSecret posts only ciphertext and verifiers", async () => {
  const prepared = await envelope.prepareSecret({ text: "hunter2-hunter2" }, { passphrase: "pw", label: "l", maxViews: 2 });
  assert.deepEqual(Object.keys(prepared.body).sort(), [
    "ciphertext", "claim_verifier", "label", "manage_verifier", "max_views", "unlock_verifier",
  ]);
  assert.ok(!JSON.stringify(prepared.body).includes("hunter2"));
});
