// Moving a protocol v2 content's segments, with no DOM (tests/js/ runs it on Node):
// the sender's upload of segments 1..N-1 and the recipient's download of them, a few
// at once each way, each resuming by itself after a dropped connection.
//
// A segment sealed again is the same bytes (its nonce is its index), so an upload
// cut short asks the server how far it got (`received`) and goes on from there; a
// download asks again for each segment it lacks, keeping those it has, while its grant
// is open.
import * as api from "./api.js";

/** The waits, in milliseconds, before each try again; after the last, give up. About
 * two minutes in all: long enough for a Wi-Fi hand-over or a laptop lid. */
export const RETRY_DELAYS = [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000, 15000, 15000];

const TRANSIENT_STATUSES = new Set([429, 500, 502, 503, 504]);

/** Whether a call that failed may work if made again: the connection, or the server for a moment. */
export function transient(problem) {
  return problem instanceof api.ApiUnavailable || (problem instanceof api.ApiProblem && TRANSIENT_STATUSES.has(problem.status));
}

/** Resolves after ``ms``, or rejects with the signal's reason once it aborts. */
export function wait(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal?.addEventListener("abort", stop, { once: true });
  });
}

/** Segment PUTs an upload keeps in flight, never past the first one not confirmed plus
 * this: the server's own window (docs/protocol.md, "API use (v2)"). One at a time, each
 * segment waits for the whole chain (network, api, the database's commit) in turn. */
export const UPLOAD_WINDOW = 4;

/**
 * Upload segments ``upload.received``.. of ``sealer`` to content ``id``,
 * ``UPLOAD_WINDOW`` at once, sealed and confirmed in order, then finalize it. Calls
 * ``onProgress(received, count)`` as the server confirms segments and
 * ``onWait(ms, problem)`` before each try again. Throws what cannot be tried again (a
 * refusal, or the connection gone for longer than ``delays`` wait).
 */
export async function uploadSegments(sealer, id, upload, options = {}) {
  const { signal, onProgress = () => {}, onWait = () => {}, calls = api, delays = RETRY_DELAYS } = options;
  const count = sealer.segmentCount;
  const token = upload.token;
  let next = upload.received; // the first segment not confirmed; null: ask the server
  let failures = 0;
  onProgress(next, count);
  for (;;) {
    // This try's own signal: a failed PUT drops the others in flight, which the next
    // try sends again from where the server stands.
    const attempt = new AbortController();
    const relay = () => attempt.abort(signal.reason);
    if (signal?.aborted) relay();
    else signal?.addEventListener("abort", relay, { once: true });
    const inFlight = [];
    try {
      if (next === null) {
        next = (await calls.uploadState(id, token, attempt.signal)).received;
        onProgress(next, count);
      }
      for (let sealing = next; next < count; ) {
        for (; sealing < Math.min(next + UPLOAD_WINDOW, count); sealing += 1) {
          const putting = calls.putSegment(id, sealing, await sealer.segment(sealing), token, attempt.signal);
          putting.catch(() => {}); // seen when confirmed, in order; not an unhandled rejection before
          inFlight.push(putting);
        }
        await inFlight.shift();
        next += 1;
        failures = 0;
        onProgress(next, count);
      }
      await calls.finalize(id, token, attempt.signal);
      return;
    } catch (problem) {
      if (signal?.aborted) throw signal.reason;
      // The server holds fewer (or more) segments than this page thought: go on from there.
      const behind = problem instanceof api.ApiProblem && ["segment-out-of-order", "upload-incomplete"].includes(problem.kind);
      if (behind && Number.isInteger(problem.problem.received)) {
        next = problem.problem.received;
        continue;
      }
      if (!transient(problem) || failures >= delays.length) throw problem;
      onWait(delays[failures], problem);
      await wait(delays[failures], signal);
      failures += 1;
      next = null;
    } finally {
      signal?.removeEventListener("abort", relay);
      if (inFlight.length) attempt.abort(new Error("the upload goes on from where the server stands"));
    }
  }
}

/** Segment GETs a download keeps in flight: one alone waits on the whole chain (network,
 * api, database) in turn; four at once reach a bare database client's rate. */
export const DOWNLOAD_WINDOW = 4;

/**
 * The sealed segments of a revealed v2 content, in order: ``first`` (segment 0, as
 * the reveal answered it), then 1..count-1 read with the download ``token``,
 * ``DOWNLOAD_WINDOW`` asked for at once (at most that many held), each asked for
 * again by itself after a cut connection (``onWait(ms, problem)`` first) while the
 * grant is open. ``onSegment(received, count)`` after each. Feed it to a ContentOpener.
 */
export async function* downloadSegments({ contentId, token, count, first }, options = {}) {
  const { signal, onSegment = () => {}, onWait = () => {}, calls = api, delays = RETRY_DELAYS } = options;
  // The caller's signal, and this loop's own: a reader that stops early (the content
  // did not open, or the page gave up) drops the segments asked for and not taken.
  const dropping = new AbortController();
  const relay = () => dropping.abort(signal.reason);
  if (signal?.aborted) relay();
  else signal?.addEventListener("abort", relay, { once: true });
  const read = async (index) => {
    for (let failures = 0; ; failures += 1) {
      try {
        return await calls.readSegment(contentId, index, token, dropping.signal);
      } catch (problem) {
        if (!transient(problem) || failures >= delays.length) throw problem;
        onWait(delays[failures], problem);
        await wait(delays[failures], dropping.signal);
      }
    }
  };
  const asking = new Map();
  let asked = 1; // the next index to ask for
  onSegment(1, count);
  yield first;
  try {
    for (let index = 1; index < count; index += 1) {
      for (; asked < Math.min(index + DOWNLOAD_WINDOW, count); asked += 1) {
        const reading = read(asked);
        reading.catch(() => {}); // seen when taken, in order; not an unhandled rejection before
        asking.set(asked, reading);
      }
      const sealed = await asking.get(index);
      asking.delete(index);
      onSegment(index + 1, count);
      yield sealed;
    }
  } finally {
    signal?.removeEventListener("abort", relay);
    if (asking.size) dropping.abort(new Error("the download stopped"));
  }
}
