// Share and receipt links as the pages read them (services/web/static/js/links.js):
// what chat and mail programs do to a link is forgiven, a broken link is named
// exactly. Run with `node --test`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { b64uEncode } from "../../services/web/static/js/envelope.js";
import { MalformedLink, currentLink } from "../../services/web/static/js/links.js";

const ID = "AbCdEfGhIjKlMnOpQrSt_-";
const KEY = Uint8Array.from({ length: 32 }, (_, n) => (n * 37 + 11) % 256);
const K = b64uEncode(KEY);
const at = (pathname, hash = "") => ({ pathname, hash });

function refused(kind, where) {
  try {
    currentLink(kind, where);
  } catch (problem) {
    assert.ok(problem instanceof MalformedLink);
    return problem;
  }
  assert.fail("the link was taken");
}

test("a whole link is read as it is", () => {
  const link = currentLink("s", at(`/s/${ID}`, `#${K}`));
  assert.deepEqual([link.id, link.key, link.path, link.repaired], [ID, KEY, `/s/${ID}`, false]);
});

test("a link under a path prefix keeps its prefix", () => {
  const link = currentLink("r", at(`/secrets/r/${ID}/`, `#${K}`));
  assert.deepEqual([link.id, link.path, link.repaired], [ID, `/secrets/r/${ID}`, true]);
});

// What browsers leave in location.hash when a chat or mail program glued something
// on: "." ")" "," "!" stay as they are, quotes, spaces and "…" come percent-encoded.
for (const glued of [".", ")", ",", "!", ").", "%22", "'", "%E2%80%9D", "%E2%80%99", "%E2%80%A6", "%3E", "%20", "]", ";", ":", "?"]) {
  test(`a key with ${JSON.stringify(glued)} glued on is repaired`, () => {
    const link = currentLink("s", at(`/s/${ID}`, `#${K}${glued}`));
    assert.deepEqual([link.id, link.key, link.repaired], [ID, KEY, true]);
  });
}

test("an id with punctuation glued on and no key says the key is missing", () => {
  for (const glued of [".", ")", "%22"]) {
    const problem = refused("s", at(`/s/${ID}${glued}`));
    assert.equal(problem.reason, "no-key");
    assert.equal(problem.id, ID);
  }
});

test("%23 in place of # is read as #", () => {
  for (const hash of ["%23"]) {
    const link = currentLink("s", at(`/s/${ID}${hash}${K}`));
    assert.deepEqual([link.id, link.key, link.path, link.repaired], [ID, KEY, `/s/${ID}`, true]);
  }
  const glued = currentLink("s", at(`/s/${ID}%23${K}.`));
  assert.deepEqual([glued.id, glued.key], [ID, KEY]);
});

test("%23 with nothing after it says the key is missing", () => {
  assert.equal(refused("s", at(`/s/${ID}%23`)).reason, "no-key");
});

test("a missing key sends the recipient to the sender", () => {
  for (const hash of ["", "#", "#)."]) {
    const problem = refused("s", at(`/s/${ID}`, hash));
    assert.equal(problem.reason, "no-key");
    assert.equal(problem.id, ID);
    assert.match(problem.message, /missing its key.*Ask the sender for the full link/);
  }
});

test("a receipt link without its key sends the sender to their own receipt link", () => {
  const problem = refused("r", at(`/r/${ID}`));
  assert.equal(problem.reason, "no-key");
  assert.match(problem.message, /receipt link is missing its key/);
  assert.match(problem.message, /receipt link you got when you created the secret/);
  assert.doesNotMatch(problem.message, /ask the sender/i);
});

test("a cut or altered key is damaged, never read as another key", () => {
  for (const hash of [`#${K.slice(0, 42)}`, `#${K.slice(1)}`, `#${K}A`, `#${K.slice(0, 20)}*${K.slice(21)}`, "#damaged"]) {
    const problem = refused("s", at(`/s/${ID}`, hash));
    assert.equal(problem.reason, "key", hash);
    assert.match(problem.message, /damaged/);
  }
  assert.match(refused("r", at(`/r/${ID}`, "#damaged")).message, /receipt link you got when you created the secret/);
});

test("a damaged id is named as such", () => {
  for (const pathname of ["/s/short", `/s/${ID}x`, `/s/${ID.slice(1)}`, "/s/", `/r/${ID}`]) {
    const problem = refused("s", at(pathname, `#${K}`));
    assert.equal(problem.reason, "id", pathname);
    assert.match(problem.message, /id is damaged/);
  }
});

test("the key is never part of a message", () => {
  for (const hash of [`#${K.slice(0, 42)}`, `#${K}A`]) {
    assert.ok(!refused("s", at(`/s/${ID}`, hash)).message.includes(K.slice(0, 12)));
  }
});

test("a fill link carries the fill key and the public key; a collect link the private key", () => {
  const both = Uint8Array.from({ length: 64 }, (_, n) => n);
  const fill = currentLink("q", at(`/q/${ID}`, `#${b64uEncode(both)}`));
  assert.deepEqual([fill.id, fill.key, fill.path], [ID, both, `/q/${ID}`]);
  assert.equal(refused("q", at(`/q/${ID}`, `#${K}`)).reason, "key");
  const collect = currentLink("c", at(`/c/${ID}`, `#${K}`));
  assert.deepEqual([collect.id, collect.key], [ID, KEY]);
  assert.equal(refused("c", at(`/c/${ID}`, `#${b64uEncode(both)}`)).reason, "key");
  assert.equal(refused("c", at(`/s/${ID}`, `#${K}`)).reason, "id");
});
