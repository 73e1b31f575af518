// Small DOM helpers shared by the pages, and sizes, durations and times in the
// page's language.
import { formatMoment, relativeTime } from "./describe.js";
import { lang, t } from "./i18n.js";

export const byId = (id) => document.getElementById(id);

export function show(element, visible = true) {
  element.hidden = !visible;
}

export function say(element, text, kind = null) {
  element.textContent = text;
  element.classList.remove("notice-error", "notice-warning", "notice-success");
  if (kind) element.classList.add(`notice-${kind}`);
  show(element, Boolean(text));
}

export function focusHeading(element) {
  element.focus({ preventScroll: false });
}

/** Buttons with data-copy="ID" copy that field's value. */
export function wireCopyButtons(root = document) {
  for (const button of root.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const field = byId(button.dataset.copy);
      const original = button.textContent;
      try {
        await navigator.clipboard.writeText(field.value);
        // Translators: a copy button's words for 2 s after a click.
        button.textContent = t("Copied");
      } catch {
        field.select();
        // Translators: a copy button's words for 2 s when the browser cannot copy: the text is selected.
        button.textContent = t("Press Ctrl+C");
      }
      setTimeout(() => {
        button.textContent = original;
      }, 2000);
    });
  }
}

const dateFormat = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });

export function formatTime(iso) {
  return iso ? dateFormat.format(new Date(iso)) : "—";
}

const unitFormats = new Map();

/** ``amount`` of ``unit`` (an Intl unit: "kilobyte", "day"…) as the page's language writes it. */
function inUnit(amount, unit, unitDisplay, digits = 0) {
  const key = `${unit}/${unitDisplay}/${digits}`;
  if (!unitFormats.has(key)) {
    const options = { style: "unit", unit, unitDisplay, minimumFractionDigits: digits, maximumFractionDigits: digits };
    unitFormats.set(key, new Intl.NumberFormat(lang, options));
  }
  return unitFormats.get(key).format(amount);
}

/** "512 bytes", "1.5 kB", "12 kB", "3.4 MB" (1 kB here is 1024 bytes). */
export function formatBytes(count) {
  if (count < 1024) return inUnit(count, "byte", "long");
  if (count < 1024 * 1024) return inUnit(count / 1024, "kilobyte", "short", count < 10240 ? 1 : 0);
  return inUnit(count / (1024 * 1024), "megabyte", "short", 1);
}

/** "1 day", "6 hours", "30 minutes", "45 seconds": in the largest unit that divides it. */
export function formatDuration(seconds) {
  const units = [
    [86400, "day"],
    [3600, "hour"],
    [60, "minute"],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) return inUnit(seconds / size, name, "long");
  }
  return inUnit(seconds, "second", "long");
}

/** A translated message whose {name}s are elements: ``withNodes(t("ended {when}"),
 * { when: span })`` gives ["ended ", span], for ``append``. A {name} not in ``nodes`` stays. */
export function withNodes(message, nodes) {
  const pieces = message.split(/\{(\w+)\}/); // text, name, text, name, …, text
  return pieces
    .map((piece, at) => (at % 2 === 0 ? piece : piece in nodes ? nodes[piece] : `{${piece}}`))
    .filter((piece) => piece !== "");
}

/**
 * Why this page cannot encrypt or decrypt here, or null when it can. Browsers give
 * pages their cryptography (WebCrypto, crypto.subtle) only in a secure context: a
 * page served over HTTPS, or from localhost on the machine itself. Over plain http
 * from any other address it is missing, and nothing can be sealed or opened.
 */
export function insecureContextProblem(win = globalThis) {
  if (win.isSecureContext && win.crypto && win.crypto.subtle) return null;
  const { protocol, host } = win.location;
  if (win.isSecureContext) {
    return {
      title: t("This browser cannot encrypt or decrypt secrets."),
      why: t("It does not offer the encryption this page needs (WebCrypto). Nothing has been sent anywhere."),
      fix: t("Open this page in a current version of Firefox, Chrome, Edge or Safari."),
    };
  }
  return {
    title: t("This page cannot work over a plain http connection."),
    why: t(
      "It was opened as {address}, which your browser does not count as secure, so it " +
        "withholds the encryption this page needs (WebCrypto). Nothing has been sent anywhere.",
      { address: `${protocol}//${host}` },
    ),
    fix: t(
      "Open it over HTTPS, at an address that starts with https://, or, on the computer that " +
        "runs this service, as http://localhost. If you run this service, serve it over HTTPS.",
    ),
  };
}

/**
 * Check the secure context before anything can be typed: when the page cannot
 * encrypt here, say why and what to do in a notice placed before ``element``, and
 * disable every control of ``form``. Returns true when the page can go on.
 * ``extra`` adds a paragraph for this page (the open page: the link still works).
 */
export function requireSecureContext(form, { element = form, extra = "" } = {}) {
  const problem = insecureContextProblem();
  if (!problem) return true;
  const notice = document.createElement("div");
  notice.id = "insecure-context";
  notice.className = "notice notice-error";
  notice.setAttribute("role", "alert");
  const title = document.createElement("strong");
  title.textContent = problem.title;
  const why = document.createElement("p");
  why.textContent = problem.why;
  const fix = document.createElement("p");
  fix.textContent = problem.fix;
  notice.append(title, why, fix);
  if (extra) {
    const more = document.createElement("p");
    more.textContent = extra;
    notice.append(more);
  }
  element.before(notice);
  for (const control of form.elements) control.disabled = true;
  form.setAttribute("aria-disabled", "true");
  return false;
}

/** An element with its text and class: text never as markup. */
export function element(tag, text = "", className = "") {
  const made = document.createElement(tag);
  if (text) made.textContent = text;
  if (className) made.className = className;
  return made;
}

/** A moment to the second, with its zone, and how long ago or until ("—" for none). */
export function moment(iso, relativeFirst = false) {
  if (!iso) return ["—"];
  const exact = element("time", formatMoment(iso), "moment");
  exact.dateTime = iso;
  const relative = element("span", relativeTime(iso), "relative");
  return relativeFirst ? [relative, " ", exact] : [exact, " ", relative];
}
