// The create page's size budget (services/web/static/js/sizes.js): the number it
// promises holds for any limit, and the files that do not fit are the ones named.
import assert from "node:assert/strict";
import { test } from "node:test";

import { encodePayload, paddedLength, sealSecret } from "../../services/web/static/js/envelope.js";
import { SEAL_BYTES, budget, fitFiles, formatSize, largestFrame } from "../../services/web/static/js/sizes.js";

const MiB = 1024 * 1024;
const LIMITS = [1100, 2000, 4096, 65536, 100_000, MiB, 3 * MiB + 12345, 256 * MiB];
const longest = "n".repeat(251) + ".bin"; // 255 bytes, the most a name may have

for (const limit of LIMITS) {
  test(`the largest frame under ${limit} bytes seals within it, one byte more does not`, () => {
    const frame = largestFrame(limit);
    assert.ok(paddedLength(frame) + SEAL_BYTES <= limit);
    assert.ok(paddedLength(frame + 1) + SEAL_BYTES > limit);
  });
}

for (const limit of LIMITS.filter((l) => l <= 4 * MiB)) {
  test(`a file of the promised size fits under ${limit} bytes, whatever its name`, async () => {
    const { shown } = budget(limit);
    const file = { name: longest, type: "t".repeat(255), data: new Uint8Array(shown), size: shown };
    const { ciphertext } = await sealSecret({ text: "", files: [file] });
    assert.ok(ciphertext.length <= limit, `${ciphertext.length} > ${limit}`);
    assert.deepEqual(fitFiles("", [file], budget(limit).frame).over, []);
    assert.equal(encodePayload({ files: [file] }).length, paddedLength(fitFiles("", [file], Infinity).weight));
  });
}

test("nothing fits under a limit below the smallest sealed secret", () => {
  assert.deepEqual(budget(1024), { frame: 0, shown: 0 });
});

test("the files that go over are named, in order, and removing them is enough", () => {
  const file = (name, size) => ({ name, type: "application/octet-stream", size });
  const { frame } = budget(MiB);
  const files = [file("a", 400_000), file("big", 2 * MiB), file("b", 400_000), file("c", 400_000)];
  const fit = fitFiles("some text", files, frame);
  assert.deepEqual(fit.over, [1, 3]);
  assert.equal(fit.textOver, false);
  assert.ok(fit.weight <= frame);
  assert.deepEqual(fitFiles("some text", [files[0], files[2]], frame).over, []);
  const long = "x".repeat(frame);
  assert.deepEqual(fitFiles(long, [files[0]], frame), { weight: 6 + frame, textOver: true, over: [0] });
});

test("a limit is written rounded down, sizes to the nearest", () => {
  assert.equal(formatSize(budget(MiB).shown, { down: true }), "1007 KB");
  assert.equal(formatSize(1.99 * MiB, { down: true }), "1.9 MB");
  assert.equal(formatSize(1.99 * MiB), "2.0 MB");
  assert.equal(formatSize(9.99 * 1024, { down: true }), "9.9 KB");
  assert.equal(formatSize(512), "512 bytes");
});
