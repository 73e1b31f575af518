// The burnafter API v1 under the same origin. Binary values in JSON go as base64url;
// segments of a v2 content go as raw bytes. Tokens go in the Authorization header,
// never in a URL (proxies log URLs).

export class ApiUnavailable extends Error {}

export class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem.detail || `The server answered ${status}.`);
    this.status = status;
    this.problem = problem;
    this.kind = String(problem.type || "").split(":").pop();
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
    throw new ApiUnavailable("The server cannot be reached. Check your connection and try again.", { cause: problem });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiProblem(response.status, data);
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
