// The create page: encrypt here, post only ciphertext and verifiers. A secret is a
// protocol v2 content: sealed in segments as its files are read slice by slice, the
// first segment posted with the link (a password is that one request), the rest
// uploaded in order with a progress bar, resuming by itself after a dropped
// connection, until the sender cancels. With recipients added (issue 16), the content
// is sealed once and each person gets a link of their own, with its own key, views
// and passphrase; their names are sealed here under the receipt key.
import * as api from "./api.js";
import { ContentError, ContentSealer, newContentKey, prepareContent, prepareShare } from "./content.js";
import { EnvelopeError, LABEL_BYTES } from "./envelope.js";
import { Attachments } from "./attaching.js";
import { FALLBACK_LIMITS, checkedNotify, fillExpiry, fillNotify, loadLimits } from "./choices.js";
import { numbers, t, tn } from "./i18n.js";
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

function updateCreateButton() {
  button.disabled = !mayCreate || attached.over || busy;
}

/** "Create secret link", or "Create 3 secret links" with recipients added. */
function createLabel() {
  // Translators: the create button, with 2 recipients or more added.
  return recipients.length > 1 ? tn("Create {count} secret link", "Create {count} secret links", recipients.length) : t("Create secret link");
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

/** What is wrong with a name as typed, or "" when it will do; with ``number``, the
 * sentence names the recipient (said above the form, away from the row). */
function nameProblem(name, number = null) {
  const bytes = utf8.encode(name).length;
  const said = { number: numbers.format(number ?? 0), max: numbers.format(LABEL_BYTES), bytes: numbers.format(bytes) };
  if (!name) {
    return number === null
      ? t("Type their name: only you see it, on your receipt.")
      : t("Recipient {number}: Type their name: only you see it, on your receipt.", said);
  }
  if (bytes > LABEL_BYTES) {
    return number === null
      ? t("The name is too long: at most {max} bytes (it has {bytes}).", said)
      : t("Recipient {number}: The name is too long: at most {max} bytes (it has {bytes}).", said);
  }
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
  // Translators: a button that takes a recipient off the list.
  const remove = element("button", { text: t("Remove"), className: "button-link recipient-remove" });
  remove.type = "button";
  const legend = element("legend");
  const fields = element("div", { className: "recipient-fields" });
  fields.append(
    // Translators: a recipient's name, only the sender sees it.
    rowField("recipient-name", t("Name"), name),
    // Translators: how many times this recipient's link can be opened.
    rowField("recipient-views", t("Views"), views),
    rowField("recipient-passphrase", t("Own passphrase"), passphrase, t("(optional)")),
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
  say(byId("recipient-note"), t("Removed recipient {number}.", { number: numbers.format(at + 1) }));
  // The focus stays in the list: on the row that took its place, or the one before.
  const next = recipients[at] || recipients[at - 1];
  (next ? next.name : byId("add-recipient")).focus();
}

/** Legends, remove buttons, the add button and Create's words, after a change. */
function renumberRecipients() {
  recipients.forEach((row, index) => {
    const number = numbers.format(index + 1);
    row.legend.textContent = t("Recipient {number}", { number });
    row.remove.setAttribute("aria-label", t("Remove recipient {number}", { number }));
  });
  const full = recipients.length >= maxRecipients();
  const add = byId("add-recipient");
  add.textContent = recipients.length ? t("Add another recipient") : t("Add a recipient");
  add.disabled = full;
  const note = byId("recipient-note");
  const most = tn(
    "That is the most: a secret goes to at most {count} person at once.",
    "That is the most: a secret goes to at most {count} people at once.",
    maxRecipients(),
  );
  if (full) say(note, most);
  else if (note.textContent === most) say(note, "");
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
    if (problem) throw new FieldProblem(nameProblem(name, index + 1), row.name);
    const views = Number(row.views.value);
    if (!Number.isInteger(views) || views < 1 || views > limits.max_views) {
      const number = numbers.format(index + 1);
      throw new FieldProblem(
        tn(
          "Recipient {number}: a link can be viewed between 1 and {count} time.",
          "Recipient {number}: a link can be viewed between 1 and {count} times.",
          limits.max_views,
          { number },
        ),
        row.views,
      );
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
  // Translators: after the views field, as "Can be viewed [3] times, at most 100".
  byId("views-suffix").textContent = tn("time, at most {max}", "times, at most {max}", count, { max: numbers.format(limits.max_views) });
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
    const count = Number(length.value);
    const bits = { bits: numbers.format(generated.bits) };
    say(
      note,
      kind.value === "words"
        ? tn(
            "Generated a password of {count} word, about {bits} bits of randomness.",
            "Generated a password of {count} words, about {bits} bits of randomness.",
            count,
            bits,
          )
        : tn(
            "Generated a password of {count} character, about {bits} bits of randomness.",
            "Generated a password of {count} characters, about {bits} bits of randomness.",
            count,
            bits,
          ),
    );
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
    // Translators: the button that shows or hides the passphrase as it is typed.
    toggle.textContent = showing ? t("Show") : t("Hide");
    toggle.setAttribute("aria-pressed", String(!showing));
  });
}

function readOptions() {
  const views = Number(byId("views").value);
  if (!Number.isInteger(views) || views < 1 || views > limits.max_views) {
    throw new RangeError(tn("It can be viewed between 1 and {count} time.", "It can be viewed between 1 and {count} times.", limits.max_views));
  }
  const label = byId("label").value.trim();
  const labelBytes = utf8.encode(label).length;
  if (labelBytes > LABEL_BYTES) {
    // The page's field counts characters; the label is sealed in a box of bytes.
    byId("label").closest("details")?.setAttribute("open", "");
    throw new FieldProblem(
      t("The private label is too long: at most {max} bytes (it has {bytes}).", {
        max: numbers.format(LABEL_BYTES),
        bytes: numbers.format(labelBytes),
      }),
      byId("label"),
    );
  }
  const passphrase = byId("passphrase").value;
  return {
    maxViews: views,
    expiresIn: Number(byId("expires").value),
    passphrase: passphrase || null,
    label: label || undefined,
    notify: checkedNotify(form),
    recipientMayDelete: linkViews().some((n) => n > 1) && byId("recipient-may-delete").checked,
  };
}

/** The link of each recipient, with its name, a copy button and its QR code. */
function showRecipientLinks(created, prepared, chosen) {
  const lines = [];
  const items = chosen.map((recipient, index) => {
    const link = created.links?.find((made) => made.recipient === index);
    if (!link) throw new Error(t("The server did not answer a link for every recipient: nothing can be sent. Try again."));
    const url = buildLink("s", link.id, prepared.linkKeys[index]);
    lines.push(`${recipient.name}: ${url}`);
    const item = element("li", { className: "recipient-link" });
    const views = link.max_views ?? recipient.maxViews;
    // Translators: "once" is for 1; where that form serves other counts too (21, 31…), write {count} in it.
    const withPassphrase = tn("Can be viewed once, with its passphrase.", "Can be viewed {count} times, with its passphrase.", views);
    // Translators: "once" is for 1; where that form serves other counts too (21, 31…), write {count} in it.
    const about = recipient.passphrase ? withPassphrase : tn("Can be viewed once.", "Can be viewed {count} times.", views);
    const named = { name: recipient.name };
    const field = element("input", { id: `recipient-link-${index}`, type: "text", "aria-label": t("Link for {name}", named) });
    field.readOnly = true;
    field.value = url;
    const copy = element("button", { text: t("Copy link"), className: "button-primary", "aria-label": t("Copy link for {name}", named) });
    copy.type = "button";
    copy.dataset.copy = field.id;
    const row = element("div", { className: "with-button" });
    row.append(field, copy);
    const figure = element("figure", { className: "qr qr-small" });
    const canvas = element("canvas", {
      width: "160",
      height: "160",
      role: "img",
      "aria-label": t("QR code of the link for {name}", named),
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
    copy.textContent = t("Copied");
  } catch {
    // No clipboard here: the lines in a field, selected, to copy by hand.
    show(all);
    all.focus();
    all.select();
    // Translators: said on the button when the browser does not let the page copy.
    copy.textContent = t("Press Ctrl+C");
  }
  setTimeout(() => {
    copy.textContent = t("Copy all");
  }, 2000);
}

function showResult(created, prepared, options, chosen) {
  const several = chosen.length > 0;
  byId("receipt-link").value = buildLink("r", created.id, prepared.receiptKey);
  if (several) {
    showRecipientLinks(created, prepared, chosen);
    byId("result-title").textContent =
      chosen.length > 1
        ? tn("Your {count} secret link is ready", "Your {count} secret links are ready", chosen.length)
        : t("Your secret link is ready");
    byId("result-summary").textContent = t(
      "One link for each person, each opened with its own key. They expire {time}, or sooner once their views are used.",
      { time: formatTime(created.expires_at) },
    );
  } else {
    const shareLink = buildLink("s", created.id, prepared.linkKey);
    byId("share-link").value = shareLink;
    drawQr(byId("share-qr"), shareLink);
    const time = formatTime(created.expires_at);
    // Translators: "once" is for 1; where that form serves other counts too (21, 31…), write {count} in it.
    byId("result-summary").textContent = tn(
      "It can be viewed once and expires {time}, whichever comes first.",
      "It can be viewed {count} times and expires {time}, whichever comes first.",
      created.max_views,
      { time },
    );
  }
  show(byId("single-link"), !several);
  show(byId("single-qr"), !several);
  show(byId("recipient-results"), several);
  const passphrases = several ? chosen.filter((recipient) => recipient.passphrase).length : Number(Boolean(options.passphrase));
  byId("passphrase-reminder").textContent =
    passphrases > 1
      ? t("Send each passphrase over another channel, such as a call or a chat, never in the same message as its link.")
      : t("Send the passphrase over another channel, such as a call or a chat, never in the same message as the link.");
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
  const subject = uploadSubject(content, "secret");
  showUploadStart(sealer, subject);
  button.textContent = t("Sending…");
  const created = await api.createContent(prepared.body, signal);
  await uploadRest(sealer, created.id, created.upload, subject, signal);
  return { created, prepared };
}

function explainFailure(problem, signal) {
  if (signal.aborted) {
    return [t("Cancelled: nothing was shared, and the part already uploaded is deleted by itself. The form is as you left it."), "warning"];
  }
  if (problem instanceof api.ApiProblem && problem.status === 413) return [attached.tooLarge(), "error"];
  if (problem instanceof api.ApiProblem && problem.kind === "authentication-required") return [t("Sign in to share a secret."), "error"];
  // A file that does not hold the size it had when attached was changed meanwhile.
  if ((problem instanceof DOMException && problem.name === "NotReadableError") || problem instanceof ContentError) {
    return [t("A file could not be read any more: it was moved or changed while it was being encrypted. Attach it again."), "error"];
  }
  // The sealing's own errors are English for developers: not shown here.
  if (problem instanceof EnvelopeError) return [t("The secret could not be encrypted in this browser. Nothing was sent."), "error"];
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
  button.textContent = t("Encrypting…");
  cancel = new AbortController();
  const { signal } = cancel;
  addEventListener("beforeunload", holdPage);
  try {
    const options = readOptions();
    const chosen = readRecipients(options.passphrase);
    const content = attached.content();
    if (!content.text && content.files.length === 0) {
      throw new RangeError(t("Type or paste a secret, or attach a file."));
    }
    const unsealable = attached.unsealable();
    if (unsealable) throw new RangeError(unsealable);
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
