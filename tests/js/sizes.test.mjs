// The create page's size budget (services/web/static/js/sizes.js): it states the
// server's max_content_bytes, it weighs a content as the v2 sealer does, and the
// files that do not fit are the ones named.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ContentSealer, paddedLength } from "../../services/web/static/js/content.js";
import { budget, fileType, fitFiles, formatSize, largestFrame } from "../../services/web/static/js/sizes.js";

const MiB = 1024 * 1024;
const KEY = new Uint8Array(32);
const longest = "n".repeat(251) + ".bin"; // 255 bytes, the most a name may have

/** Files as the page holds them (File-like: name, type, size) and as the sealer takes them. */
const file = (name, size, type = "") => ({ name, type, size });
const sealable = (files) => files.map((f) => ({ name: f.name, type: fileType(f), blob: new Blob([new Uint8Array(f.size)]) }));

test("the number stated is the limit itself, for any limit", () => {
  for (const limit of [1024, 4096, 100_000, MiB, 3 * MiB + 12345, 100 * MiB]) {
    assert.deepEqual(budget(limit), { frame: limit, shown: limit });
    assert.equal(largestFrame(limit), limit);
  }
  assert.equal(formatSize(budget(100 * MiB).shown, { down: true }), "100.0 MB");
});

test("the page weighs a content as the sealer counts its plaintext total", () => {
  const cases = [
    ["", [file("a.bin", 0)]],
    ["some text, é and 🔑", [file(longest, 5000, "t".repeat(255)), file("b", 1, "text/plain")]],
    ["only text", []],
    ["", Array.from({ length: 40 }, (_, i) => file(`f${i}`, i * 7))],
  ];
  for (const [text, files] of cases) {
    const sealer = new ContentSealer(KEY, { text, files: sealable(files) }, 1024);
    assert.equal(fitFiles(text, files, Infinity).weight, sealer.plaintextLength);
  }
});

test("a content of exactly the limit fits, one byte more does not", () => {
  const limit = 3 * MiB + 12345;
  const fixed = fitFiles("x", [file(longest, 0)], Infinity).weight;
  const exact = [file(longest, limit - fixed)];
  assert.deepEqual(fitFiles("x", exact, limit).over, []);
  assert.deepEqual(fitFiles("x", [file(longest, limit - fixed + 1)], limit).over, [0]);
  // What the server then checks, sealed_bytes <= max_sealed_bytes, follows: sealing grows with the total.
  const sealer = new ContentSealer(KEY, { text: "x", files: sealable(exact) }, 64 * 1024);
  assert.equal(sealer.plaintextLength, limit);
  assert.equal(sealer.sealedLength, paddedLength(limit) + 16 * Math.ceil(paddedLength(limit) / (64 * 1024)));
});

test("the files that go over are named, in order, and removing them is enough", () => {
  const frame = budget(MiB).frame;
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
  assert.equal(formatSize(1007 * 1024, { down: true }), "1007 KB");
  assert.equal(formatSize(1.99 * MiB, { down: true }), "1.9 MB");
  assert.equal(formatSize(1.99 * MiB), "2.0 MB");
  assert.equal(formatSize(9.99 * 1024, { down: true }), "9.9 KB");
  assert.equal(formatSize(512), "512 bytes");
  assert.equal(formatSize(1), "1 byte");
  assert.equal(formatSize(1024 * MiB), "1024.0 MB"); // not grouped, as the command line writes it
});
