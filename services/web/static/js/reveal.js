// The reveal form and what a revealed secret shows (templates/_reveal.html), for the
// pages that open one: the open page (a share link, its key in the fragment) and the
// collect page (a request's answer, its content key wrapped to the collect link's
// private key). Each page makes its own proofs and content key; this module asks for
// the passphrase, counts wrong ones down, and shows the text and the files.
//
// A v2 content's text shows at once; its files' segments follow with the download
// token, into a Blob per file or, for large files, straight to disk where the person
// chooses (saving.js).
import * as api from "./api.js";
import { ContentError, ContentOpener } from "./content.js";
import { formatMoment } from "./describe.js";
import { b64uDecode } from "./envelope.js";
import { numbers, t, tn } from "./i18n.js";
import { AUTO_BYTES, BLOB_MAX_BYTES, blobSink, canSaveToDisk, diskSink } from "./saving.js";
import { downloadSegments } from "./transfer.js";
import { byId, focusHeading, formatBytes, say, show } from "./ui.js";

const form = byId("reveal-form");
const error = byId("reveal-error");
const passphraseField = byId("passphrase");
const revealButton = byId("reveal-button");
// "Reveal the secret", "Reveal the answer": the page's own words.
const REVEAL_WORDS = revealButton.textContent;
// What to do when files cannot be had any more: the page's words, in the template.
const AGAIN = byId("revealed").dataset.again;
// The button's words while a reveal is under way.
const DECRYPTING = t("Decrypting…");

// Every object URL this page made, given back when the secret leaves the page.
const objectUrls = [];
// The v2 download on the page: its AbortController, and the sink its files go to.
let receiving = null;

function stopReceiving() {
  if (!receiving) return;
  receiving.controller.abort(new DOMException("The page was left.", "AbortError"));
  receiving.sink?.abort();
  receiving = null;
}

/** Nothing of a revealed secret left on the page: no text, no files, no download. */
export function clearPayload() {
  stopReceiving();
  objectUrls.splice(0).forEach((url) => URL.revokeObjectURL(url));
  byId("secret-text").value = "";
  byId("file-list").replaceChildren();
  for (const id of ["save-offer", "download", "download-error", "revealed"]) show(byId(id), false);
  byId("revealed").removeAttribute("aria-busy");
}

/** The files, each with its size: ``saved`` is null (not here yet), a Blob per file
 * (a download link each), or "disk" (written where the person chose). */
function renderFiles(files, saved = null) {
  show(byId("files-field"), files.length > 0);
  byId("file-list").replaceChildren(
    ...files.map((file, index) => {
      const item = document.createElement("li");
      let name;
      if (Array.isArray(saved)) {
        name = document.createElement("a");
        name.href = URL.createObjectURL(saved[index]); // application/octet-stream (saving.js)
        objectUrls.push(name.href);
        name.download = file.name;
        // Translators: a link that saves a revealed file; {name} is the file's name.
        name.textContent = t("Download {name}", { name: file.name });
      } else {
        name = document.createElement("span");
        // Translators: a revealed file, written to the disk where the person chose.
        name.textContent = saved === "disk" ? t("{name}: saved", { name: file.name }) : file.name;
      }
      const size = document.createElement("span");
      size.className = "hint";
      // Translators: a file's size, after its name in a list of files.
      size.textContent = ` ${t("({size})", { size: formatBytes(file.size) })}`;
      item.append(name, size);
      return item;
    }),
  );
}

function renderText(text) {
  show(byId("text-field"), Boolean(text));
  byId("secret-text").value = text;
}

/** A v1 secret, opened whole: its text and its files' bytes. */
export function renderPayload(payload) {
  renderText(payload.text);
  const blobs = payload.files.map((file) => new Blob([file.data], { type: "application/octet-stream" }));
  renderFiles(payload.files.map((file) => ({ name: file.name, size: file.data.length })), blobs);
}

/** A v2 answer opened as far as its header: the text, the files' names and sizes,
 * and the rest of the content to pull (``items``), one segment at a time. A content
 * with no files is read to its end here: its text shows only once proved whole. */
async function openContent(revealed, contentKey) {
  const controller = new AbortController();
  const grant = revealed.download;
  const opened = { revealed, controller, files: [] };
  const source = downloadSegments(
    { contentId: revealed.content_id, token: grant?.token, count: revealed.segment_count, first: b64uDecode(revealed.first_segment) },
    {
      signal: controller.signal,
      onSegment: (received, count) => showDownload(opened.files, received, count),
      onWait: (ms) => {
        const seconds = Math.max(1, Math.round(ms / 1000));
        byId("download-note").textContent = t(
          "The connection dropped. Trying again in {seconds} s; the download goes on from where it stopped.",
          { seconds: numbers.format(seconds) },
        );
      },
    },
  );
  opened.items = new ContentOpener(contentKey, source, revealed.segment_size)[Symbol.asyncIterator]();
  opened.header = (await opened.items.next()).value.header;
  opened.files = opened.header.files;
  if (opened.files.length === 0) {
    while (!(await opened.items.next()).done); // the padding, and the end of the content
    if (grant) api.downloaded(revealed.content_id, grant.token).catch(() => {}); // else it expires by itself
  }
  return opened;
}

function showDownload(files, received, count) {
  const percent = Math.floor((100 * received) / count);
  byId("download-progress").value = percent;
  const params = { percent: numbers.format(percent) }; // {percent}: from 0 to 100
  byId("download-label").textContent =
    files.length === 1
      ? t("Downloading and decrypting {name} — {percent} %", { name: files[0].name, ...params })
      : tn("Downloading and decrypting {count} file — {percent} %", "Downloading and decrypting {count} files — {percent} %", files.length, params);
  byId("download-note").textContent = "";
}

function downloadFailure(problem) {
  if (problem instanceof api.ApiProblem && problem.status === 404) {
    return `${t("The files can no longer be fetched: their download closes an hour after they are revealed.")} ${AGAIN}`;
  }
  if (problem instanceof api.ApiProblem || problem instanceof api.ApiUnavailable) return problem.message;
  if (problem.name === "QuotaExceededError") return t("The disk is full: the files were not saved.");
  if (problem instanceof ContentError) {
    return `${t("The files did not arrive whole (a part is missing or was altered), so nothing of them was kept.")} ${AGAIN}`;
  }
  return t("The files could not be saved: {reason}", { reason: problem.message });
}

/** Take the files' bytes into ``sink`` to the end of the content; keep them only if
 * the content proves whole. */
async function pour(opened, sink) {
  receiving = { controller: opened.controller, sink };
  const { revealed, files } = opened;
  byId("revealed").setAttribute("aria-busy", "true");
  show(byId("download"));
  try {
    for (let item = await opened.items.next(); !item.done; item = await opened.items.next()) {
      await sink.write(item.value.file, item.value.data);
    }
    const saved = await sink.close();
    if (opened.controller.signal.aborted) return;
    renderFiles(files, saved ?? "disk"); // Blobs, or nothing: the files are on disk
    if (revealed.download) api.downloaded(revealed.content_id, revealed.download.token).catch(() => {});
  } catch (problem) {
    if (opened.controller.signal.aborted) return; // the page was left: nothing to say
    await sink.abort();
    say(byId("download-error"), downloadFailure(problem), "error");
  } finally {
    if (receiving?.sink === sink) receiving = { controller: opened.controller, sink: null };
    byId("revealed").removeAttribute("aria-busy");
    show(byId("download"), false);
  }
}

/** Large files where the browser can write to disk: ask where, with a click (the
 * browser opens its dialogs only then), then pour them there. */
function offerSave(opened) {
  const { files, revealed } = opened;
  const size = formatBytes(files.reduce((sum, file) => sum + file.size, 0));
  const help = [
    files.length === 1
      ? t("{name} is {size}: choose where to save it, and it is decrypted straight to your disk.", { name: files[0].name, size })
      : tn(
          "The {count} file weighs {size}: choose a folder for it, and it is decrypted straight to your disk.",
          "The {count} files weigh {size} together: choose a folder for them, and they are decrypted straight to your disk.",
          files.length,
          { size },
        ),
  ];
  if (revealed.download) {
    const moment = formatMoment(revealed.download.expires_at);
    help.push(tn("It can be fetched until {moment}.", "They can be fetched until {moment}.", files.length, { moment }));
  }
  byId("save-help").textContent = help.join(" ");
  const button = byId("save-button");
  button.textContent =
    files.length === 1
      ? t("Save {name}…", { name: files[0].name })
      : tn("Choose a folder for the {count} file…", "Choose a folder for the {count} files…", files.length);
  button.onclick = async () => {
    say(byId("download-error"), "");
    let sink;
    try {
      sink = await diskSink(files);
    } catch (problem) {
      const closed = problem.name === "AbortError";
      const words = closed ? t("Nothing was saved: choose where to save to download the files.") : problem.message;
      say(byId("download-error"), words, closed ? "warning" : "error");
      return;
    }
    show(byId("save-offer"), false);
    await pour(opened, sink);
  };
  show(byId("save-offer"));
}

/** The files of a v2 content: small ones (or any, without disk access) into Blobs at
 * once, large ones to disk once the person says where. */
function receiveFiles(opened) {
  const { files } = opened;
  receiving = { controller: opened.controller, sink: null };
  renderFiles(files);
  const total = files.reduce((sum, file) => sum + file.size, 0);
  if (files.length === 0) return;
  if (canSaveToDisk() && total > AUTO_BYTES) return offerSave(opened);
  if (total > BLOB_MAX_BYTES) {
    const words = t(
      "These files weigh {size}, more than {limit}: this browser cannot save that much as it downloads. " +
        "Open the link in Chrome or Edge, or with the command line ({command}), while it is still open.",
      { size: formatBytes(total), limit: formatBytes(BLOB_MAX_BYTES), command: "burnafter open" },
    );
    say(byId("download-error"), words, "error");
    return;
  }
  pour(opened, blobSink(files));
}

/** A v2 content revealed: its text at once, its files as they come. Returns false,
 * having shown nothing, when ``stale()`` says the page moved on meanwhile. */
export async function showContent(revealed, contentKey, stale = () => false) {
  const opened = await openContent(revealed, contentKey);
  if (stale()) {
    opened.controller.abort();
    return false;
  }
  renderText(opened.header.text);
  receiveFiles(opened);
  return true;
}

/** The form gives way to the revealed secret, which takes the focus; ``spent`` says
 * what is left of it. */
export function showRevealed(spent) {
  show(form, false);
  passphraseField.value = "";
  byId("spent-notice").textContent = spent;
  show(byId("revealed"));
  focusHeading(byId("revealed-title"));
}

export function markLastAttempt(last) {
  show(byId("last-attempt"), last);
  passphraseField.setAttribute("aria-describedby", last ? "passphrase-help last-attempt" : "passphrase-help");
  // Translators: the reveal button when one wrong passphrase more destroys the secret;
  // {action} is its usual words, "Reveal the secret" or "Reveal the answer".
  revealButton.textContent = last ? t("{action} (last attempt)", { action: REVEAL_WORDS }) : REVEAL_WORDS;
}

export function showPassphrase(visible) {
  passphraseField.type = visible ? "text" : "password";
  // Translators: the button that shows or hides the passphrase typed, beside it.
  byId("passphrase-toggle-word").textContent = visible ? t("Hide") : t("Show");
  // Its name for screen readers, whole (not "Show" and the template's "passphrase"
  // put together, whose order is English).
  byId("passphrase-toggle").setAttribute("aria-label", visible ? t("Hide passphrase") : t("Show passphrase"));
}

/** The form as it first is: no passphrase typed, none asked for unless ``asked``. */
export function resetForm(asked = false) {
  say(error, "");
  passphraseField.value = "";
  showPassphrase(false);
  show(byId("passphrase-field"), asked);
  markLastAttempt(false);
}

/** The passphrase to reveal with: null when none is asked, undefined (said in the
 * form, the focus on its field) when one is asked and empty. */
function formPassphrase() {
  if (byId("passphrase-field").hidden) return null;
  if (passphraseField.value) return passphraseField.value;
  say(error, t("Enter the passphrase first."), "error");
  passphraseField.focus();
  return undefined;
}

/**
 * Reveal on a click of the form's button: ``reveal(passphrase)`` spends the view and
 * shows the secret, the button disabled and saying "Decrypting…" meanwhile. A wrong
 * passphrase is counted down in the form, after ``counted(left)``; the last one calls
 * ``destroyed()``. Any other failure goes to ``failed(problem)``, which returns the
 * words for the form, or null when it has said it elsewhere. Nothing is said once
 * ``stale()``: the page moved on to another link meanwhile.
 */
export function wireRevealForm({ reveal, destroyed, failed, counted = () => {}, stale = () => false }) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (revealButton.disabled) return;
    say(error, "");
    const passphrase = formPassphrase();
    if (passphrase === undefined) return;
    const label = revealButton.textContent;
    revealButton.disabled = true;
    revealButton.textContent = DECRYPTING;
    try {
      await reveal(passphrase);
    } catch (problem) {
      if (stale()) return;
      if (problem instanceof api.ApiProblem && problem.kind === "wrong-passphrase") {
        const left = problem.problem.attempts_left;
        counted(left);
        if (left === 0) return destroyed();
        const words =
          left === 1
            ? t("Wrong passphrase. 1 attempt left: if the next passphrase is wrong too, it is destroyed.")
            : tn("Wrong passphrase. {count} attempt left.", "Wrong passphrase. {count} attempts left.", left);
        say(error, words, "error");
        markLastAttempt(left === 1);
        passphraseField.select();
        return;
      }
      const words = failed(problem);
      if (words) say(error, words, "error");
    } finally {
      if (revealButton.textContent === DECRYPTING) revealButton.textContent = label;
      revealButton.disabled = false;
    }
  });
  byId("passphrase-toggle").addEventListener("click", () => showPassphrase(passphraseField.type === "password"));
}
