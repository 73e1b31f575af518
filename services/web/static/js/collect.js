// The collect page of a request (issue 17): the asker's, with the private key in
// the link's fragment. It shows the request's life (asked, opened, answered, the
// answer opened), watching while the request is open, and reveals the answer: the
// proofs come from the private key (and the passphrase, if one was set), and the
// content key is unwrapped with it (unwrapAsAsker). The rest is the open page's
// (reveal.js).
import * as api from "./api.js";
import { requestLife, requestStage } from "./asking.js";
import { ContentError } from "./content.js";
import { formatMoment } from "./describe.js";
import { EnvelopeError, b64uDecode, b64uEncode } from "./envelope.js";
import { t, tn } from "./i18n.js";
import { MalformedLink, currentLink, repairAddress } from "./links.js";
import { collectKeys, unwrapAsAsker } from "./request.js";
import { clearPayload, markLastAttempt, resetForm, showContent, showRevealed, wireRevealForm } from "./reveal.js";
import { byId, element, insecureContextProblem, moment, say, show, wireCopyButtons } from "./ui.js";

// While the request is open, it is read again every few seconds; never while the
// tab is hidden (once shown again, at once).
const EVERY = 4_000;

const status = byId("status");
const form = byId("reveal-form");

// The request on the page: its link and keys, what it last said, and the timer.
let shown = null;
let generation = 0;
let timer = null;
let waitingForTab = false;

function lost(message) {
  show(byId("request"), false);
  show(byId("answer"), false);
  say(status, message, "error");
  show(byId("way-forward"));
}

function renderLife(request, receipt) {
  byId("life").replaceChildren(
    ...requestLife(request, receipt).map((step) => {
      const item = element("li", "", "life-step");
      item.append(element("span", step.what, `badge tone-${step.tone}`), " ", ...moment(step.at, true));
      return item;
    }),
  );
}

function renderFacts(request, receipt, stage) {
  const badge = byId("stage");
  badge.textContent = stage.word;
  badge.className = `badge tone-${stage.tone}`;
  const detail = byId("stage-detail");
  if (detail.textContent !== stage.sentence) detail.textContent = stage.sentence; // read out once, when it changes
  byId("asked-at").replaceChildren(...moment(request.created_at, true));
  const [label, until] =
    request.state === "open"
      ? [t("They can answer until"), request.expires_at]
      : request.state === "expired"
        ? [t("Expired"), request.expires_at]
        : [t("Answered"), request.answered_at];
  byId("closes-label").textContent = label;
  byId("closes-at").replaceChildren(...moment(until, true));
  const updated = [t("Updated {moment}.", { moment: formatMoment(new Date().toISOString()) })];
  if (stage.live) updated.push(t("This page checks by itself every few seconds while the request is open."));
  byId("updated").textContent = updated.join(" ");
}

/** The reveal form, while the answer can be opened and was not opened here. */
function offerReveal(receipt, arrived) {
  if (shown.revealed) return;
  const offered = receipt?.state === "active";
  show(byId("answer"), offered);
  if (!offered) return show(form, false);
  const left = receipt.max_views - receipt.views;
  byId("secret-info").textContent = tn("It can be opened once, until {moment}.", "It can be opened {count} times, until {moment}.", left, {
    moment: formatMoment(receipt.expires_at),
  });
  if (form.hidden) {
    show(byId("passphrase-field"), receipt.passphrase);
    markLastAttempt(receipt.passphrase && receipt.max_attempts - receipt.failed_attempts === 1);
    show(form);
  }
  // The answer arrived while the page was watching: the button takes the focus,
  // unless the asker is elsewhere on the page.
  if (arrived && [document.body, byId("collect-title")].includes(document.activeElement)) byId("reveal-button").focus();
}

async function readReceipt(link, keys) {
  try {
    return await api.readReceipt(link.id, b64uEncode(keys.manage));
  } catch (problem) {
    if (problem instanceof api.ApiProblem && problem.status === 404) return null; // uploading, or purged
    throw problem;
  }
}

function schedule(live) {
  clearTimeout(timer);
  timer = live
    ? setTimeout(() => {
        if (document.hidden) waitingForTab = true;
        else load();
      }, EVERY)
    : null;
}

async function load() {
  if (!shown) return;
  const mine = generation;
  const { link, keys } = shown;
  let live = true;
  try {
    const request = await api.readRequest(link.id, b64uEncode(keys.manage));
    const receipt = request.state === "answered" && !request.uploading ? await readReceipt(link, keys) : null;
    if (mine !== generation) return;
    const stage = requestStage(request, receipt);
    live = stage.live;
    renderFacts(request, receipt, stage);
    renderLife(request, receipt);
    offerReveal(receipt, shown.stage !== null && shown.stage !== stage.stage && stage.stage === "answered");
    shown.stage = stage.stage;
    // A refresh's warning goes, and so does a first look's failure; an ending stays.
    if (shown.troubled || !status.classList.contains("notice-error")) show(status, false);
    shown.troubled = false;
    show(byId("request"));
    show(byId("way-forward"), stage.stage === "expired" || stage.stage === "ended");
  } catch (problem) {
    if (mine !== generation) return;
    if (problem instanceof api.ApiProblem && problem.status === 404) {
      lost(
        t(
          "No request matches this collect link. A request is deleted some days after it ends; or the link is not the one you got when you asked.",
        ),
      );
      live = false;
    } else if (!byId("request").hidden) {
      say(status, t("Could not check the request: {reason} It tries again by itself.", { reason: problem.message }), "warning");
    } else {
      lost(problem.message); // the first look failed: it tries again by itself
      shown.troubled = true;
    }
  }
  if (mine === generation) schedule(live);
}

async function revealAnswer(passphrase) {
  const { link } = shown;
  const keys = await collectKeys(link.key, passphrase);
  const revealed = await api.reveal(link.id, b64uEncode(keys.claim), keys.unlock && b64uEncode(keys.unlock));
  const contentKey = await unwrapAsAsker(link.key, b64uDecode(revealed.wrapped_key));
  if (!(await showContent(revealed, contentKey))) return;
  shown.revealed = true;
  showRevealed(
    revealed.views_left === 0
      ? t("You opened the answer and it is gone from the server: copy what you need before you leave this page.")
      : tn(
          "It can be opened once more, with this collect link.",
          "It can be opened {count} times more, with this collect link.",
          revealed.views_left,
        ),
  );
  load(); // the life shows the answer opened
}

function revealFailed(problem) {
  if (problem instanceof ContentError) {
    // The view was spent on an answer that is not for this collect link: the warning
    // stays where it is, whatever the request's life shows next.
    shown.revealed = true;
    load();
    return t(
      "The answer does not open with this collect link: it was sealed to another key, so the fill link you sent was changed on its way. Do not trust it; ask again over another channel.",
    );
  }
  load();
  if (problem instanceof api.ApiProblem && problem.status === 404) {
    return t("The answer cannot be opened: it is still arriving, or it is gone (opened, expired or destroyed). The page shows which.");
  }
  if (problem instanceof api.ApiProblem || problem instanceof api.ApiUnavailable) return problem.message;
  if (problem instanceof EnvelopeError) {
    return t("The answer does not open with this collect link: it was altered on its way or on the server. Ask again over another channel.");
  }
  return t("The answer could not be opened in this browser: {reason}", { reason: problem.message });
}

async function start() {
  const mine = ++generation;
  clearTimeout(timer);
  shown = null;
  clearPayload();
  resetForm();
  show(form, false);
  show(byId("request"), false);
  show(byId("answer"), false);
  show(byId("way-forward"), false);
  say(status, t("Loading your request…"));
  const insecure = insecureContextProblem();
  if (insecure) {
    return lost([insecure.title, insecure.why, insecure.fix, t("Your collect link still works over HTTPS.")].join(" "));
  }
  let link;
  try {
    link = currentLink("c");
  } catch (problem) {
    if (problem instanceof MalformedLink) return lost(problem.message);
    throw problem;
  }
  repairAddress(link);
  let keys;
  try {
    keys = await collectKeys(link.key);
  } catch {
    return lost(t("The key in this collect link is damaged (the part after #). Use the collect link you got when you asked, in full."));
  }
  if (mine !== generation) return;
  shown = { link, keys, stage: null, revealed: false, troubled: false };
  await load();
}

wireCopyButtons();
wireRevealForm({
  reveal: revealAnswer,
  destroyed: () => {
    resetForm();
    show(form, false);
    const words = t(
      "Wrong passphrase. That was the last attempt: the answer has been destroyed after too many wrong passphrases, and nobody can open it any more.",
    );
    say(status, words, "error");
    load();
  },
  failed: revealFailed,
});
byId("refresh").addEventListener("click", () => load());
addEventListener("visibilitychange", () => {
  if (!document.hidden && waitingForTab) {
    waitingForTab = false;
    load();
  }
});
// The key typed or pasted into the address bar after the page loaded.
addEventListener("hashchange", () => start());
addEventListener("pagehide", () => clearPayload());
start();
