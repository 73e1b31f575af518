// The words and times of the open and receipt pages (services/web/static/js/describe.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { describeAgent, duration, formatMoment, relativeTime } from "../../services/web/static/js/describe.js";
import { tn } from "../../services/web/static/js/i18n.js";

test("counts in English: the singular for 1 only", () => {
  const viewsLeft = (count) => tn("{count} view left", "{count} views left", count);
  assert.deepEqual([viewsLeft(1), viewsLeft(3), viewsLeft(0)], ["1 view left", "3 views left", "0 views left"]);
});

test("durations are whole units, never rounded up", () => {
  assert.equal(duration(3599), "59 minutes");
  assert.equal(duration(3600), "1 hour");
  assert.equal(duration(3900), "1 hour 5 minutes");
  assert.equal(duration(86400 * 2 + 3 * 3600 + 59), "2 days 3 hours");
  assert.equal(duration(45.9), "45 seconds");
  assert.equal(duration(1), "1 second");
});

test("relative times", () => {
  const now = Date.parse("2026-11-23T15:00:00Z");
  assert.equal(relativeTime("2026-11-23T15:59:40Z", now), "in 59 minutes");
  assert.equal(relativeTime("2026-11-23T14:57:10Z", now), "2 minutes ago");
  assert.equal(relativeTime("2026-11-23T15:00:00.2Z", now), "just now");
  assert.equal(relativeTime("2026-11-30T15:00:00Z", now), "in 7 days");
  assert.equal(relativeTime("2026-11-23T15:00:01.5Z", now), "in 1 second");
});

test("a relative time counts at least 2 of its unit, rounded down", () => {
  const now = Date.parse("2026-11-23T15:00:00Z");
  assert.equal(relativeTime("2026-11-23T16:05:00Z", now), "in 65 minutes"); // not "in 1 hour"
  assert.equal(relativeTime("2026-11-24T15:00:00Z", now), "in 24 hours"); // not "tomorrow"
  assert.equal(relativeTime("2026-11-25T14:59:59Z", now), "in 47 hours");
  assert.equal(relativeTime("2026-11-26T13:00:00Z", now), "in 2 days");
  assert.equal(relativeTime("2026-11-22T15:00:00Z", now), "24 hours ago"); // not "yesterday"
});

test("moments carry seconds and a time zone", () => {
  const text = formatMoment("2026-11-23T15:04:05Z");
  assert.match(text, /\d{1,2}:\d\d:05/); // any zone is whole minutes away
  assert.match(text, /UTC|GMT|[A-Z]{3,4}/);
  assert.equal(formatMoment(null), "—");
});

const AGENTS = {
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36": "Chrome on Linux",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.33 Safari/537.36":
    "Headless Chrome on Linux",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1":
    "Safari on iPhone",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1":
    "Chrome on iPhone",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15": "Safari on macOS",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80":
    "Edge on Windows",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0": "Firefox on Windows",
  "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36":
    "Samsung Internet on Android",
  "Mozilla/5.0 (Android 14; Mobile; rv:126.0) Gecko/126.0 Firefox/126.0": "Firefox on Android",
  "curl/8.5.0": "curl",
  "burnafter-cli/1": "burnafter command line",
  "Python/3.11 aiohttp/3.9.5": "Python aiohttp",
  "SomeBot/2.0 (+https://example.org/bot)": "SomeBot",
  "Mozilla/5.0 (X11; Linux x86_64) SomethingNew/1.0": "A browser on Linux",
};

test("user agents in a few words", () => {
  for (const [agent, words] of Object.entries(AGENTS)) assert.equal(describeAgent(agent), words, agent);
  assert.equal(describeAgent(null), "Unknown");
  assert.equal(describeAgent(""), "Unknown");
});
