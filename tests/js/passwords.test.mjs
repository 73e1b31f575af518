// The password generator of the create page (services/web/static/js/passwords.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { PASSWORD_KINDS, WORD_COUNT, generate } from "../../services/web/static/js/passwords.js";

test("characters: as many as asked, from the alphabet, with their strength", () => {
  for (const length of [8, 24, 128]) {
    const { value, bits } = generate("characters", length);
    assert.match(value, new RegExp(`^[A-Za-z2-9_.!@#%+=-]{${length}}$`));
    assert.equal(bits, Math.floor(Math.log2(66) * length));
  }
});

test("words: as many as asked, lower case, joined by hyphens", () => {
  const { value, bits } = generate("words", 7);
  assert.match(value, /^[a-z]{3,8}(-[a-z]{3,8}){6}$/);
  assert.ok(bits >= 70, String(bits));
  assert.ok(WORD_COUNT >= 1024);
});

test("a length out of range, or an unknown kind, is refused with the range", () => {
  for (const [kind, spec] of Object.entries(PASSWORD_KINDS)) {
    assert.throws(() => generate(kind, spec.min - 1), new RegExp(`between ${spec.min} and ${spec.max}`));
    assert.throws(() => generate(kind, spec.max + 1), RangeError);
    assert.throws(() => generate(kind, "2.5"), RangeError);
  }
  assert.throws(() => generate("emoji", 5), RangeError);
});

test("no two generated passwords are the same", () => {
  const seen = new Set(Array.from({ length: 200 }, () => generate("words", 4).value));
  assert.equal(seen.size, 200);
});
