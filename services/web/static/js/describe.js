// The words and times of the open and receipt pages: moments, how long
// until or since, and a browser in a few words, in the page's language. No DOM:
// tests/js/ runs it on Node (in English).
import { lang, t } from "./i18n.js";

const momentFormat = new Intl.DateTimeFormat(lang, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  second: "2-digit",
  timeZoneName: "short",
});

/** A moment to the second, in the reader's time zone, which it names. */
export function formatMoment(iso) {
  return iso ? momentFormat.format(new Date(iso)) : "—";
}

const UNITS = [
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];
const unitFormats = new Map(
  UNITS.map(([unit]) => [unit, new Intl.NumberFormat(lang, { style: "unit", unit, unitDisplay: "long" })]),
);
const pair = new Intl.ListFormat(lang, { type: "unit", style: "narrow" });

/** A length of time in at most two whole units, never rounded up: "59 minutes",
 * "1 hour 5 minutes", "2 days 3 hours", "45 seconds". */
export function duration(seconds) {
  const whole = Math.floor(Math.abs(seconds));
  const amounts = [Math.floor(whole / 86400), Math.floor(whole / 3600) % 24, Math.floor(whole / 60) % 60, whole % 60];
  const first = amounts.findIndex((amount, at) => amount > 0 || at === amounts.length - 1);
  const said = [unitFormats.get(UNITS[first][0]).format(amounts[first])];
  // The next unit down, but no seconds beside minutes: "1 hour 5 minutes", "3 minutes".
  if (first < 2 && amounts[first + 1]) said.push(unitFormats.get(UNITS[first + 1][0]).format(amounts[first + 1]));
  return pair.format(said);
}

const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });

/** "in 59 minutes", "3 seconds ago", "in 29 hours": in the largest unit that counts
 * at least 2 of it (never "tomorrow" for 47 hours), rounded down. A secret said to
 * expire "in 59 minutes" has at least that long. The pages show the moment beside it. */
export function relativeTime(iso, now = Date.now()) {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  // Translators: when something happened or ends, less than a second from now.
  if (Math.abs(seconds) < 1) return t("just now");
  const whole = Math.floor(Math.abs(seconds));
  const [unit, size] = UNITS.find(([, size]) => whole >= 2 * size) || ["second", 1];
  const amount = Math.floor(whole / size);
  return relative.format(seconds > 0 ? amount : -amount, unit);
}

const BROWSERS = [
  [/\bEdg(?:e|A|iOS)?\//, "Edge"],
  [/\b(?:OPR|Opera)\//, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\bVivaldi\//, "Vivaldi"],
  [/\bYaBrowser\//, "Yandex Browser"],
  [/\b(?:Firefox|FxiOS)\//, "Firefox"],
  [/\bHeadlessChrome\//, "Headless Chrome"],
  [/\b(?:Chrome|CriOS|Chromium)\//, "Chrome"],
  [/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
  // Translators: {program} is the name of a command-line program (burnafter).
  [/\bburnafter-cli\//, () => t("{program} command line", { program: "burnafter" })],
  [/^curl\//, "curl"],
  [/^Wget\//, "Wget"],
  [/\bpython-requests\//, "Python requests"],
  [/\baiohttp\//, "Python aiohttp"],
  [/^python-httpx\//, "Python httpx"],
  [/^Go-http-client\//, "Go"],
];
const SYSTEMS = [
  [/\b(?:iPhone|iPod)\b/, "iPhone"],
  [/\biPad\b/, "iPad"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bWindows\b/, "Windows"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b|\bX11\b/, "Linux"],
];

/** "Chrome on Linux", "Safari on iPhone", "curl": a user-agent string in a few
 * words; an unknown one by its first word. */
export function describeAgent(agent) {
  if (!agent) return t("Unknown");
  const found = BROWSERS.find(([pattern]) => pattern.test(agent));
  const system = SYSTEMS.find(([pattern]) => pattern.test(agent));
  const browser = typeof found?.[1] === "function" ? found[1]() : found?.[1];
  // Translators: a browser and the operating system it runs on: "Chrome on Linux".
  if (browser && system) return t("{browser} on {system}", { browser, system: system[1] });
  if (browser) return browser;
  const first = agent.trim().split(/[\s/;(]/)[0].slice(0, 32);
  // Translators: what sent a request, when its user agent names no browser we know.
  const name = first && first !== "Mozilla" ? first : t("A browser");
  return system ? t("{browser} on {system}", { browser: name, system: system[1] }) : name;
}
