// The landing page of a share link. Loading it changes nothing: it peeks with the
// claim (no view spent) and waits for the Reveal button.
//
// What this tab did with a secret (revealed it, views left, attempts left) is kept in
// sessionStorage under the secret's id, never its key, so that a reload, Back or
// Forward after the link is spent tells the truth: you opened it, it is gone.
import * as api from "./api.js";
import { attemptsLeft, formatMoment, relativeTime, times, viewsLeft } from "./describe.js";
import { b64uDecode, b64uEncode, deriveSecretKeys, openSecret } from "./envelope.js";
import { MalformedLink, currentLink } from "./links.js";
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

function describe(peeked) {
  const when = `${relativeTime(peeked.expires_at)} (${formatMoment(peeked.expires_at)})`;
  return `It can be viewed ${times(peeked.views_left)}, and expires ${when}.`;
}

// Every object URL this page made, given back when the secret leaves the page.
const objectUrls = [];
// The link and proofs of the secret on the page, while its recipient may delete it.
let deletable = null;

function clearPayload() {
  deletable = null;
  show(byId("delete-offer"), false);
  objectUrls.splice(0).forEach((url) => URL.revokeObjectURL(url));
  byId("secret-text").value = "";
  byId("file-list").replaceChildren();
  show(byId("revealed"), false);
}

function renderPayload(payload) {
  show(byId("text-field"), Boolean(payload.text));
  byId("secret-text").value = payload.text;
  show(byId("files-field"), payload.files.length > 0);
  byId("file-list").replaceChildren(
    ...payload.files.map((file) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      // Always bytes to save, never a document: a blob URL of the sender's own type
      // (text/html, image/svg+xml) pasted into a tab would run its script in our origin.
      link.href = URL.createObjectURL(new Blob([file.data], { type: "application/octet-stream" }));
      objectUrls.push(link.href);
      link.download = file.name;
      link.textContent = `Download ${file.name}`;
      const size = document.createElement("span");
      size.className = "hint";
      size.textContent = ` (${formatBytes(file.data.length)})`;
      item.append(link, size);
      return item;
    }),
  );
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
    const keys = await deriveSecretKeys(link.key, needsPassphrase ? passphraseField.value : null);
    const revealed = await api.reveal(link.id, b64uEncode(keys.claim), keys.unlock && b64uEncode(keys.unlock));
    remember(link.id, { views_left: revealed.views_left, attempts_left: null });
    const payload = await openSecret(b64uDecode(revealed.ciphertext), keys);
    if (mine !== generation) return;
    renderPayload(payload);
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
    const keys = await deriveSecretKeys(link.key);
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
