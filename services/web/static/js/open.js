// The landing page of a share link. Loading it changes nothing: it peeks with the
// claim (no view spent) and waits for the Reveal button.
import * as api from "./api.js";
import { b64uDecode, b64uEncode, deriveSecretKeys, openSecret } from "./envelope.js";
import { MalformedLink, currentLink } from "./links.js";
import { byId, focusHeading, formatBytes, formatTime, plural, say, show, wireCopyButtons } from "./ui.js";

const status = byId("status");
const form = byId("reveal-form");
const error = byId("reveal-error");
const GONE = "This secret does not exist or is gone: it was already opened, it expired, or it was destroyed.";

function explain(problem) {
  if (problem instanceof api.ApiProblem && problem.status === 404) return GONE;
  return problem.message;
}

function gone(message) {
  show(form, false);
  say(status, message, "error");
}

function describe(peeked) {
  const opens = peeked.views_left === 1 ? "It can be opened once" : `It can be opened ${plural(peeked.views_left, "more time")}`;
  return `${opens}, and expires ${formatTime(peeked.expires_at)}.`;
}

// Every object URL this page made, given back when the page goes away.
const objectUrls = [];
addEventListener("pagehide", () => objectUrls.splice(0).forEach((url) => URL.revokeObjectURL(url)));

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

async function revealWith(link) {
  say(error, "");
  const passphraseField = byId("passphrase");
  const needsPassphrase = !byId("passphrase-field").hidden;
  if (needsPassphrase && !passphraseField.value) {
    say(error, "Enter the passphrase first.", "error");
    passphraseField.focus();
    return;
  }
  const button = byId("reveal-button");
  button.disabled = true;
  button.textContent = "Decrypting…";
  try {
    const keys = await deriveSecretKeys(link.key, needsPassphrase ? passphraseField.value : null);
    const revealed = await api.reveal(link.id, b64uEncode(keys.claim), keys.unlock && b64uEncode(keys.unlock));
    const payload = await openSecret(b64uDecode(revealed.ciphertext), keys);
    renderPayload(payload);
    show(form, false);
    show(status, false);
    byId("spent-notice").textContent =
      revealed.views_left === 0
        ? "This link is now spent: it will not open again. Copy what you need before you leave this page."
        : `This link can be opened ${plural(revealed.views_left, "more time")}.`;
    show(byId("revealed"));
    focusHeading(byId("revealed-title"));
    if (revealed.views_left === 0) history.replaceState(null, "", location.pathname);
  } catch (problem) {
    if (problem instanceof api.ApiProblem && problem.kind === "wrong-passphrase") {
      if (problem.problem.attempts_left === 0) {
        gone("Wrong passphrase. That was the last attempt: the secret has been destroyed.");
      } else {
        say(error, `Wrong passphrase. ${plural(problem.problem.attempts_left, "attempt")} left.`, "error");
        passphraseField.select();
      }
    } else if (problem instanceof api.ApiProblem && problem.status === 404) {
      gone(GONE);
    } else {
      say(error, explain(problem), "error");
    }
  } finally {
    button.disabled = false;
    button.textContent = "Reveal the secret";
  }
}

async function start() {
  wireCopyButtons();
  let link;
  try {
    link = currentLink("s");
  } catch (problem) {
    if (problem instanceof MalformedLink) return gone(problem.message);
    throw problem;
  }
  try {
    const keys = await deriveSecretKeys(link.key);
    const peeked = await api.peek(link.id, b64uEncode(keys.claim));
    byId("secret-info").textContent = describe(peeked);
    show(byId("passphrase-field"), peeked.passphrase_required);
    show(status, false);
    show(form);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      revealWith(link);
    });
    focusHeading(byId("open-title"));
  } catch (problem) {
    gone(explain(problem));
  }
}

start();
