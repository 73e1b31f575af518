// The landing page of a share link. Loading it changes nothing: it peeks with the
// claim (no view spent) and waits for the Reveal button.
//
// What this tab did with a secret (revealed it, views left, attempts left) is kept in
// sessionStorage under the secret's id, never its key, so that a reload, Back or
// Forward after the link is spent tells the truth: you opened it, it is gone.
//
// A v1 answer holds the whole secret. A v2 answer holds the content's key, wrapped,
// and its first segment: the text shows at once, and the files' segments follow
// with the download token, into a Blob per file or, for large files, straight to
// disk where the person chooses (saving.js).
import * as api from "./api.js";
import { ContentError, ContentOpener, deriveOpenKeys, unwrapContentKey } from "./content.js";
import { attemptsLeft, formatMoment, relativeTime, times, viewsLeft } from "./describe.js";
import { b64uDecode, b64uEncode, openSecret } from "./envelope.js";
import { MalformedLink, currentLink } from "./links.js";
import { AUTO_BYTES, BLOB_MAX_BYTES, blobSink, canSaveToDisk, diskSink } from "./saving.js";
import { downloadSegments } from "./transfer.js";
import { byId, focusHeading, formatBytes, requireSecureContext, say, show, wireCopyButtons } from "./ui.js";

const status = byId("status");
const form = byId("reveal-form");
const error = byId("reveal-error");
const passphraseField = byId("passphrase");
const GONE =
  "This secret is gone, or it never existed: it was viewed, it expired, it was revoked or deleted, or it was destroyed after too many wrong passphrases.";
const DELETED = "You deleted this secret: the link will not open again, for you or for anyone.";

// What this tab remembers of a secret, by id: { views_left, attempts_left, destroyed, deleted }.
const MEMORY = "burnafter.opened.";

function recall(id) {
  try {
    return JSON.parse(sessionStorage.getItem(MEMORY + id)) || null;
  } catch {
    return null;
  }
}

function remember(id, facts) {
  try {
    sessionStorage.setItem(MEMORY + id, JSON.stringify({ ...recall(id), ...facts }));
  } catch {
    // Storage off or full: the page works, it only forgets.
  }
}

/** The truth for a secret this tab opened (or burned) that no longer opens. */
function alreadyOpened(before, linkHasKey) {
  if (before.deleted) return DELETED;
  if (before.destroyed) {
    return "The last passphrase attempt was used here, so the secret was destroyed after too many wrong passphrases. It is gone: nobody can open it any more.";
  }
  if (before.views_left === 0) {
    return "You already opened this secret: it has been viewed and is gone. The link will not open again, for you or for anyone.";
  }
  if (linkHasKey) {
    return "You already opened this secret in this tab. It is gone now: its other views were used, it expired, or its sender revoked it.";
  }
  return `You already opened this secret in this tab; it had ${viewsLeft(before.views_left)} then. To open it again, use the full link, with its key (the part after #).`;
}

function explain(problem) {
  if (problem instanceof api.ApiProblem && problem.status === 404) return GONE;
  return problem.message;
}

function retryable(problem) {
  return problem instanceof api.ApiUnavailable || (problem instanceof api.ApiProblem && (problem.status >= 500 || problem.status === 429));
}

/** An end of the road, with a way on: share a secret of one's own, or try again. */
function gone(message, { retry = false } = {}) {
  show(form, false);
  say(status, message, "error");
  show(byId("retry-row"), retry);
  show(byId("way-forward"));
}

// Below this a secret is a password or a note: its size is no news.
const SIZE_WORTH_SAYING = 64 * 1024;

function describe(peeked) {
  const when = `${relativeTime(peeked.expires_at)} (${formatMoment(peeked.expires_at)})`;
  const size =
    peeked.version === 2 && peeked.sealed_bytes > SIZE_WORTH_SAYING
      ? ` It is about ${formatBytes(peeked.sealed_bytes)} to download, text and files together.`
      : "";
  return `It can be viewed ${times(peeked.views_left)}, and expires ${when}.${size}`;
}

// Every object URL this page made, given back when the secret leaves the page.
const objectUrls = [];
// The link and proofs of the secret on the page, while its recipient may delete it.
let deletable = null;
// The v2 download on the page: its AbortController, and the sink its files go to.
let receiving = null;

function stopReceiving() {
  if (!receiving) return;
  receiving.controller.abort(new DOMException("The page was left.", "AbortError"));
  receiving.sink?.abort();
  receiving = null;
}

function clearPayload() {
  stopReceiving();
  deletable = null;
  show(byId("delete-offer"), false);
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
        name.textContent = `Download ${file.name}`;
      } else {
        name = document.createElement("span");
        name.textContent = saved === "disk" ? `${file.name}: saved` : file.name;
      }
      const size = document.createElement("span");
      size.className = "hint";
      size.textContent = ` (${formatBytes(file.size)})`;
      item.append(name, size);
      return item;
    }),
  );
}

function renderText(text) {
  show(byId("text-field"), Boolean(text));
  byId("secret-text").value = text;
}

function renderPayload(payload) {
  renderText(payload.text);
  const blobs = payload.files.map((file) => new Blob([file.data], { type: "application/octet-stream" }));
  renderFiles(payload.files.map((file) => ({ name: file.name, size: file.data.length })), blobs);
}

/** What a progress bar or a question names: "ci-dump.sql", or "3 files". */
const subjectOf = (files) => (files.length === 1 ? files[0].name : `${files.length} files`);

/** A v2 answer opened as far as its header: the text, the files' names and sizes,
 * and the rest of the content to pull (``items``), one segment at a time. A content
 * with no files is read to its end here: its text shows only once proved whole. */
async function openContent(revealed, keys) {
  const contentKey = await unwrapContentKey(keys.wrap, b64uDecode(revealed.wrapped_key));
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
        byId("download-note").textContent = `The connection dropped. Trying again in ${seconds} s; the download goes on from where it stopped.`;
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
  byId("download-label").textContent = `Downloading and decrypting ${subjectOf(files)} — ${percent} %`;
  byId("download-note").textContent = "";
}

function downloadFailure(problem) {
  if (problem instanceof api.ApiProblem && problem.status === 404) {
    return "The files can no longer be fetched: their download closes an hour after the secret is revealed. Ask the sender to share them again.";
  }
  if (problem instanceof api.ApiProblem || problem instanceof api.ApiUnavailable) return problem.message;
  if (problem.name === "QuotaExceededError") return "The disk is full: the files were not saved.";
  if (problem instanceof ContentError) {
    return "The files did not arrive whole (a part is missing or was altered), so nothing of them was kept. Ask the sender to share them again.";
  }
  return `The files could not be saved: ${problem.message}`;
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
  const until = revealed.download ? ` They can be fetched until ${formatMoment(revealed.download.expires_at)}.` : "";
  byId("save-help").textContent =
    (files.length === 1
      ? `${files[0].name} is ${size}: choose where to save it, and it is decrypted straight to your disk.`
      : `The ${files.length} files weigh ${size} together: choose a folder for them, and they are decrypted straight to your disk.`) + until;
  const button = byId("save-button");
  button.textContent = files.length === 1 ? `Save ${files[0].name}…` : `Choose a folder for the ${files.length} files…`;
  button.onclick = async () => {
    say(byId("download-error"), "");
    let sink;
    try {
      sink = await diskSink(files);
    } catch (problem) {
      const closed = problem.name === "AbortError";
      say(byId("download-error"), closed ? "Nothing was saved: choose where to save to download the files." : problem.message, closed ? "warning" : "error");
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
    const limit = formatBytes(BLOB_MAX_BYTES);
    say(byId("download-error"), `These files weigh ${formatBytes(total)}, more than ${limit}: this browser cannot save that much as it downloads. Open the link in Chrome or Edge, or with the command line (burnafter open), while it is still open.`, "error");
    return;
  }
  pour(opened, blobSink(files));
}

function markLastAttempt(last) {
  show(byId("last-attempt"), last);
  passphraseField.setAttribute("aria-describedby", last ? "passphrase-help last-attempt" : "passphrase-help");
  byId("reveal-button").textContent = last ? "Reveal the secret (last attempt)" : "Reveal the secret";
}

function showPassphrase(visible) {
  passphraseField.type = visible ? "text" : "password";
  byId("passphrase-toggle-word").textContent = visible ? "Hide" : "Show";
}

// The link the page is showing, and a count that makes the answers of an older
// start() (before a hashchange) go unheard.
let current = null;
let generation = 0;

async function revealWith(link) {
  say(error, "");
  const needsPassphrase = !byId("passphrase-field").hidden;
  if (needsPassphrase && !passphraseField.value) {
    say(error, "Enter the passphrase first.", "error");
    passphraseField.focus();
    return;
  }
  const mine = generation;
  const button = byId("reveal-button");
  const label = button.textContent;
  button.disabled = true;
  button.textContent = "Decrypting…";
  try {
    const keys = await deriveOpenKeys(link.key, needsPassphrase ? passphraseField.value : null);
    const revealed = await api.reveal(link.id, b64uEncode(keys.claim), keys.unlock && b64uEncode(keys.unlock));
    remember(link.id, { views_left: revealed.views_left, attempts_left: null });
    if (revealed.version === 2) {
      const opened = await openContent(revealed, keys);
      if (mine !== generation) return opened.controller.abort();
      renderText(opened.header.text);
      receiveFiles(opened);
    } else {
      const payload = await openSecret(b64uDecode(revealed.ciphertext), keys);
      if (mine !== generation) return;
      renderPayload(payload);
    }
    show(form, false);
    show(status, false);
    passphraseField.value = "";
    byId("spent-notice").textContent =
      revealed.views_left === 0
        ? "This secret has now been viewed and is gone: the link will not open again. Copy what you need before you leave this page."
        : `${viewsLeft(revealed.views_left)}: this link can be opened ${times(revealed.views_left)} more.`;
    if (revealed.views_left > 0 && revealed.recipient_may_delete) offerDelete(link, keys);
    show(byId("revealed"));
    show(byId("way-forward"));
    focusHeading(byId("revealed-title"));
    if (revealed.views_left === 0) history.replaceState(history.state, "", location.pathname + location.search);
  } catch (problem) {
    if (mine !== generation) return;
    if (problem instanceof api.ApiProblem && problem.kind === "wrong-passphrase") {
      const left = problem.problem.attempts_left;
      remember(link.id, left === 0 ? { destroyed: true } : { attempts_left: left });
      if (left === 0) {
        gone("Wrong passphrase. That was the last attempt: the secret has been destroyed after too many wrong passphrases, and nobody can open it any more.");
      } else {
        const warning = left === 1 ? ": if the next passphrase is wrong too, the secret is destroyed." : ".";
        say(error, `Wrong passphrase. ${attemptsLeft(left)}${warning}`, "error");
        markLastAttempt(left === 1);
        passphraseField.select();
      }
      return;
    }
    if (problem instanceof api.ApiProblem && problem.status === 404) {
      const before = recall(link.id);
      gone(before ? alreadyOpened(before, true) : GONE);
      return;
    }
    say(error, explain(problem), "error");
  } finally {
    if (button.textContent === "Decrypting…") button.textContent = label;
    button.disabled = false;
  }
}

function offerDelete(link, keys) {
  deletable = { link, keys };
  say(byId("delete-error"), "");
  show(byId("delete-button"));
  show(byId("delete-offer"));
}

async function deleteNow() {
  if (!deletable) return;
  const { link, keys } = deletable;
  const button = byId("delete-button");
  button.disabled = true;
  try {
    await api.deleteSecret(link.id, b64uEncode(keys.claim), keys.unlock && b64uEncode(keys.unlock));
    remember(link.id, { deleted: true, views_left: 0 });
    deletable = null;
    show(button, false);
    byId("spent-notice").textContent = `${DELETED} Copy what you need before you leave this page.`;
    history.replaceState(history.state, "", location.pathname + location.search);
    byId("spent-notice").focus();
  } catch (problem) {
    const message =
      problem instanceof api.ApiProblem && problem.status === 404
        ? "It is gone already: its last view was used, it expired, or it was revoked or deleted."
        : explain(problem);
    say(byId("delete-error"), message, "error");
  } finally {
    button.disabled = false;
  }
}

/** Back to "Checking the link…", with nothing of an earlier secret left on the page. */
function reset() {
  clearPayload();
  show(form, false);
  say(error, "");
  say(status, "Checking the link…");
  show(byId("retry-row"), false);
  show(byId("way-forward"), false);
  passphraseField.value = "";
  showPassphrase(false);
  markLastAttempt(false);
}

async function start() {
  const mine = ++generation;
  current = null;
  reset();
  let link;
  try {
    link = currentLink("s");
  } catch (problem) {
    if (!(problem instanceof MalformedLink)) throw problem;
    const before = problem.reason === "no-key" && recall(problem.id);
    return gone(before ? alreadyOpened(before, false) : problem.message);
  }
  if (link.repaired) {
    // A "." or quote glued on, or "%23" for "#": the address bar gets the link as it is meant.
    history.replaceState(history.state, "", `${link.path}${location.search}#${b64uEncode(link.key)}`);
  }
  const before = recall(link.id);
  try {
    const keys = await deriveOpenKeys(link.key);
    const peeked = await api.peek(link.id, b64uEncode(keys.claim));
    if (mine !== generation) return;
    byId("secret-info").textContent = describe(peeked);
    show(byId("passphrase-field"), peeked.passphrase_required);
    markLastAttempt(peeked.passphrase_required && before?.attempts_left === 1);
    if (before && before.views_left > 0) {
      say(status, `You already opened this secret in this tab. It has ${viewsLeft(peeked.views_left)}: revealing it again uses one.`, "warning");
    } else {
      show(status, false);
    }
    current = link;
    show(form);
    focusHeading(byId("open-title"));
  } catch (problem) {
    if (mine !== generation) return;
    if (problem instanceof api.ApiProblem && problem.status === 404 && before) {
      return gone(alreadyOpened(before, true));
    }
    gone(explain(problem), { retry: retryable(problem) });
  }
}

// Over plain http (not localhost) the browser withholds WebCrypto: say so, and that
// the link is still good, instead of checking a link nothing here can open.
if (requireSecureContext(form, { element: status, extra: "Nothing has been opened: the link still works over HTTPS." })) {
  wireCopyButtons();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (current) revealWith(current);
  });
  byId("passphrase-toggle").addEventListener("click", () => showPassphrase(passphraseField.type === "password"));
  byId("retry").addEventListener("click", () => start());
  byId("delete-button").addEventListener("click", () => deleteNow());
  // The key typed or pasted into the address bar after the page loaded.
  addEventListener("hashchange", () => start());
  // Leaving the page takes the secret off it; coming Back to it from the browser's
  // cache checks the link again (and finds what this tab remembers).
  addEventListener("pagehide", () => clearPayload());
  addEventListener("pageshow", (event) => {
    if (event.persisted) start();
  });
  start();
} else {
  show(status, false);
}
