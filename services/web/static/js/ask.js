// The ask page (issue 17): a request for a secret. The keys are made here: the fill
// link (the fill key and the public key) goes to the person who has the secret, the
// collect link (the private key) stays with the asker. The server gets the note
// sealed and verifiers only.
import * as api from "./api.js";
import { prepareAsk } from "./asking.js";
import { checkedNotify, fillExpiry, fillNotify, loadLimits } from "./choices.js";
import { EnvelopeError } from "./envelope.js";
import { numbers, t, tn } from "./i18n.js";
import { buildLink } from "./links.js";
import { drawQr } from "./qr.js";
import { NOTE_BYTES } from "./request.js";
import { formatSize, textWeight } from "./sizes.js";
import { byId, focusHeading, formatTime, requireSecureContext, say, show, wireCopyButtons } from "./ui.js";

const MiB = 1024 * 1024;
// The largest answer's choices below the service's own limit, which is offered too.
const SIZE_CHOICES = [64 * 1024, MiB, 10 * MiB, 100 * MiB, 1024 * MiB];

const form = byId("ask-form");
const error = byId("ask-error");
const button = byId("ask-button");
const note = byId("note");
let limits = null;
let busy = false; // an ask in flight: a second click or Enter does nothing


function noteOver() {
  return textWeight(note.value) > NOTE_BYTES;
}

/** The note's count as it is typed; over the limit, a warning and Create waits. */
function countNote() {
  const bytes = textWeight(note.value);
  const counter = byId("note-count");
  const said = { bytes: numbers.format(bytes), max: numbers.format(NOTE_BYTES) };
  // Translators: the note's length as it is typed, in bytes of UTF-8.
  const count = t("{bytes} of {max} bytes", said);
  // Translators: the note's length as it is typed, over the most it may have.
  const over = t("{bytes} of {max} bytes: too long, shorten it", said);
  counter.textContent = bytes > NOTE_BYTES ? over : count;
  counter.classList.toggle("counter-over", bytes > NOTE_BYTES);
  if (bytes > NOTE_BYTES) note.setAttribute("aria-invalid", "true");
  else note.removeAttribute("aria-invalid");
  updateButton();
}

/** Create waits for the service's limits, while an ask is in flight, while the note
 * is too long, and for good when REQUEST_POLICY does not let this visitor ask. */
function updateButton() {
  button.disabled = busy || limits === null || noteOver() || limits.may_ask === false;
}

function fillChoices() {
  fillExpiry(byId("expires"), limits);
  fillNotify(byId("notify-choices"), byId("notify-field"), limits);
  byId("views").max = String(limits.max_views);
  updateViewsSuffix();
  const cap = limits.max_content_bytes;
  const sizes = [...SIZE_CHOICES.filter((size) => size < cap), cap];
  byId("max-size").replaceChildren(
    ...sizes.map((size) => {
      // Translators: the largest answer's size the service takes, as "100.0 MB (the most)".
      const words = size === cap ? t("{size} (the most)", { size: formatSize(size, { down: true }) }) : formatSize(size);
      const option = new Option(words, String(size));
      option.selected = size === cap;
      return option;
    }),
  );
  show(byId("email-field"), limits.email_notices === true);
  // REQUEST_POLICY: said before the form is filled in, not after it is sent.
  show(byId("sign-in-needed"), limits.may_ask === false);
  updateButton();
}

function updateViewsSuffix() {
  const count = Number(byId("views").value);
  // Translators: after the views field, as "Can be viewed [3] times, at most 100".
  byId("views-suffix").textContent = tn("time, at most {max}", "times, at most {max}", count, { max: numbers.format(limits.max_views) });
}

function readRequest() {
  const views = Number(byId("views").value);
  if (!Number.isInteger(views) || views < 1 || views > limits.max_views) {
    throw new RangeError(
      tn("The answer can be opened between 1 and {count} time.", "The answer can be opened between 1 and {count} times.", limits.max_views),
    );
  }
  const filesAllowed = byId("files-allowed").checked;
  return {
    note: note.value.trim(),
    filesAllowed,
    maxContentBytes: filesAllowed ? Number(byId("max-size").value) : limits.max_content_bytes,
    maxViews: views,
    expiresIn: Number(byId("expires").value),
    passphrase: byId("passphrase").value || null,
    notify: checkedNotify(form),
    email: !byId("email-field").hidden && byId("email").checked,
  };
}

function showResult(asked, prepared, chosen) {
  const fill = buildLink("q", asked.id, prepared.fillLinkKey);
  const collect = buildLink("c", asked.id, prepared.collectLinkKey);
  byId("fill-link").value = fill;
  drawQr(byId("fill-qr"), fill);
  byId("collect-link").value = collect;
  byId("collect-open").href = collect;
  const time = formatTime(asked.expires_at);
  // Translators: "once" (the answer opened) is for 1; where that form serves other counts too (21, 31…), write {count} in it.
  byId("result-summary").textContent = tn(
    "They can answer until {time}, once. You can then open the answer once, with the collect link.",
    "They can answer until {time}, once. You can then open the answer {count} times, with the collect link.",
    chosen.maxViews,
    { time },
  );
  show(byId("passphrase-reminder"), Boolean(chosen.passphrase));
  form.reset();
  countNote();
  show(byId("compose"), false);
  show(byId("result"));
  focusHeading(byId("result-title"));
}

/** Why the api refused, said where the asker looks: sign-in apart. */
function refused(problem) {
  if (problem instanceof api.ApiProblem && (problem.status === 401 || problem.status === 403)) {
    show(byId("sign-in-needed"));
    byId("sign-in-needed").focus();
    return;
  }
  // The note's sealing refuses what cannot go in it, in English for developers.
  if (problem instanceof EnvelopeError) {
    say(error, t("The note cannot be sent: it is too long, or it holds a character that cannot be sent (NUL)."), "error");
    return;
  }
  say(error, problem.message, "error");
}

async function submit(event) {
  event.preventDefault();
  if (busy || limits === null || noteOver()) return;
  say(error, "");
  busy = true;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = t("Making the keys…");
  try {
    const chosen = readRequest();
    const prepared = await prepareAsk(chosen);
    const asked = await api.ask(prepared.body);
    showResult(asked, prepared, chosen);
  } catch (problem) {
    refused(problem);
  } finally {
    busy = false;
    button.removeAttribute("aria-busy");
    button.textContent = t("Create the request");
    countNote();
  }
}

function wirePassphrase() {
  const passphrase = byId("passphrase");
  const toggle = byId("toggle-passphrase");
  toggle.addEventListener("click", () => {
    const showing = passphrase.type === "text";
    passphrase.type = showing ? "password" : "text";
    // Translators: the button that shows or hides the passphrase as it is typed.
    toggle.textContent = showing ? t("Show") : t("Hide");
    toggle.setAttribute("aria-pressed", String(!showing));
  });
}

async function start() {
  updateButton(); // until the limits are here
  if (!requireSecureContext(form)) return;
  wireCopyButtons();
  wirePassphrase();
  note.addEventListener("input", countNote);
  byId("views").addEventListener("input", updateViewsSuffix);
  byId("files-allowed").addEventListener("change", (event) => show(byId("max-size-field"), event.target.checked));
  form.addEventListener("submit", submit);
  limits = await loadLimits((words) => say(error, words, "warning"));
  fillChoices();
  countNote();
}

start();
