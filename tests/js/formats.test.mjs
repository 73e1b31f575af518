// The pages' sizes, durations, times and counts in the page's language, not the
// browser's: a page in German (<html lang="de">) whose catalog has a few messages.
// Its own file: i18n.js reads the language once, when first imported.
import assert from "node:assert/strict";
import { test } from "node:test";

const CATALOG = {
  "{count} view left": { one: "{count} Aufruf übrig", other: "{count} Aufrufe übrig" },
  "just now": "gerade eben",
  "{browser} on {system}": "{browser} unter {system}",
};
globalThis.document = { documentElement: { lang: "de" } };
globalThis.fetch = async (url) => {
  assert.equal(url, "/static/i18n/de.json");
  return { ok: true, json: async () => ({ messages: CATALOG }) };
};

const { formatBytes, formatDuration } = await import("../../services/web/static/js/ui.js");
const { describeAgent, duration, formatMoment, relativeTime } = await import("../../services/web/static/js/describe.js");
const { tn } = await import("../../services/web/static/js/i18n.js");
const viewsLeft = (count) => tn("{count} view left", "{count} views left", count);

test("sizes and durations in German", () => {
  assert.deepEqual([512, 1536, 12 * 1024, 3.4 * 1024 * 1024].map(formatBytes), ["512 Byte", "1,5 kB", "12 kB", "3,4 MB"]);
  assert.deepEqual([86400, 2 * 3600, 45].map(formatDuration), ["1 Tag", "2 Stunden", "45 Sekunden"]);
  assert.equal(duration(86400 * 2 + 3 * 3600), "2 Tage, 3 Stunden");
});

test("relative times and moments in German", () => {
  const now = Date.parse("2026-11-23T15:00:00Z");
  assert.equal(relativeTime("2026-11-23T15:59:40Z", now), "in 59 Minuten");
  assert.equal(relativeTime("2026-11-23T14:57:10Z", now), "vor 2 Minuten");
  assert.equal(relativeTime("2026-11-23T15:00:00.2Z", now), "gerade eben");
  assert.match(formatMoment("2026-11-23T15:04:05Z"), /23\.11\.2026|23\. Nov\. 2026/);
});

test("counts take the catalog's plural forms; names stay", () => {
  assert.deepEqual([viewsLeft(1), viewsLeft(3)], ["1 Aufruf übrig", "3 Aufrufe übrig"]);
  assert.equal(viewsLeft(1200), "1.200 Aufrufe übrig");
  const agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
  assert.equal(describeAgent(agent), "Chrome unter Linux");
});
