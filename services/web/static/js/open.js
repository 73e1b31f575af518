// The landing page of a share link. Loading it changes nothing: it peeks with the
// claim (no view spent) and waits for the Reveal button.
//
// What this tab did with a secret (revealed it, views left, attempts left) is kept in
// sessionStorage under the secret's id, never its key, so that a reload, Back or
// Forward after the link is spent tells the truth: you opened it, it is gone.
//
// A v1 answer holds the whole secret. A v2 answer holds the content's key, wrapped,
// and its first segment: the text shows at once, and the files' segments follow
// with the download token (reveal.js, which the collect page shares).
import * as api from "./api.js";
import { deriveOpenKeys, unwrapContentKey } from "./content.js";
import { formatMoment, relativeTime } from "./describe.js";
import { EnvelopeError, b64uDecode, b64uEncode, openSecret } from "./envelope.js";
import { t, tn } from "./i18n.js";
import { MalformedLink, currentLink, repairAddress } from "./links.js";
import { clearPayload, markLastAttempt, renderPayload, resetForm, showContent, showRevealed, wireRevealForm } from "./reveal.js";
import { byId, focusHeading, formatBytes, requireSecureContext, say, show, wireCopyButtons } from "./ui.js";

const status = byId("status");
const form = byId("reveal-form");
const GONE = t(
  "This secret is gone, or it never existed: it was viewed, it expired, it was revoked or deleted, or it was destroyed after too many wrong passphrases.",
);
const DELETED = t("You deleted this secret: the link will not open again, for you or for anyone.");

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
    return t(
      "The last passphrase attempt was used here, so the secret was destroyed after too many wrong passphrases. It is gone: nobody can open it any more.",
    );
  }
  if (before.views_left === 0) {
    return t(
      "You already opened this secret: it has been viewed and is gone. The link will not open again, for you or for anyone.",
    );
  }
  if (linkHasKey) {
    return t(
      "You already opened this secret in this tab. It is gone now: its other views were used, it expired, or its sender revoked it.",
    );
  }
  return tn(
    "You already opened this secret in this tab; it had {count} view left then. To open it again, use the full link, with its key (the part after #).",
    "You already opened this secret in this tab; it had {count} views left then. To open it again, use the full link, with its key (the part after #).",
    before.views_left,
  );
}

/** What went wrong, in words for the page: the api's (api.js words them), or ours. */
function explain(problem) {
  if (problem instanceof api.ApiProblem && problem.status === 404) return GONE;
  if (problem instanceof api.ApiProblem || problem instanceof api.ApiUnavailable) return problem.message;
  if (problem instanceof EnvelopeError) {
    // The server proved the link and the passphrase: what it sent does not open with them.
    return t("The secret does not open with this link: it was altered on its way or on the server. Ask the sender to send it again.");
  }
  return t("The secret could not be opened in this browser: {reason}", { reason: problem.message });
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
  const when = { relative: relativeTime(peeked.expires_at), moment: formatMoment(peeked.expires_at) };
  const said = [
    // Translators: {relative} is how long until, "in 59 minutes"; {moment} a date and time.
    tn(
      "It can be viewed once, and expires {relative} ({moment}).",
      "It can be viewed {count} times, and expires {relative} ({moment}).",
      peeked.views_left,
      when,
    ),
  ];
  if (peeked.version === 2 && peeked.sealed_bytes > SIZE_WORTH_SAYING) {
    said.push(t("It is about {size} to download, text and files together.", { size: formatBytes(peeked.sealed_bytes) }));
  }
  return said.join(" ");
}

// The link and proofs of the secret on the page, while its recipient may delete it.
let deletable = null;

function clearPage() {
  clearPayload();
  deletable = null;
  show(byId("delete-offer"), false);
}

// The link the page is showing, and a count that makes the answers of an older
// start() (before a hashchange) go unheard.
let current = null;
let generation = 0;

async function revealWith(link, passphrase) {
  const mine = generation;
  const keys = await deriveOpenKeys(link.key, passphrase);
  const revealed = await api.reveal(link.id, b64uEncode(keys.claim), keys.unlock && b64uEncode(keys.unlock));
  remember(link.id, { views_left: revealed.views_left, attempts_left: null });
  const stale = () => mine !== generation;
  if (revealed.version === 2) {
    const contentKey = await unwrapContentKey(keys.wrap, b64uDecode(revealed.wrapped_key));
    if (!(await showContent(revealed, contentKey, stale))) return;
  } else {
    const payload = await openSecret(b64uDecode(revealed.ciphertext), keys);
    if (stale()) return;
    renderPayload(payload);
  }
  show(status, false);
  if (revealed.views_left > 0 && revealed.recipient_may_delete) offerDelete(link, keys);
  showRevealed(
    revealed.views_left === 0
      ? t("This secret has now been viewed and is gone: the link will not open again. Copy what you need before you leave this page.")
      : tn(
          "{count} view left: this link can be opened once more.",
          "{count} views left: this link can be opened {count} times more.",
          revealed.views_left,
        ),
  );
  show(byId("way-forward"));
  if (revealed.views_left === 0) history.replaceState(history.state, "", location.pathname + location.search);
}

/** Why a reveal failed, for the form; or null once the page says it (the secret is gone). */
function revealFailed(problem) {
  if (problem instanceof api.ApiProblem && problem.status === 404) {
    const before = recall(current.id);
    gone(before ? alreadyOpened(before, true) : GONE);
    return null;
  }
  return explain(problem);
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
    byId("spent-notice").textContent = t(
      "You deleted this secret: the link will not open again, for you or for anyone. Copy what you need before you leave this page.",
    );
    history.replaceState(history.state, "", location.pathname + location.search);
    byId("spent-notice").focus();
  } catch (problem) {
    const message =
      problem instanceof api.ApiProblem && problem.status === 404
        ? t("It is gone already: its last view was used, it expired, or it was revoked or deleted.")
        : explain(problem);
    say(byId("delete-error"), message, "error");
  } finally {
    button.disabled = false;
  }
}

/** Back to "Checking the link…", with nothing of an earlier secret left on the page. */
function reset() {
  clearPage();
  show(form, false);
  resetForm();
  say(status, t("Checking the link…"));
  show(byId("retry-row"), false);
  show(byId("way-forward"), false);
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
  repairAddress(link); // a "." or quote glued on, or "%23" for "#"
  const before = recall(link.id);
  try {
    const keys = await deriveOpenKeys(link.key);
    const peeked = await api.peek(link.id, b64uEncode(keys.claim));
    if (mine !== generation) return;
    byId("secret-info").textContent = describe(peeked);
    show(byId("passphrase-field"), peeked.passphrase_required);
    markLastAttempt(peeked.passphrase_required && before?.attempts_left === 1);
    if (before && before.views_left > 0) {
      const words = tn(
        "You already opened this secret in this tab. It has {count} view left: revealing it again uses one.",
        "You already opened this secret in this tab. It has {count} views left: revealing it again uses one.",
        peeked.views_left,
      );
      say(status, words, "warning");
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
if (requireSecureContext(form, { element: status, extra: t("Nothing has been opened: the link still works over HTTPS.") })) {
  wireCopyButtons();
  let revealing = 0; // the generation a reveal began in
  wireRevealForm({
    reveal: (passphrase) => {
      revealing = generation;
      return current ? revealWith(current, passphrase) : null;
    },
    stale: () => revealing !== generation,
    counted: (left) => remember(current.id, left === 0 ? { destroyed: true } : { attempts_left: left }),
    destroyed: () =>
      gone(
        t(
          "Wrong passphrase. That was the last attempt: the secret has been destroyed after too many wrong passphrases, and nobody can open it any more.",
        ),
      ),
    failed: revealFailed,
  });
  byId("retry").addEventListener("click", () => start());
  byId("delete-button").addEventListener("click", () => deleteNow());
  // The key typed or pasted into the address bar after the page loaded.
  addEventListener("hashchange", () => start());
  // Leaving the page takes the secret off it; coming Back to it from the browser's
  // cache checks the link again (and finds what this tab remembers).
  addEventListener("pagehide", () => clearPage());
  addEventListener("pageshow", (event) => {
    if (event.persisted) start();
  });
  start();
} else {
  show(status, false);
}
