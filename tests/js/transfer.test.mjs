// The upload and download of a v2 content's segments (services/web/static/js/transfer.js)
// against a fake server: dropped connections resume where the server got to, and
// what cannot be tried again is thrown.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiProblem, ApiUnavailable } from "../../services/web/static/js/api.js";
import { ContentOpener, ContentSealer } from "../../services/web/static/js/content.js";
import { downloadSegments, uploadSegments } from "../../services/web/static/js/transfer.js";

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const NO_WAIT = [0, 0, 0];
const data = Uint8Array.from({ length: 20_000 }, (_, i) => i % 253);

function sealer() {
  return new ContentSealer(KEY, { text: "hi", files: [{ name: "f", blob: new Blob([data]) }] }, 1024);
}

/** A server that stores segments in order, and fails the calls ``fail`` names, once each. */
function fakeServer(count, fail = new Set()) {
  const stored = [];
  const log = [];
  const once = (what) => {
    log.push(what);
    if (fail.delete(what)) throw new ApiUnavailable("cut");
  };
  return {
    stored,
    log,
    finalized: false,
    async putSegment(id, index, bytes, token) {
      assert.equal(token, "T");
      once(`put ${index}`);
      if (index > stored.length) {
        throw new ApiProblem(409, { type: "x:segment-out-of-order", received: stored.length });
      }
      if (index === stored.length) stored.push(bytes);
      else assert.deepEqual(bytes, stored[index], "a segment sent again is the same bytes");
      if (fail.delete(`after put ${index}`)) throw new ApiUnavailable("cut after storing");
      return { received: stored.length };
    },
    async uploadState() {
      once("state");
      return { received: stored.length, segment_count: count };
    },
    async finalize() {
      once("finalize");
      if (stored.length < count) throw new ApiProblem(409, { type: "x:upload-incomplete", received: stored.length });
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
  assert.deepEqual(afterCut.slice(0, 2), ["state", "put 8"], "asked where to resume, not sent 7 twice");
  const afterFirstCut = server.log.slice(server.log.indexOf("put 3") + 1);
  assert.deepEqual(afterFirstCut.slice(0, 3), ["state", "state", "put 3"], "a failed question is asked again");
});

test("a refusal is thrown, and a connection gone for good gives up", async () => {
  const seal = sealer();
  const refusing = fakeServer(seal.segmentCount);
  refusing.putSegment = async () => {
    throw new ApiProblem(404, { type: "x:upload-not-found" });
  };
  await assert.rejects(uploadSegments(seal, "id", { token: "T", received: 1 }, { calls: refusing, delays: NO_WAIT }), /404/);
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
});
