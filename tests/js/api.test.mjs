// The api's errors (services/web/static/js/api.js): what the page says of a refusal is
// its own message (translated with the page), never the server's English detail;
// the status, kind and body stay on the error for pages that say better.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import * as api from "../../services/web/static/js/api.js";

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

function answer(status, body, headers = {}) {
  globalThis.fetch = async () =>
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/problem+json", ...headers } });
}

const problem = (kind, extra = {}) => ({ type: `urn:burnafter:problem:${kind}`, title: "T", detail: "The server's English.", ...extra });

test("a known problem says the page's words, not the server's detail", () => {
  const refused = new api.ApiProblem(409, problem("request-answered"));
  assert.equal(refused.message, "This request was answered already: it takes one answer.");
  assert.equal(refused.status, 409);
  assert.equal(refused.kind, "request-answered");
  assert.equal(refused.problem.detail, "The server's English.");
  assert.equal(new api.ApiProblem(401, problem("wrong-passphrase", { attempts_left: 1 })).message, "Wrong passphrase. 1 attempt left.");
  assert.equal(new api.ApiProblem(401, problem("wrong-passphrase", { attempts_left: 3 })).message, "Wrong passphrase. 3 attempts left.");
  assert.match(new api.ApiProblem(401, problem("wrong-passphrase", { attempts_left: 0 })).message, /destroyed/);
  assert.equal(new api.ApiProblem(409, problem("secret-already-ended", { state: "revoked" })).message, "The secret is already revoked.");
  assert.equal(new api.ApiProblem(409, problem("secret-already-ended", { state: "constructor" })).message, "The secret has already ended.");
  assert.equal(
    new api.ApiProblem(413, problem("content-too-large", { max_content_bytes: 100 * 1024 * 1024 })).message,
    "A secret holds at most 100.0 MB in all, text and files together.",
  );
});

test("any other answer is said by its status", () => {
  assert.equal(new api.ApiProblem(502, {}).message, "The server answered 502.");
  assert.equal(new api.ApiProblem(418, problem("http-error")).message, "The server answered 418.");
  assert.equal(new api.ApiProblem(500, problem("toString")).message, "The server answered 500.");
  assert.equal(new api.ApiProblem(400, problem("invalid-request", { field: "max_views" })).message, "The server did not accept the request (400): its field max_views is not valid.");
});

test("a call refused says so with the status, the kind and Retry-After", async () => {
  answer(429, problem("rate-limited"), { "Retry-After": "7" });
  await assert.rejects(api.limits(), (error) => {
    assert.ok(error instanceof api.ApiProblem);
    assert.equal(error.status, 429);
    assert.equal(error.kind, "rate-limited");
    assert.equal(error.retryAfter, "7");
    assert.equal(error.message, "Too many requests from your address. Try again in 7 s.");
    return true;
  });
  globalThis.fetch = async () => new Response("<html>Bad gateway</html>", { status: 502, headers: { "Content-Type": "text/html" } });
  await assert.rejects(api.limits(), (error) => error instanceof api.ApiProblem && error.message === "The server answered 502.");
  globalThis.fetch = async () => {
    throw new TypeError("Failed to fetch");
  };
  await assert.rejects(api.limits(), (error) => error instanceof api.ApiUnavailable && /cannot be reached/.test(error.message));
});
