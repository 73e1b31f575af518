// The browser's protocol v2 (services/web/static/js/content.js) against the vectors
// that the Python content passes too, every tamper case, and streams far larger
// than a segment. Run with `node --test`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as content from "../../services/web/static/js/content.js";
import * as envelope from "../../services/web/static/js/envelope.js";
import { b64uDecode as d, b64uEncode as e } from "../../services/web/static/js/envelope.js";

const vectors = JSON.parse(readFileSync(new URL("../../docs/protocol-v2-vectors.json", import.meta.url)));
const v1 = JSON.parse(readFileSync(new URL("../../docs/protocol-v1-vectors.json", import.meta.url)));
const contents = new Map(vectors.contents.map((vector) => [vector.name, vector]));
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);

const filesOf = (vector) => vector.files.map((f) => ({ name: f.name, type: f.type, blob: new Blob([d(f.data)]) }));

async function collect(iterable) {
  const out = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** The header, and each file's bytes joined. */
async function openAll(key, segments, segmentSize) {
  const items = await collect(new content.ContentOpener(key, segments, segmentSize));
  const { header } = items.shift();
  const data = header.files.map(() => []);
  for (const { file, data: chunk } of items) data[file].push(...chunk);
  return { header, data: data.map((bytes) => Uint8Array.from(bytes)) };
}

async function seal(text, files, segmentSize = 1024) {
  const blobs = files.map(([name, data]) => ({ name, type: "", blob: new Blob([data]) }));
  return collect(new content.ContentSealer(KEY, { text, files: blobs }, segmentSize));
}

for (const vector of vectors.links) {
  test(`link vector: ${vector.name}`, async () => {
    const keys = await content.deriveLinkKeys(d(vector.link_key), vector.passphrase);
    assert.equal(e(keys.claim), vector.claim);
    assert.equal(keys.unlock === null ? null : e(keys.unlock), vector.unlock);
    assert.equal(e(keys.wrap), vector.wrap_key);
    const same = v1.secrets.find((s) => s.link_key === vector.link_key && s.passphrase === vector.passphrase);
    assert.deepEqual([vector.claim, vector.unlock], [same.claim, same.unlock], "the proofs are v1's");
    const wrapped = await content.wrapContentKey(keys.wrap, d(vector.content_key), d(vector.nonce));
    assert.equal(e(wrapped), vector.wrapped);
    assert.equal(wrapped.length, content.WRAPPED_BYTES);
    assert.equal(e(await content.unwrapContentKey(keys.wrap, wrapped)), vector.content_key);
    if (vector.passphrase !== null) {
      const wrong = await content.deriveLinkKeys(d(vector.link_key), vector.wrong_passphrase);
      await assert.rejects(content.unwrapContentKey(wrong.wrap, wrapped), /does not open/);
    }
  });
}

for (const tampered of vectors.tampered_wraps) {
  test(`tampered wrapped key: ${tampered.name}`, async () => {
    await assert.rejects(content.unwrapContentKey(d(tampered.wrap_key), d(tampered.wrapped)), (error) => {
      assert.ok(error instanceof content.ContentError, error);
      assert.ok(error.message.includes(tampered.error), error.message);
      return true;
    });
  });
}

for (const vector of vectors.contents) {
  test(`content vector: ${vector.name}`, async () => {
    const key = d(vector.content_key);
    assert.equal(e(await content.segmentKey(key)), vector.segment_key);
    const sealer = new content.ContentSealer(key, { text: vector.text, files: filesOf(vector) }, vector.segment_size);
    assert.equal(e(sealer.encodedHeader), vector.header);
    assert.equal(sealer.plaintextLength, vector.plaintext_length);
    assert.equal(sealer.paddedLength, vector.padded_length);
    const segments = await collect(sealer);
    assert.deepEqual(segments.map(e), vector.segments);
    assert.equal(sealer.segmentCount, segments.length);
    assert.equal(sealer.sealedLength, segments.reduce((sum, s) => sum + s.length, 0));
    const { header, data } = await openAll(key, vector.segments.map(d), vector.segment_size);
    assert.equal(header.text, vector.text);
    assert.deepEqual(header.files.map((f) => [f.name, f.type]), vector.files.map((f) => [f.name, f.type]));
    assert.deepEqual(data.map(e), vector.files.map((f) => f.data));
    assert.deepEqual(await content.decodeHeader(d(vector.header)), header);
  });
}

for (const tampered of vectors.tampered) {
  test(`tampered content: ${tampered.name}`, async () => {
    const good = contents.get(tampered.content).segments;
    const segments = tampered.segments.map((s) => d(typeof s === "number" ? good[s] : s));
    await assert.rejects(openAll(d(tampered.content_key), segments, tampered.segment_size), (error) => {
      assert.ok(error instanceof content.ContentError, error);
      assert.ok(error.message.includes(tampered.error), error.message);
      return true;
    });
  });
}

test("padding table, beyond 4 GiB too", () => {
  for (const row of vectors.padding) {
    assert.equal(content.paddedLength(row.plaintext_length), row.padded_length, `length ${row.plaintext_length}`);
  }
});

test("empty text and empty files round trip", async () => {
  const files = [["a", new Uint8Array(0)], ["b", new Uint8Array(0)], ["c", Uint8Array.of(120)]];
  const { header, data } = await openAll(KEY, await seal("", files), 1024);
  assert.deepEqual(header, {
    text: "",
    files: [{ name: "a", type: "", size: 0 }, { name: "b", type: "", size: 0 }, { name: "c", type: "", size: 1 }],
  });
  assert.deepEqual(data, files.map(([, bytes]) => bytes));
});

test("many segments round trip, across a header longer than a segment", async () => {
  const big = Uint8Array.from({ length: 300000 }, (_, i) => (i * 7) % 256);
  const text = "é".repeat(3000);
  const segments = await seal(text, [["big", big], ["small", new Uint8Array(3000).fill(115)]], 2048);
  assert.ok(segments.length > 140);
  assert.ok(segments.slice(0, -1).every((s) => s.length === 2048 + 16));
  const { header, data } = await openAll(KEY, segments, 2048);
  assert.equal(header.text, text);
  assert.deepEqual(data[0], big);
  assert.equal(data[1].length, 3000);
});

test("a segment size off the grid is refused", () => {
  for (const size of [0, 512, 1000, 1025, 4 * 1024 * 1024 + 1024]) {
    assert.throws(() => new content.ContentSealer(KEY, { text: "x" }, size), /segment size/);
    assert.throws(() => new content.ContentOpener(KEY, [], size), /segment size/);
  }
});

test("opening with a larger segment size fails", async () => {
  const segments = await seal("x", [["f", new Uint8Array(5000)]], 1024);
  await assert.rejects(openAll(KEY, segments, 2048), /wrong length/);
});

test("a malformed header is refused", async () => {
  const cases = [
    [[0, 0, 0, 0, 0x03, 0xe9], /1000 files/],
    [[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, ...new Array(8).fill(0)], /needs a name/],
    [[0, 0, 0, 0, 0, 1, 1, 0, ...new Array(256).fill(110), 0, 0, ...new Array(8).fill(0)], /255 bytes/],
    [[0, 0, 0, 0, 0, 0, 0], /bytes follow/],
    [[0, 0, 0, 5, 0, 0], /truncated/],
  ];
  for (const [bytes, error] of cases) {
    await assert.rejects(content.decodeHeader(Uint8Array.from(bytes)), error);
  }
});

/** A Blob-like file of `size` bytes made as they are read, counting what was read. */
function lazyFile(size) {
  const file = { size, readBytes: 0, largestRead: 0 };
  file.slice = (start, end) => ({
    arrayBuffer: async () => {
      file.readBytes += end - start;
      file.largestRead = Math.max(file.largestRead, end - start);
      const bytes = new Uint8Array(end - start);
      for (let at = 0; at < bytes.length; at += 1) bytes[at] = (start + at) % 251;
      return bytes.buffer;
    },
  });
  return file;
}

test("a file that does not hold its size is refused", async () => {
  const blob = lazyFile(5000);
  const short = { size: blob.size, slice: (start, end) => blob.slice(start, end - 1) };
  const sealer = new content.ContentSealer(KEY, { files: [{ name: "f", blob: short }] }, 1024);
  await assert.rejects(collect(sealer), /does not hold its declared size/);
});

test("the sealer reads a file only as its segments are asked for", async () => {
  const blob = lazyFile(100 * 1024);
  const segments = new content.ContentSealer(KEY, { files: [{ name: "f", blob }] }, 1024)[Symbol.asyncIterator]();
  await segments.next();
  assert.ok(blob.readBytes <= 1024, blob.readBytes);
  await segments.next();
  assert.ok(blob.readBytes <= 2 * 1024, blob.readBytes);
  let rest = 0;
  while (!(await segments.next()).done) rest += 1;
  assert.ok(rest > 90);
  assert.ok(blob.largestRead <= 1024);
});

test("sealing into opening 16 MiB never holds more than a few segments in flight", async () => {
  const size = 16 * 1024 * 1024;
  const segmentSize = 64 * 1024;
  const blob = lazyFile(size);
  const sealer = new content.ContentSealer(KEY, { text: "big", files: [{ name: "f", blob }] }, segmentSize);
  let received = 0;
  let mostInFlight = 0;
  for await (const item of new content.ContentOpener(KEY, sealer, segmentSize)) {
    if (item.header) continue;
    for (let at = 0; at < item.data.length; at += 4099) {
      assert.equal(item.data[at], (received + at) % 251);
    }
    received += item.data.length;
    mostInFlight = Math.max(mostInFlight, blob.readBytes - received);
  }
  assert.equal(received, size);
  assert.ok(mostInFlight <= 4 * segmentSize, `${mostInFlight} bytes read but not yet opened`);
});

test("any segment seals alone to the bytes of the whole stream: an upload resumes from an index", async () => {
  const blob = lazyFile(10_000);
  const files = [
    { name: "a", type: "", blob: new Blob([new Uint8Array(3000).fill(7)]) },
    { name: "b", type: "x/y", blob },
  ];
  const whole = await collect(new content.ContentSealer(KEY, { text: "t".repeat(1500), files }, 1024));
  const sealer = new content.ContentSealer(KEY, { text: "t".repeat(1500), files }, 1024);
  assert.equal(whole.length, sealer.segmentCount);
  assert.deepEqual(await collect(sealer.segments(7)), whole.slice(7));
  for (const index of [sealer.segmentCount - 1, 0, 3, 3]) assert.deepEqual(await sealer.segment(index), whole[index]);
  assert.deepEqual((await collect(sealer.segments(sealer.segmentCount))).length, 0);
  await assert.rejects(sealer.segment(sealer.segmentCount), RangeError);
  await assert.rejects(sealer.segment(-1), RangeError);
});

test("the keys for opening are v1's and v2's from one link and passphrase", async () => {
  for (const vector of vectors.links) {
    const both = await content.deriveOpenKeys(d(vector.link_key), vector.passphrase);
    assert.equal(e(both.wrap), vector.wrap_key);
    assert.equal(e(both.claim), vector.claim);
    const same = v1.secrets.find((s) => s.link_key === vector.link_key && s.passphrase === vector.passphrase);
    assert.equal(e(both.encrypt), same.encrypt_key);
  }
});

for (const vector of vectors.recipient_names) {
  test(`recipient name ${vector.recipient} opens only as its own recipient's`, async () => {
    const receiptKey = d(vector.receipt_key);
    assert.equal(e(await envelope.recipientNameKey(receiptKey, vector.recipient)), vector.name_key);
    const sealed = d(vector.sealed_name);
    assert.equal(await envelope.openRecipientName(receiptKey, vector.recipient, sealed), vector.name);
    await assert.rejects(envelope.openRecipientName(receiptKey, vector.recipient + 1, sealed), envelope.EnvelopeError);
    const again = await envelope.sealRecipientName(receiptKey, vector.recipient, vector.name);
    assert.equal(await envelope.openRecipientName(receiptKey, vector.recipient, again), vector.name);
  });
}
