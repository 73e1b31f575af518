// The secure-context check of the pages (services/web/static/js/ui.js): WebCrypto
// exists only over HTTPS or on localhost, and the page says what to do without it.
import assert from "node:assert/strict";
import { test } from "node:test";

import { insecureContextProblem } from "../../services/web/static/js/ui.js";

const page = (href, secure, subtle = secure ? {} : undefined) => ({
  isSecureContext: secure,
  crypto: { subtle },
  location: new URL(href),
});

test("a secure context with WebCrypto has no problem", () => {
  assert.equal(insecureContextProblem(page("https://secrets.example.com/", true)), null);
  assert.equal(insecureContextProblem(page("http://localhost:8080/", true)), null);
});

test("plain http on another host: say where, why, and what to do", () => {
  const problem = insecureContextProblem(page("http://10.0.0.5:8080/s/abc", false));
  const said = Object.values(problem).join(" ");
  assert.match(said, /http:\/\/10\.0\.0\.5:8080/);
  assert.match(said, /HTTPS/);
  assert.match(said, /http:\/\/localhost/);
  assert.doesNotMatch(said, /importKey|undefined/);
});

test("a secure page in a browser without WebCrypto: name the browsers that have it", () => {
  const problem = insecureContextProblem(page("https://secrets.example.com/", true, null));
  assert.match(problem.fix, /Firefox, Chrome, Edge or Safari/);
  assert.doesNotMatch(Object.values(problem).join(" "), /http:/);
});
