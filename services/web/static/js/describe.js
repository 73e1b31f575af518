// The words and times of the open and receipt pages: counts, moments, how long
// until or since, and a browser in a few words. No DOM: tests/js/ runs it on Node.

/** "once" for 1, "N times" otherwise. */
export function times(count) {
  return count === 1 ? "once" : `${count} times`;
}

/** "1 view left", "N views left". */
export function viewsLeft(count) {
  return `${count} ${count === 1 ? "view" : "views"} left`;
}

/** "1 attempt left", "N attempts left". */
export function attemptsLeft(count) {
  return `${count} ${count === 1 ? "attempt" : "attempts"} left`;
}

const momentFormat = new Intl.DateTimeFormat(undefined, {
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

function count(amount, unit) {
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}

/** A length of time in at most two whole units, never rounded up: "59 minutes",
 * "1 hour 5 minutes", "2 days 3 hours", "45 seconds". */
export function duration(seconds) {
  const whole = Math.floor(Math.abs(seconds));
  const [days, hours, minutes] = [Math.floor(whole / 86400), Math.floor(whole / 3600) % 24, Math.floor(whole / 60) % 60];
  if (days) return hours ? `${count(days, "day")} ${count(hours, "hour")}` : count(days, "day");
  if (hours) return minutes ? `${count(hours, "hour")} ${count(minutes, "minute")}` : count(hours, "hour");
  if (minutes) return count(minutes, "minute");
  return count(whole, "second");
}

/** "in 59 minutes", "3 seconds ago" (the page speaks English, so these do too). A
 * secret said to expire "in 59 minutes" has at least that long. */
export function relativeTime(iso, now = Date.now()) {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  if (Math.abs(seconds) < 1) return "just now";
  return seconds > 0 ? `in ${duration(seconds)}` : `${duration(seconds)} ago`;
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
  [/\bburnafter-cli\//, "burnafter command line"],
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
  if (!agent) return "Unknown";
  const browser = BROWSERS.find(([pattern]) => pattern.test(agent));
  const system = SYSTEMS.find(([pattern]) => pattern.test(agent));
  if (browser && system) return `${browser[1]} on ${system[1]}`;
  if (browser) return browser[1];
  const first = agent.trim().split(/[\s/;(]/)[0].slice(0, 32);
  const name = first && first !== "Mozilla" ? first : "A browser";
  return system ? `${name} on ${system[1]}` : name;
}
