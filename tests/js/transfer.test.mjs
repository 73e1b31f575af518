// The upload and download of a v2 content's segments (services/web/static/js/transfer.js)
// against a fake server: dropped connections resume where the server got to, and
// what cannot be tried again is thrown.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiProblem, ApiUnavailable } from "../../services/web/static/js/api.js";
import { ContentOpener, ContentSealer } from "../../services/web/static/js/content.js";
import { DOWNLOAD_WINDOW, UPLOAD_WINDOW, downloadSegments, uploadSegments } from "../../services/web/static/js/transfer.js";

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const NO_WAIT = [0, 0, 0];
const data = Uint8Array.from({ length: 20_000 }, (_, i) => i % 253);

function sealer() {
  return new ContentSealer(KEY, { text: "hi", files: [{ name: "f", blob: new Blob([data]) }] }, 1024);
}

/** A server that stores any segment up to UPLOAD_WINDOW past the first missing one, as
 * burnafter_put_segment_v2 does, and fails the calls ``fail`` names, once each. */
function fakeServer(count, fail = new Set()) {
  const stored = [];
  const log = [];
  const once = (what) => {
    log.push(what);
    if (fail.delete(what)) throw new ApiUnavailable("cut");
  };
  const received = () => {
    let first = 0;
    while (stored[first] !== undefined) first += 1;
    return first;
  };
  return {
    stored,
    log,
    received,
    finalized: false,
    async putSegment(id, index, bytes, token) {
      assert.equal(token, "T");
      once(`put ${index}`);
      if (index >= received() + UPLOAD_WINDOW) {
        log.push("out of order");
        throw new ApiProblem(409, { type: "x:segment-out-of-order", received: received() });
      }
      if (stored[index] === undefined) stored[index] = bytes;
      else assert.deepEqual(bytes, stored[index], "a segment sent again is the same bytes");
      if (fail.delete(`after put ${index}`)) throw new ApiUnavailable("cut after storing");
      return { received: received() };
    },
    async uploadState() {
      once("state");
      return { received: received(), segment_count: count };
    },
    async finalize() {
      once("finalize");
      if (received() < count) throw new ApiProblem(409, { type: "x:upload-incomplete", received: received() });
      this.finalized = true;
      return { state: "live" };
    },
  };
}

async function uploadAll(server, seal) {
  const segments = [];
  for await (const segment of seal) segments.push(segment);
  server.stored.push(segments[0]); // what POST /contents carried
  const progress = [];
  await uploadSegments(seal, "id", { token: "T", received: 1 }, {
    calls: server,
    delays: NO_WAIT,
    onProgress: (received, count) => progress.push([received, count]),
  });
  return { segments, progress };
}

test("an upload sends every segment in order, then finalizes", async () => {
  const seal = sealer();
  const server = fakeServer(seal.segmentCount);
  const { segments, progress } = await uploadAll(server, seal);
  assert.deepEqual(server.stored, segments);
  assert.ok(server.finalized);
  assert.deepEqual(progress.at(-1), [seal.segmentCount, seal.segmentCount]);
});

test("a connection cut before or after a segment is stored resumes from what the server holds", async () => {
  const seal = sealer();
  const server = fakeServer(seal.segmentCount, new Set(["put 3", "after put 7", "state", "finalize"]));
  const { segments } = await uploadAll(server, seal);
  assert.deepEqual(server.stored, segments);
  assert.ok(server.finalized);
  const afterCut = server.log.slice(server.log.indexOf("put 7") + 1);
  const resumed = afterCut.indexOf("state");
  assert.ok(resumed >= 0, "asked where to resume");
  assert.ok(!afterCut.slice(resumed).includes("put 7"), "not sent 7 twice: the server held it");
  const afterFirstCut = server.log.slice(server.log.indexOf("put 3") + 1);
  const asked = afterFirstCut.indexOf("state");
  assert.deepEqual(afterFirstCut.slice(asked, asked + 3), ["state", "state", "put 3"], "a failed question is asked again");
});

test("an upload keeps UPLOAD_WINDOW segments in flight and never runs past the window", { timeout: 10_000 }, async () => {
  const seal = sealer();
  const server = fakeServer(seal.segmentCount);
  const put = server.putSegment.bind(server);
  // PUTs are held, unanswered, until UPLOAD_WINDOW of them wait (or the last segment
  // comes): an upload that waited for each answer before the next PUT would hang here.
  let held = [];
  let most = 0;
  server.putSegment = async (...args) => {
    const answered = new Promise((resolve) => held.push(resolve));
    most = Math.max(most, held.length);
    if (held.length === UPLOAD_WINDOW || args[1] === seal.segmentCount - 1) {
      for (const answer of held) answer();
      held = [];
    }
    await answered;
    return put(...args);
  };
  const { segments } = await uploadAll(server, seal);
  assert.deepEqual(server.stored, segments);
  assert.equal(UPLOAD_WINDOW, 4);
  assert.equal(most, UPLOAD_WINDOW);
  assert.ok(!server.log.includes("out of order"), "no PUT ran past the server's window");
});

test("a refusal is thrown, and a connection gone for good gives up", async () => {
  const seal = sealer();
  const refusing = fakeServer(seal.segmentCount);
  refusing.putSegment = async () => {
    throw new ApiProblem(404, { type: "x:upload-not-found" });
  };
  await assert.rejects(uploadSegments(seal, "id", { token: "T", received: 1 }, { calls: refusing, delays: NO_WAIT }), (error) => {
    assert.ok(error instanceof ApiProblem && error.status === 404 && error.kind === "upload-not-found", error);
    return true;
  });
  const gone = fakeServer(seal.segmentCount);
  gone.putSegment = async () => {
    throw new ApiUnavailable("offline");
  };
  gone.uploadState = gone.putSegment;
  await assert.rejects(uploadSegments(seal, "id", { token: "T", received: 1 }, { calls: gone, delays: NO_WAIT }), ApiUnavailable);
});

test("a cancelled upload stops at once", async () => {
  const seal = sealer();
  const server = fakeServer(seal.segmentCount, new Set(["put 2"]));
  server.stored.push(await seal.segment(0));
  const cancel = new AbortController();
  const going = uploadSegments(seal, "id", { token: "T", received: 1 }, {
    calls: server,
    delays: [60_000],
    signal: cancel.signal,
    onWait: () => cancel.abort(new Error("cancelled")),
  });
  await assert.rejects(going, /cancelled/);
  assert.ok(!server.finalized);
});

test("a download asks again for a segment whose connection was cut, and opens whole", async () => {
  const seal = sealer();
  const segments = [];
  for await (const segment of seal) segments.push(segment);
  let cuts = 2;
  const asked = [];
  const calls = {
    async readSegment(contentId, index, token) {
      assert.deepEqual([contentId, token], ["c", "D"]);
      asked.push(index);
      if (index === 5 && cuts-- > 0) throw new ApiUnavailable("cut");
      return segments[index];
    },
  };
  const source = downloadSegments(
    { contentId: "c", token: "D", count: segments.length, first: segments[0] },
    { calls, delays: NO_WAIT },
  );
  const chunks = [];
  for await (const item of new ContentOpener(KEY, source, 1024)) if (item.data) chunks.push(item.data);
  assert.deepEqual(Buffer.concat(chunks), Buffer.from(data));
  assert.deepEqual(asked.filter((index) => index === 5).length, 3);
  // The segments asked for beside it were kept, not asked for again.
  const others = asked.filter((index) => index !== 5);
  assert.deepEqual(others, [...new Set(others)]);
  assert.deepEqual(new Set(others).size, segments.length - 2);
});

async function sealedSegments() {
  const segments = [];
  for await (const segment of sealer()) segments.push(segment);
  return segments;
}

/** A download server whose answer to segment ``index`` takes ``delay(index)`` ms; it
 * notes how many requests were in flight at most, and the order it answered in. */
function slowServer(segments, delay) {
  const server = { inFlight: 0, most: 0, answered: [], signals: [] };
  server.readSegment = async (contentId, index, token, signal) => {
    server.inFlight += 1;
    server.most = Math.max(server.most, server.inFlight);
    server.signals.push(signal);
    try {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, delay(index));
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      });
      server.answered.push(index);
      return segments[index];
    } finally {
      server.inFlight -= 1;
    }
  };
  return server;
}

async function collect(source) {
  const got = [];
  for await (const segment of source) got.push(segment);
  return got;
}

test("a download keeps several segments in flight at once, never more than its window", async () => {
  const segments = await sealedSegments();
  assert.ok(segments.length > 2 * DOWNLOAD_WINDOW);
  const server = slowServer(segments, () => 5);
  const got = await collect(downloadSegments({ contentId: "c", token: "D", count: segments.length, first: segments[0] }, { calls: server }));
  assert.deepEqual(got, segments);
  assert.equal(DOWNLOAD_WINDOW, 4);
  assert.equal(server.most, DOWNLOAD_WINDOW);
});

test("segments answered out of order are handed on in order, and open whole", async () => {
  const segments = await sealedSegments();
  // Within each four, the last asked for is answered first.
  const server = slowServer(segments, (index) => 4 * (3 - (index % 4)));
  const source = downloadSegments({ contentId: "c", token: "D", count: segments.length, first: segments[0] }, { calls: server });
  const chunks = [];
  for await (const item of new ContentOpener(KEY, source, 1024)) if (item.data) chunks.push(item.data);
  assert.deepEqual(Buffer.concat(chunks), Buffer.from(data));
  const inOrder = [...server.answered].sort((a, b) => a - b);
  assert.notDeepEqual(server.answered, inOrder, "the server answered out of order");
  assert.deepEqual(inOrder, segments.slice(1).map((_, i) => i + 1));
});

test("a cancelled download stops at once, and a reader that stops early drops what is in flight", async () => {
  const segments = await sealedSegments();
  const cancel = new AbortController();
  const server = slowServer(segments, () => 60_000);
  const source = downloadSegments(
    { contentId: "c", token: "D", count: segments.length, first: segments[0] },
    { calls: server, signal: cancel.signal },
  );
  assert.deepEqual((await source.next()).value, segments[0]);
  const waiting = source.next();
  setTimeout(() => cancel.abort(new Error("cancelled")), 10);
  await assert.rejects(waiting, /cancelled/);
  assert.equal(server.signals.length, DOWNLOAD_WINDOW);
  assert.ok(server.signals.every((signal) => signal.aborted));

  const quick = slowServer(segments, () => 1);
  const early = downloadSegments({ contentId: "c", token: "D", count: segments.length, first: segments[0] }, { calls: quick });
  await early.next();
  await early.next(); // segment 1: 2, 3 and 4 were asked for with it
  await early.return();
  assert.equal(quick.signals.length, DOWNLOAD_WINDOW);
  assert.ok(quick.signals.every((signal) => signal.aborted));
});
