// The burnafter API v1 under the same origin. Binary values go as base64url.

export class ApiUnavailable extends Error {}

export class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem.detail || `The server answered ${status}.`);
    this.status = status;
    this.problem = problem;
    this.kind = String(problem.type || "").split(":").pop();
  }
}

async function call(method, path, { body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiUnavailable("The server cannot be reached. Check your connection and try again.");
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
