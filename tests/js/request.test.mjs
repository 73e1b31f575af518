// The browser's requests (services/web/static/js/request.js) against the vectors that
// services/protocol/request.py passes too. Run with `node --test`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { ContentError, newContentKey } from "../../services/web/static/js/content.js";
import { b64uDecode as d, b64uEncode as e, EnvelopeError } from "../../services/web/static/js/envelope.js";
import * as request from "../../services/web/static/js/request.js";

const vectors = JSON.parse(readFileSync(new URL("../../docs/protocol-v2-vectors.json", import.meta.url)));

for (const vector of vectors.requests) {
  test(`request vector, passphrase ${vector.passphrase === null ? "none" : "set"}`, async () => {
    const fill = await request.fillKeys(d(vector.fill_key));
    assert.equal(e(fill.claim), vector.fill_claim);
    assert.equal(e(fill.note), vector.note_key);
    assert.equal(await request.openNote(d(vector.fill_key), d(vector.sealed_note)), vector.note);
    assert.equal(e(await request.sealNote(d(vector.fill_key), vector.note, d(vector.note_nonce))), vector.sealed_note);
    const privateKey = d(vector.private_key);
    assert.equal(e(await request.publicKey(privateKey)), vector.public_key);
    const collect = await request.collectKeys(privateKey, vector.passphrase);
    assert.equal(e(collect.claim), vector.collect_claim);
    assert.equal(e(collect.manage), vector.collect_manage);
    assert.equal(collect.unlock === null ? null : e(collect.unlock), vector.collect_unlock);
    const wrapped = await request.wrapForAsker(d(vector.public_key), d(vector.content_key), {
      ephemeral: d(vector.ephemeral_private),
      nonce: d(vector.wrap_nonce),
    });
    assert.equal(e(wrapped), vector.wrapped);
    assert.equal(e(await request.unwrapAsAsker(privateKey, wrapped)), vector.content_key);
    await assert.rejects(request.unwrapAsAsker(privateKey, d(vector.wrapped_to_another_key)), ContentError);
  });
}

test("an answer opens only with the asker's private key", async () => {
  const asker = await request.newKeyPair();
  assert.deepEqual(await request.publicKey(asker.privateKey), asker.publicKey);
  const contentKey = newContentKey();
  const wrapped = await request.wrapForAsker(asker.publicKey, contentKey);
  assert.equal(wrapped.length, request.WRAPPED_ANSWER_BYTES);
  assert.deepEqual(await request.unwrapAsAsker(asker.privateKey, wrapped), contentKey);
  await assert.rejects(request.unwrapAsAsker((await request.newKeyPair()).privateKey, wrapped), ContentError);
  await assert.rejects(request.wrapForAsker(new Uint8Array(32), contentKey), EnvelopeError);
});
