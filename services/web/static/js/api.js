// The burnafter API v1 under the same origin. Binary values in JSON go as base64url;
// segments of a v2 content go as raw bytes. Tokens go in the Authorization header,
// never in a URL (proxies log URLs).

import { t, tn } from "./i18n.js";
import { formatSize } from "./sizes.js";

export class ApiUnavailable extends Error {}

// What the secret was already, as a refused revoke says it (`state`, API v1 words).
const ENDED = {
  viewed: () => t("The secret is already viewed."),
  expired: () => t("The secret is already expired."),
  revoked: () => t("The secret is already revoked."),
  locked: () => t("The secret was already destroyed after too many wrong passphrases."),
  deleted: () => t("The secret is already deleted."),
};

// The page's own words for each problem the api answers (services/api/problems.py),
// by the last part of its type: the server's `detail` is English, and stays out of
// the page. Each takes the problem's body and the Retry-After header.
const PROBLEMS = {
  "secret-not-found": () => t("This secret does not exist or is gone: it was already viewed, it expired, or it was revoked."),
  "passphrase-required": () => t("This secret is protected by a passphrase."),
  "wrong-passphrase": ({ attempts_left: left }) => {
    if (left === 0) return t("Wrong passphrase. Too many wrong passphrases: the secret is destroyed.");
    if (!Number.isInteger(left)) return t("Wrong passphrase.");
    return tn("Wrong passphrase. {count} attempt left.", "Wrong passphrase. {count} attempts left.", left);
  },
  "receipt-not-found": () => t("No receipt matches this link."),
  "request-not-found": () => t("No request matches this link."),
  "request-answered": () => t("This request was answered already: it takes one answer."),
  "request-expired": () => t("This request ran out of time unanswered."),
  "recipient-not-found": () => t("This share has no such recipient."),
  "secret-already-ended": ({ state }) => (Object.hasOwn(ENDED, state) ? ENDED[state]() : t("The secret has already ended.")),
  "delete-not-allowed": () => t("The sender did not allow the recipient to delete this secret."),
  "rate-limited": (_, retryAfter) => {
    const seconds = Number(retryAfter);
    if (!retryAfter || !Number.isInteger(seconds) || seconds < 0) return t("Too many requests from your address. Try again in a moment.");
    // Translators: "s" is seconds; a language may spell the unit out.
    return tn("Too many requests from your address. Try again in {count} s.", "Too many requests from your address. Try again in {count} s.", seconds);
  },
  "content-too-large": ({ max_content_bytes: most }) =>
    Number.isInteger(most)
      ? t("A secret holds at most {size} in all, text and files together.", { size: formatSize(most, { down: true }) })
      : t("The secret is over the most the service takes."),
  "payload-too-large": () => t("The request is over the most the service takes."),
  "upload-not-found": () => t("The upload is no longer open: it finished, or it ran out of time."),
  "segment-out-of-order": () => t("The upload arrived out of order. Try again."),
  "upload-incomplete": () => t("Not every part of the upload has arrived. Try again."),
  "segment-conflict": () => t("A part of the upload arrived twice with different contents. Try again."),
  "download-not-found": () => t("The download is no longer open: it finished, or it ran out of time."),
  "storage-full": () => t("The service holds as many secrets as it may. Try again later."),
  "sender-quota-full": () =>
    t("You hold as much in secrets as one sender may. Revoke some, or try again once some are viewed or expire."),
  "authentication-required": () => t("Sign in to do this."),
  "invalid-request": ({ field }, _, status) =>
    typeof field === "string" && field
      ? t("The server did not accept the request ({status}): its field {field} is not valid.", { status, field })
      : t("The server did not accept the request ({status}).", { status }),
  "database-unavailable": () => t("The service cannot reach its database. Try again later."),
  "internal-error": () => t("Something went wrong on our side. Please try again later."),
};

/**
 * A refusal of the api: ``status``, ``kind`` (the last part of the problem's type,
 * such as "wrong-passphrase"), ``problem`` (its body: ``detail``, in English, is for
 * logs and developers) and ``retryAfter`` (the Retry-After header, or null). The
 * message is the page's own, in its language: a known problem's, else "The server
 * answered 502." A page that knows better says its own words by ``status`` or ``kind``.
 */
export class ApiProblem extends Error {
  constructor(status, problem = {}, retryAfter = null) {
    const kind = String(problem.type || "").split(":").pop();
    const words = Object.hasOwn(PROBLEMS, kind) ? PROBLEMS[kind](problem, retryAfter, status) : null;
    super(words || t("The server answered {status}.", { status }));
    this.status = status;
    this.problem = problem;
    this.kind = kind;
    this.retryAfter = retryAfter;
  }
}

/** ``body``: JSON, or a Uint8Array sent as application/octet-stream. ``bytes``: the
 * answer is raw bytes. ``signal``: an AbortSignal; aborting rejects with its reason. */
async function call(method, path, { body, token, bytes = false, signal } = {}) {
  const headers = {};
  const raw = body instanceof Uint8Array;
  if (body !== undefined) headers["Content-Type"] = raw ? "application/octet-stream" : "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined || raw ? body : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      signal,
    });
    if (response.ok && bytes) return new Uint8Array(await response.arrayBuffer());
  } catch (problem) {
    if (signal?.aborted) throw signal.reason;
    throw new ApiUnavailable(t("The server cannot be reached. Check your connection and try again."), { cause: problem });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiProblem(response.status, data ?? {}, response.headers.get("Retry-After"));
  return data;
}

export const limits = () => call("GET", "/limits");
export const createSecret = (body) => call("POST", "/secrets", { body });
export const peek = (id, claim) => call("POST", `/secrets/${id}/peek`, { body: { claim } });
export const reveal = (id, claim, unlock) =>
  call("POST", `/secrets/${id}/reveal`, { body: unlock ? { claim, unlock } : { claim } });
export const deleteSecret = (id, claim, unlock) =>
  call("POST", `/secrets/${id}/delete`, { body: unlock ? { claim, unlock } : { claim } });
export const readReceipt = (id, manage) => call("GET", `/receipts/${id}`, { token: manage });
export const revoke = (id, manage) => call("DELETE", `/secrets/${id}`, { token: manage });
/** A share with several recipients (issue 16): every link still active, or recipient ``recipient``'s only. */
export const revokeShare = (id, manage, recipient) =>
  call("POST", `/receipts/${id}/revoke`, { token: manage, body: recipient === undefined ? undefined : { recipient } });

// Protocol v2: a content created with its first segment, the rest uploaded in order.
export const createContent = (body, signal) => call("POST", "/contents", { body, signal });
export const putSegment = (id, index, bytes, token, signal) =>
  call("PUT", `/contents/${id}/segments/${index}`, { body: bytes, token, signal });
export const uploadState = (id, token, signal) => call("GET", `/contents/${id}/upload`, { token, signal });
export const finalize = (id, token, signal) => call("POST", `/contents/${id}/finalize`, { token, signal });
export const readSegment = (contentId, index, token, signal) =>
  call("GET", `/contents/${contentId}/segments/${index}`, { token, bytes: true, signal });
export const downloaded = (contentId, token) => call("POST", `/contents/${contentId}/downloaded`, { token });

// Requests (issue 17): ask, read with the fill link, answer once; the asker's view.
export const ask = (body) => call("POST", "/requests", { body });
export const openRequest = (id, claim) => call("POST", `/requests/${id}/open`, { body: { claim } });
export const answerRequest = (id, body, signal) => call("POST", `/requests/${id}/answer`, { body, signal });
export const readRequest = (id, manage) => call("GET", `/requests/${id}`, { token: manage });
