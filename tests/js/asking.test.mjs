// The request pages' bodies and words (services/web/static/js/asking.js), with no
// DOM. Run with `node --test`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { prepareAnswer, prepareAsk, requestLife, requestStage, splitFillLinkKey } from "../../services/web/static/js/asking.js";
import { ContentSealer, newContentKey } from "../../services/web/static/js/content.js";
import { b64uDecode as d, b64uEncode as e, verifier } from "../../services/web/static/js/envelope.js";
import { collectKeys, fillKeys, openNote, publicKey, unwrapAsAsker } from "../../services/web/static/js/request.js";

const ASK = { filesAllowed: true, maxContentBytes: 4096, maxViews: 2, expiresIn: 3600 };

test("an ask carries verifiers and the note sealed; its links' keys stay here", async () => {
  const asked = await prepareAsk({ ...ASK, note: "the staging key, please" });
  const { fillKey, publicKey: fillPublic } = splitFillLinkKey(asked.fillLinkKey);
  assert.equal(asked.fillLinkKey.length, 64);
  assert.deepEqual(fillPublic, await publicKey(asked.collectLinkKey));
  const { body } = asked;
  assert.equal(body.fill_verifier, e(await verifier((await fillKeys(fillKey)).claim)));
  assert.equal(await openNote(fillKey, d(body.note)), "the staging key, please");
  const collect = await collectKeys(asked.collectLinkKey);
  assert.equal(body.manage_verifier, e(await verifier(collect.manage)));
  assert.deepEqual(body.answer, { claim_verifier: e(await verifier(collect.claim)), max_views: 2 });
  assert.deepEqual(
    [body.files_allowed, body.max_content_bytes, body.expires_in],
    [true, 4096, 3600],
  );
  assert.equal(JSON.stringify(body).includes(e(asked.collectLinkKey)), false);
  assert.equal(JSON.stringify(body).includes(e(fillKey)), false);
  assert.deepEqual(Object.keys(body).sort(), ["answer", "expires_in", "files_allowed", "fill_verifier", "manage_verifier", "max_content_bytes", "note"]);
});

test("a passphrase adds the answer's unlock verifier; notify and email only when chosen", async () => {
  const asked = await prepareAsk({ ...ASK, note: "", passphrase: "otter granite", notify: ["ops"], email: true });
  const collect = await collectKeys(asked.collectLinkKey, "otter granite");
  assert.equal(asked.body.answer.unlock_verifier, e(await verifier(collect.unlock)));
  assert.deepEqual(asked.body.notify, ["ops"]);
  assert.equal(asked.body.email, true);
  assert.equal("note" in asked.body, false);
  const plain = await prepareAsk(ASK);
  assert.equal("unlock_verifier" in plain.body.answer, false);
  assert.equal("notify" in plain.body || "email" in plain.body, false);
});

test("an answer is wrapped to the asker's key alone, with the fill link's claim", async () => {
  const asked = await prepareAsk(ASK);
  const contentKey = newContentKey();
  const sealer = new ContentSealer(contentKey, { text: "hunter2" }, 1024);
  const body = await prepareAnswer(sealer, contentKey, asked.fillLinkKey);
  const { fillKey } = splitFillLinkKey(asked.fillLinkKey);
  assert.equal(body.claim, e((await fillKeys(fillKey)).claim));
  assert.deepEqual(
    [body.segment_size, body.segment_count, body.sealed_bytes],
    [1024, sealer.segmentCount, sealer.sealedLength],
  );
  assert.deepEqual(body.first_segment, e(await sealer.segment(0)));
  assert.deepEqual(await unwrapAsAsker(asked.collectLinkKey, d(body.wrapped_key)), contentKey);
  const other = await prepareAsk(ASK);
  await assert.rejects(unwrapAsAsker(other.collectLinkKey, d(body.wrapped_key)));
});

const ASKED = { created_at: "2025-01-01T10:00:00Z", expires_at: "2025-01-02T10:00:00Z", opened_at: null, answered_at: null };

test("a request's life, oldest first, with the answer's receipt after it", () => {
  const answered = { ...ASKED, state: "answered", opened_at: "2025-01-01T10:05:00Z", answered_at: "2025-01-01T10:07:00Z" };
  const receipt = {
    state: "viewed",
    events: [
      { event: "viewed", at: "2025-01-01T11:00:00Z" },
      { event: "unlock_failed", at: "2025-01-01T10:59:00Z" },
      { event: "created", at: "2025-01-01T10:07:00Z" },
    ],
  };
  assert.deepEqual(
    requestLife(answered, receipt).map((step) => step.what),
    ["You asked", "They opened your link", "They answered", "A wrong passphrase was typed for the answer", "You opened the answer"],
  );
  assert.deepEqual(
    requestLife({ ...ASKED, state: "expired" }).map((step) => [step.what, step.at]),
    [["You asked", ASKED.created_at], ["The request expired unanswered", ASKED.expires_at]],
  );
});

test("a request's stage: watched while open or arriving, then answered, collected, or ended", () => {
  const stage = (request, receipt) => {
    const { stage: name, live } = requestStage({ ...ASKED, ...request }, receipt);
    return [name, live];
  };
  assert.deepEqual(stage({ state: "open" }), ["waiting", true]);
  assert.deepEqual(stage({ state: "open", opened_at: "2025-01-01T10:05:00Z" }), ["opened", true]);
  assert.deepEqual(stage({ state: "expired" }), ["expired", false]);
  // Answered, its segments still arriving: watched until the answer can be opened.
  assert.deepEqual(stage({ state: "answered", uploading: true }), ["arriving", true]);
  assert.deepEqual(stage({ state: "answered" }, { state: "active" }), ["answered", false]);
  // Answered long ago, its receipt purged since: nothing is there to open.
  assert.deepEqual(stage({ state: "answered" }, null), ["ended", false]);
  assert.deepEqual(stage({ state: "answered" }, { state: "viewed" }), ["collected", false]);
  assert.deepEqual(stage({ state: "answered" }, { state: "locked" }), ["ended", false]);
  assert.match(requestStage({ ...ASKED, state: "answered" }, { state: "locked" }).sentence, /too many wrong passphrases/);
});
