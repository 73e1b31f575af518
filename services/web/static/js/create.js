// The create page: encrypt here, post only ciphertext and verifiers. A secret is a
// protocol v2 content: sealed in segments as its files are read slice by slice, the
// first segment posted with the link (a password is that one request), the rest
// uploaded in order with a progress bar, resuming by itself after a dropped
// connection, until the sender cancels. With recipients added (issue 16), the content
// is sealed once and each person gets a link of their own, with its own key, views
// and passphrase; their names are sealed here under the receipt key.
import * as api from "./api.js";
import { ContentSealer, newContentKey, prepareContent, prepareShare } from "./content.js";
import { LABEL_BYTES } from "./envelope.js";
import { Attachments } from "./attaching.js";
import { FALLBACK_LIMITS, checkedNotify, fillExpiry, fillNotify, loadLimits } from "./choices.js";
import { times } from "./describe.js";
import { buildLink } from "./links.js";
import { PASSWORD_KINDS, generate, passphraseStrength } from "./passwords.js";
import { drawQr } from "./qr.js";
import { showUploadStart, uploadRest, uploadSubject } from "./sending.js";
import { byId, focusHeading, formatTime, requireSecureContext, say, show, wireCopyButtons } from "./ui.js";

// The secret's text. One final newline is not part of it (what a pasted line
// usually ends with), the same rule as `burnafter send` (README, "Command line").
function secretText() {
  return byId("secret-text").value.replace(/\n$/, "");
}

const form = byId("create-form");
const error = byId("create-error");
const button = byId("create-button");
const attached = new Attachments({
  text: secretText,
  limit: FALLBACK_LIMITS.max_content_bytes,
  onChange: () => updateCreateButton(),
});
let limits = FALLBACK_LIMITS;
let mayCreate = true;
let busy = false; // a create is in flight: a second click or Enter does nothing
let cancel = null; // the AbortController of the upload in flight

/** "once" for 1, "N times" otherwise. */

function updateCreateButton() {
  button.disabled = !mayCreate || attached.over || busy;
}

/** "Create secret link", or "Create 3 secret links" with recipients added. */
function createLabel() {
  return recipients.length > 1 ? `Create ${recipients.length} secret links` : "Create secret link";
}

// The recipients (issue 16): one row each, in the order added, which is their
// order in the share. No row: one link, as before.
const recipients = []; // {item, legend, name, views, passphrase, problem, remove}
let recipientSerial = 0; // ids of rows never reused, so a label always finds its field
const utf8 = new TextEncoder();

const maxRecipients = () => limits.max_recipients ?? FALLBACK_LIMITS.max_recipients;

/** A recipient's field that needs fixing: the message, and where the focus goes. */
class FieldProblem extends RangeError {
  constructor(message, field) {
    super(message);
    this.field = field;
  }
}

function element(tag, { text = "", className = "", ...attributes } = {}) {
  const made = document.createElement(tag);
  if (text) made.textContent = text;
  if (className) made.className = className;
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  return made;
}

/** A labelled input in a row: the field's box, and the input. */
function rowField(className, labelText, input, optional = "") {
  const box = element("div", { className: `field ${className}` });
  const label = element("label", { text: labelText });
  label.htmlFor = input.id;
  if (optional) label.append(" ", element("span", { text: optional, className: "optional" }));
  box.append(label, input);
  return box;
}

/** What is wrong with a name as typed, or "" when it will do. */
function nameProblem(name) {
  if (!name) return "Type their name: only you see it, on your receipt.";
  const bytes = utf8.encode(name).length;
  if (bytes > LABEL_BYTES) return `The name is too long: at most ${LABEL_BYTES} bytes (it has ${bytes}).`;
  return "";
}

function showRowProblem(row, text) {
  if (row.problem.textContent !== text) row.problem.textContent = text;
  show(row.problem, Boolean(text));
  if (text) row.name.setAttribute("aria-invalid", "true");
  else row.name.removeAttribute("aria-invalid");
}

function addRecipient() {
  if (recipients.length >= maxRecipients()) return;
  const serial = ++recipientSerial;
  const id = (part) => `recipient-${serial}-${part}`;
  const name = element("input", { id: id("name"), type: "text", autocomplete: "off", spellcheck: "false" });
  name.required = true;
  const views = element("input", { id: id("views"), type: "number", min: "1", inputmode: "numeric" });
  views.max = String(limits.max_views);
  views.value = byId("views").value; // the form's, until changed here
  const passphrase = element("input", { id: id("passphrase"), type: "password", autocomplete: "new-password" });
  const problem = element("p", { id: id("problem"), className: "field-problem" });
  problem.hidden = true;
  name.setAttribute("aria-describedby", problem.id);
  const remove = element("button", { text: "Remove", className: "button-link recipient-remove" });
  remove.type = "button";
  const legend = element("legend");
  const fields = element("div", { className: "recipient-fields" });
  fields.append(
    rowField("recipient-name", "Name", name),
    rowField("recipient-views", "Views", views),
    rowField("recipient-passphrase", "Own passphrase", passphrase, "(optional)"),
  );
  const fieldset = element("fieldset");
  fieldset.append(legend, remove, fields, problem);
  const item = element("li", { className: "recipient" });
  item.append(fieldset);
  const row = { item, legend, name, views, passphrase, problem, remove };
  name.addEventListener("input", () => {
    // Said while typing only once the name is too long; an empty one at Create.
    showRowProblem(row, name.value.trim() ? nameProblem(name.value.trim()) : "");
  });
  views.addEventListener("input", () => {
    views.dataset.own = "yes";
    updateViewsSuffix();
  });
  remove.addEventListener("click", () => removeRecipient(row));
  recipients.push(row);
  byId("recipient-list").append(item);
  renumberRecipients();
  name.focus();
}

function removeRecipient(row) {
  const at = recipients.indexOf(row);
  if (at < 0) return;
  recipients.splice(at, 1);
  row.item.remove();
  renumberRecipients();
  say(byId("recipient-note"), `Removed recipient ${at + 1}.`);
  // The focus stays in the list: on the row that took its place, or the one before.
  const next = recipients[at] || recipients[at - 1];
  (next ? next.name : byId("add-recipient")).focus();
}

/** Legends, remove buttons, the add button and Create's words, after a change. */
function renumberRecipients() {
  recipients.forEach((row, index) => {
    row.legend.textContent = `Recipient ${index + 1}`;
    row.remove.setAttribute("aria-label", `Remove recipient ${index + 1}`);
  });
  const full = recipients.length >= maxRecipients();
  const add = byId("add-recipient");
  add.textContent = recipients.length ? "Add another recipient" : "Add a recipient";
  add.disabled = full;
  const note = byId("recipient-note");
  if (full) say(note, `That is the most: a secret goes to at most ${maxRecipients()} people at once.`);
  else if (note.textContent.startsWith("That is the most")) say(note, "");
  show(byId("recipient-list"), recipients.length > 0);
  if (!busy) button.textContent = createLabel();
  updateViewsSuffix();
}

/** The rows as prepareShare takes them, checked: names, views and passphrases. */
function readRecipients(defaultPassphrase) {
  return recipients.map((row, index) => {
    const name = row.name.value.trim();
    const problem = nameProblem(name);
    showRowProblem(row, problem);
    if (problem) throw new FieldProblem(`Recipient ${index + 1}: ${problem}`, row.name);
    const views = Number(row.views.value);
    if (!Number.isInteger(views) || views < 1 || views > limits.max_views) {
      throw new FieldProblem(`Recipient ${index + 1}: a link can be viewed between 1 and ${limits.max_views} times.`, row.views);
    }
    return { name, maxViews: views, passphrase: row.passphrase.value || defaultPassphrase };
  });
}

function fillChoices() {
  fillExpiry(byId("expires"), limits);
  const views = byId("views");
  views.max = String(limits.max_views);
  for (const row of recipients) row.views.max = String(limits.max_views);
  updateViewsSuffix();
  byId("max-attempts").textContent = String(limits.max_attempts);
  fillNotify(byId("notify-choices"), byId("notify-field"), limits);
  mayCreate = limits.may_create !== false;
  byId("sign-in-needed").hidden = mayCreate;
  updateCreateButton();
}

function updateViewsSuffix() {
  const views = byId("views").value;
  const count = Number(views);
  byId("views-suffix").textContent = `${count === 1 ? "time" : "times"}, at most ${limits.max_views}`;
  // A recipient's views follow the form's until they are changed in its row.
  for (const row of recipients) if (!row.views.dataset.own) row.views.value = views;
  // With one view the secret is gone once opened: nothing is left to delete.
  byId("recipient-may-delete-field").hidden = !linkViews().some((n) => n > 1);
}

/** The views of each link to be: the form's, or each recipient's. */
function linkViews() {
  return recipients.length ? recipients.map((row) => Number(row.views.value)) : [Number(byId("views").value)];
}

/** The generator's options: characters or words, and how many. */
function wireGenerator() {
  const text = byId("secret-text");
  const kind = byId("generate-kind");
  const length = byId("generate-length");
  const question = byId("replace-question");
  const note = byId("generated-note");

  kind.addEventListener("change", () => {
    const spec = PASSWORD_KINDS[kind.value];
    length.min = String(spec.min);
    length.max = String(spec.max);
    length.value = String(spec.default);
  });

  const fill = () => {
    let generated;
    try {
      generated = generate(kind.value, length.value);
    } catch (problem) {
      say(note, problem.message);
      length.focus();
      return;
    }
    text.value = generated.value;
    text.dispatchEvent(new Event("input"));
    const count = `${length.value} ${kind.value}`;
    say(note, `Generated a password of ${count}, about ${generated.bits} bits of randomness.`);
    text.focus();
  };
  const closeQuestion = (focus) => {
    show(question, false);
    focus.focus();
  };

  byId("generate-password").addEventListener("click", () => {
    if (text.value.trim()) {
      say(note, "");
      show(question);
      byId("replace-yes").focus();
    } else {
      fill();
    }
  });
  byId("replace-yes").addEventListener("click", () => {
    show(question, false);
    fill();
  });
  byId("replace-no").addEventListener("click", () => closeQuestion(text));
  question.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeQuestion(byId("generate-password"));
  });
  // Typing again answers the question: what is in the field is what counts.
  text.addEventListener("input", () => show(question, false));
}

function wirePassphrase() {
  const passphrase = byId("passphrase");
  const toggle = byId("toggle-passphrase");
  passphrase.addEventListener("input", () => {
    byId("passphrase-strength").textContent = passphraseStrength(passphrase.value).text;
  });
  toggle.addEventListener("click", () => {
    const showing = passphrase.type === "text";
    passphrase.type = showing ? "password" : "text";
    toggle.textContent = showing ? "Show" : "Hide";
    toggle.setAttribute("aria-pressed", String(!showing));
  });
}

function readOptions() {
  const views = Number(byId("views").value);
  if (!Number.isInteger(views) || views < 1 || views > limits.max_views) {
    throw new RangeError(`It can be viewed between 1 and ${limits.max_views} times.`);
  }
  const passphrase = byId("passphrase").value;
  return {
    maxViews: views,
    expiresIn: Number(byId("expires").value),
    passphrase: passphrase || null,
    label: byId("label").value.trim() || undefined,
    notify: checkedNotify(form),
    recipientMayDelete: linkViews().some((n) => n > 1) && byId("recipient-may-delete").checked,
  };
}

/** The link of each recipient, with its name, a copy button and its QR code. */
function showRecipientLinks(created, prepared, chosen) {
  const lines = [];
  const items = chosen.map((recipient, index) => {
    const link = created.links?.find((made) => made.recipient === index);
    if (!link) throw new Error("The server did not answer a link for every recipient: nothing can be sent. Try again.");
    const url = buildLink("s", link.id, prepared.linkKeys[index]);
    lines.push(`${recipient.name}: ${url}`);
    const item = element("li", { className: "recipient-link" });
    const views = link.max_views ?? recipient.maxViews;
    const about = `Can be viewed ${times(views)}${recipient.passphrase ? ", with its passphrase" : ""}.`;
    const field = element("input", { id: `recipient-link-${index}`, type: "text", "aria-label": `Link for ${recipient.name}` });
    field.readOnly = true;
    field.value = url;
    const copy = element("button", { text: "Copy link", className: "button-primary", "aria-label": `Copy link for ${recipient.name}` });
    copy.type = "button";
    copy.dataset.copy = field.id;
    const row = element("div", { className: "with-button" });
    row.append(field, copy);
    const figure = element("figure", { className: "qr qr-small" });
    const canvas = element("canvas", {
      width: "160",
      height: "160",
      role: "img",
      "aria-label": `QR code of the link for ${recipient.name}`,
    });
    figure.append(canvas);
    item.append(element("h3", { text: recipient.name }), element("p", { text: about, className: "hint" }), row, figure);
    drawQr(canvas, url);
    return item;
  });
  const list = byId("recipient-links");
  list.replaceChildren(...items);
  wireCopyButtons(list);
  byId("all-links").value = lines.join("\n");
  show(byId("all-links"), false);
}

async function copyAll() {
  const copy = byId("copy-all");
  const all = byId("all-links");
  try {
    await navigator.clipboard.writeText(all.value);
    copy.textContent = "Copied";
  } catch {
    // No clipboard here: the lines in a field, selected, to copy by hand.
    show(all);
    all.focus();
    all.select();
    copy.textContent = "Press Ctrl+C";
  }
  setTimeout(() => {
    copy.textContent = "Copy all";
  }, 2000);
}

function showResult(created, prepared, options, chosen) {
  const several = chosen.length > 0;
  byId("receipt-link").value = buildLink("r", created.id, prepared.receiptKey);
  if (several) {
    showRecipientLinks(created, prepared, chosen);
    byId("result-title").textContent = chosen.length > 1 ? `Your ${chosen.length} secret links are ready` : "Your secret link is ready";
    byId("result-summary").textContent =
      `One link for each person, each opened with its own key. They expire ${formatTime(created.expires_at)}, ` +
      "or sooner once their views are used.";
  } else {
    const shareLink = buildLink("s", created.id, prepared.linkKey);
    byId("share-link").value = shareLink;
    drawQr(byId("share-qr"), shareLink);
    byId("result-summary").textContent =
      `It can be viewed ${times(created.max_views)} and expires ${formatTime(created.expires_at)}, ` +
      "whichever comes first.";
  }
  show(byId("single-link"), !several);
  show(byId("single-qr"), !several);
  show(byId("recipient-results"), several);
  const passphrases = several ? chosen.filter((recipient) => recipient.passphrase).length : Number(Boolean(options.passphrase));
  byId("passphrase-reminder").textContent =
    passphrases > 1
      ? "Send each passphrase over another channel, such as a call or a chat, never in the same message as its link."
      : "Send the passphrase over another channel, such as a call or a chat, never in the same message as the link.";
  show(byId("passphrase-reminder"), passphrases > 0);
  form.reset();
  for (const row of [...recipients]) row.item.remove();
  recipients.length = 0;
  renumberRecipients();
  say(byId("recipient-note"), "");
  updateViewsSuffix();
  attached.clear();
  show(byId("compose"), false);
  show(byId("result"));
  focusHeading(byId("result-title"));
}

// Leaving the page during an upload would cut it: the browser asks first.
const holdPage = (event) => event.preventDefault();

/** Seal and send: segment 0 with the link, or the links of ``chosen`` recipients
 * (POST /contents), then the others in order. */
async function send(content, options, chosen, signal) {
  const contentKey = newContentKey();
  const sealer = new ContentSealer(contentKey, content, limits.segment_size);
  if (sealer.plaintextLength > limits.max_content_bytes) throw new RangeError(attached.tooLarge());
  const prepared = chosen.length
    ? await prepareShare(sealer, contentKey, chosen, options)
    : await prepareContent(sealer, contentKey, options);
  const subject = uploadSubject(content, "the secret");
  showUploadStart(sealer, subject);
  button.textContent = "Sending…";
  const created = await api.createContent(prepared.body, signal);
  await uploadRest(sealer, created.id, created.upload, subject, signal);
  return { created, prepared };
}

function explainFailure(problem, signal) {
  if (signal.aborted) return ["Cancelled: nothing was shared, and the part already uploaded is deleted by itself. The form is as you left it.", "warning"];
  if (problem instanceof api.ApiProblem && problem.status === 413) return [attached.tooLarge(), "error"];
  if (problem instanceof DOMException && problem.name === "NotReadableError") {
    return ["A file could not be read any more: it was moved or changed while it was being encrypted. Attach it again.", "error"];
  }
  return [problem.message, "error"];
}

async function submit(event) {
  event.preventDefault();
  if (busy) return; // a double click, or Enter while encrypting: one secret only
  if (attached.over) {
    byId("size-warning").scrollIntoView({ block: "center" });
    return;
  }
  say(error, "");
  busy = true;
  updateCreateButton();
  button.setAttribute("aria-busy", "true");
  button.textContent = "Encrypting…";
  cancel = new AbortController();
  const { signal } = cancel;
  addEventListener("beforeunload", holdPage);
  try {
    const options = readOptions();
    const chosen = readRecipients(options.passphrase);
    const content = attached.content();
    if (!content.text && content.files.length === 0) {
      throw new RangeError("Type or paste a secret, or attach a file.");
    }
    const { created, prepared } = await send(content, options, chosen, signal);
    showResult(created, prepared, options, chosen);
  } catch (problem) {
    say(error, ...explainFailure(problem, signal));
    if (problem instanceof FieldProblem) problem.field.focus();
  } finally {
    removeEventListener("beforeunload", holdPage);
    cancel = null;
    show(byId("upload"), false);
    busy = false;
    button.removeAttribute("aria-busy");
    button.textContent = createLabel();
    updateCreateButton();
    if (signal.aborted) button.focus(); // the Cancel button is gone: focus where the sender goes on
  }
}

async function start() {
  // Without a secure context the browser withholds WebCrypto: say so before
  // anything is typed, and leave the form disabled.
  if (!requireSecureContext(form)) return;
  attached.wire(byId("secret-text"));
  wireGenerator();
  wirePassphrase();
  wireCopyButtons();
  byId("views").addEventListener("input", updateViewsSuffix);
  byId("add-recipient").addEventListener("click", addRecipient);
  byId("copy-all").addEventListener("click", copyAll);
  form.addEventListener("submit", submit);
  byId("upload-cancel").addEventListener("click", () => {
    cancel?.abort(new DOMException("The sender cancelled the upload.", "AbortError"));
  });
  limits = await loadLimits((words) => say(error, words, "warning"));
  fillChoices();
  renumberRecipients();
  attached.setLimit(limits.max_content_bytes);
}

start();
