// The fill page of a request (issue 17): whoever holds the fill link reads the
// asker's note and answers, once, with no account. The answer is sealed here as any
// v2 content, its content key wrapped to the asker's public key (in the link's
// fragment), so neither this link nor the server can open it.
import * as api from "./api.js";
import { prepareAnswer, splitFillLinkKey } from "./asking.js";
import { Attachments } from "./attaching.js";
import { ContentError, ContentSealer, newContentKey } from "./content.js";
import { formatMoment, relativeTime } from "./describe.js";
import { EnvelopeError, b64uDecode, b64uEncode } from "./envelope.js";
import { t } from "./i18n.js";
import { MalformedLink, currentLink, repairAddress } from "./links.js";
import { fillKeys, openNote } from "./request.js";
import { showUploadStart, uploadRest, uploadSubject } from "./sending.js";
import { transient } from "./transfer.js";
import { byId, focusHeading, requireSecureContext, say, show } from "./ui.js";

const status = byId("status");
const form = byId("answer-form");
const error = byId("answer-error");
const button = byId("answer-button");
const text = byId("answer-text");

const ANSWERED = t("This request has already been answered. An answer can be sent only once.");
const EXPIRED = t("This request has expired: it can no longer be answered. Ask the person who sent it for a new one.");
const DAMAGED = t("The note does not open with this link: the part after # is damaged. Ask the person who sent it for the full link.");
const NOT_FOUND = t(
  "No request matches this link: the link is wrong, or the request was deleted. Ask the person who sent it for the full link.",
);

// The request on the page: its link, what the api said of it, and the service's
// segment size.
let current = null;
let busy = false; // an answer in flight: a second click or Enter does nothing

const attached = new Attachments({
  text: () => text.value,
  limit: 0,
  kind: "answer", // its warnings say "your answer", "send it"
  onChange: () => updateButton(),
});

function updateButton() {
  button.disabled = busy || attached.over;
}

/** An end of the road: what happened, and nothing to fill in. */
function ended(message, { retry = false } = {}) {
  show(form, false);
  say(status, message, "error");
  show(byId("retry-row"), retry);
  focusHeading(byId("fill-title"));
}

function refusal(problem) {
  if (problem instanceof api.ApiProblem) {
    if (problem.kind === "request-answered") return ANSWERED;
    if (problem.kind === "request-expired") return EXPIRED;
    if (problem.status === 404) return NOT_FOUND;
  }
  return null;
}

function showRequest(opened, note) {
  const noteField = byId("request-note");
  noteField.textContent = note || t("They left no note.");
  noteField.classList.toggle("request-note-empty", !note);
  const closes = { relative: relativeTime(opened.expires_at), moment: formatMoment(opened.expires_at) };
  // Translators: {relative} is how long until, "in 2 days"; {moment} a date and time.
  byId("request-info").textContent = t("The request closes {relative} ({moment}). You can answer it once.", closes);
  show(byId("attach-field"), opened.files_allowed);
  attached.setLimit(opened.max_content_bytes);
  show(status, false);
  show(form);
  focusHeading(byId("fill-title"));
}

async function start() {
  let link;
  try {
    link = currentLink("q");
  } catch (problem) {
    if (problem instanceof MalformedLink) return ended(problem.message);
    throw problem;
  }
  repairAddress(link);
  show(byId("retry-row"), false);
  say(status, t("Checking the link…"));
  try {
    const { fillKey } = splitFillLinkKey(link.key);
    const opened = await api.openRequest(link.id, b64uEncode((await fillKeys(fillKey)).claim));
    const note = opened.note ? await openNote(fillKey, b64uDecode(opened.note)) : "";
    current = { link, opened, segmentSize: opened.segment_size }; // the answer's segments
    showRequest(opened, note);
  } catch (problem) {
    const known = refusal(problem);
    if (known) return ended(known);
    if (problem instanceof EnvelopeError) return ended(DAMAGED);
    ended(problem.message, { retry: transient(problem) });
  }
}

/** The request took the answer, and its upload stopped: nothing more can be sent. */
class UploadStopped extends Error {}

// Leaving the page during an upload would cut it: the browser asks first.
const holdPage = (event) => event.preventDefault();

async function send(content) {
  const { link, opened, segmentSize } = current;
  const contentKey = newContentKey();
  const sealer = new ContentSealer(contentKey, content, segmentSize);
  if (sealer.plaintextLength > opened.max_content_bytes) throw new RangeError(attached.tooLarge());
  const body = await prepareAnswer(sealer, contentKey, link.key);
  const subject = uploadSubject(content, "answer");
  showUploadStart(sealer, subject);
  button.textContent = t("Sending…");
  const answered = await api.answerRequest(link.id, body);
  try {
    await uploadRest(sealer, link.id, answered.upload, subject);
  } catch (problem) {
    // The request took this answer: it cannot take another, whole or not.
    throw new UploadStopped(
      t(
        "The upload stopped ({reason}) and the answer did not arrive whole. The request cannot be answered again: ask the person who sent it for a new one.",
        { reason: problem.message },
      ),
    );
  }
}

/** Why an answer was not sent, when it can be sent again. */
function failure(problem) {
  if (problem instanceof api.ApiProblem && problem.status === 413) return attached.tooLarge();
  // A file that does not hold the size it had when attached was changed meanwhile.
  if ((problem instanceof DOMException && problem.name === "NotReadableError") || problem instanceof ContentError) {
    return t("A file could not be read any more: it was moved or changed while it was being encrypted. Attach it again.");
  }
  // The sealing's own errors are English, for developers: not shown here.
  if (problem instanceof EnvelopeError) return t("The answer could not be encrypted in this browser. Nothing was sent.");
  return problem.message;
}

async function submit(event) {
  event.preventDefault();
  if (busy || !current) return; // a double click, or Enter while sending: one answer only
  if (attached.over) {
    byId("size-warning").scrollIntoView({ block: "center" });
    return;
  }
  const content = attached.content();
  if (!content.text && content.files.length === 0) {
    say(error, t("Type or paste the secret, or attach a file."), "error");
    text.focus();
    return;
  }
  say(error, "");
  busy = true;
  updateButton();
  button.setAttribute("aria-busy", "true");
  button.textContent = t("Encrypting…");
  addEventListener("beforeunload", holdPage);
  try {
    await send(content);
    text.value = "";
    attached.clear();
    show(byId("asked"), false);
    show(byId("sent"));
    focusHeading(byId("sent-title"));
  } catch (problem) {
    const known = problem instanceof UploadStopped ? problem.message : refusal(problem);
    if (known) ended(known);
    else say(error, failure(problem), "error");
  } finally {
    removeEventListener("beforeunload", holdPage);
    show(byId("upload"), false);
    busy = false;
    button.removeAttribute("aria-busy");
    button.textContent = t("Send the answer");
    updateButton();
  }
}

if (requireSecureContext(form, { element: status, extra: t("Nothing has been sent: the link still works over HTTPS.") })) {
  attached.wire(text);
  form.addEventListener("submit", submit);
  byId("retry").addEventListener("click", () => start());
  start();
} else {
  show(status, false);
}
