// The secure-context check of the pages (services/web/static/js/ui.js): WebCrypto
// exists only over HTTPS or on localhost, and the page says what to do without it.
// And sizes, durations and times as the pages write them (in English here: Node has
// no page; tests/js/formats.test.mjs has them in another language).
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatBytes, formatDuration, formatTime, insecureContextProblem, withNodes } from "../../services/web/static/js/ui.js";

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

test("sizes: bytes, then kB and MB of 1024", () => {
  assert.deepEqual(
    [0, 1, 512, 1024, 1536, 10 * 1024, 12 * 1024 + 300, 1024 * 1024, 3.4 * 1024 * 1024].map(formatBytes),
    ["0 bytes", "1 byte", "512 bytes", "1.0 kB", "1.5 kB", "10 kB", "12 kB", "1.0 MB", "3.4 MB"],
  );
});

test("durations in the largest unit that divides them", () => {
  assert.deepEqual(
    [86400, 7 * 86400, 3600, 6 * 3600, 60, 30 * 60, 90, 45].map(formatDuration),
    ["1 day", "7 days", "1 hour", "6 hours", "1 minute", "30 minutes", "90 seconds", "45 seconds"],
  );
});

test("a time has a date and hours; none is a dash", () => {
  assert.match(formatTime("2026-11-23T15:04:05Z"), /2026.*\d{1,2}:04/);
  assert.equal(formatTime(null), "—");
});

test("a message's placeholders take elements, in the message's order", () => {
  const [when, moment] = [{ element: "when" }, { element: "moment" }];
  assert.deepEqual(withNodes("ended {when} ({moment})", { when, moment }), ["ended ", when, " (", moment, ")"]);
  assert.deepEqual(withNodes("{moment}: {when}", { when, moment }), [moment, ": ", when]);
  assert.deepEqual(withNodes("{when} and {other}", { when }), [when, " and ", "{other}"]);
});
