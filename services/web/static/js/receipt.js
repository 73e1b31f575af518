// The sender's receipt page: state, activity and a revoke button. The receipt key
// stays in this page; the server sees only the manage proof derived from it. While
// the secret is active the page refreshes itself. A share with several recipients
// (issue 16) has a line per person: their names are opened here with the receipt
// key, and each link can be revoked on its own.
import * as api from "./api.js";
import { describeAgent, formatMoment } from "./describe.js";
import { b64uDecode, b64uEncode, decodeLabel, deriveReceiptKeys, openRecipientName, unseal } from "./envelope.js";
import { numbers, t, tn } from "./i18n.js";
import { MalformedLink, currentLink, repairAddress } from "./links.js";
import { byId, element, insecureContextProblem, moment, say, show, withNodes } from "./ui.js";

// State (API v1 word) → what the badge says, its colour, and a sentence.
const STATES = {
  active: [
    // Translators: the state of a secret, or of one recipient's link, on the receipt.
    t("Active"),
    "active",
    (receipt) =>
      receipt.recipient_may_delete
        ? t("The link works until its views are used or it expires, or the recipient deletes it (you allowed that).")
        : t("The link works until its views are used or it expires."),
  ],
  // Translators: the state of a secret whose views are all used.
  viewed: [t("Viewed"), "viewed", () => t("All views are used: the secret is gone.")],
  // Translators: the state of a secret, or of one recipient's link, on the receipt.
  expired: [t("Expired"), "expired", () => t("It expired before all its views were used: the secret is gone.")],
  // Translators: the state of a secret, or of one recipient's link, on the receipt.
  revoked: [t("Revoked"), "revoked", () => t("You revoked it: the secret is gone.")],
  // Translators: the state of a secret destroyed after too many wrong passphrases.
  locked: [t("Destroyed"), "destroyed", () => t("Destroyed after too many wrong passphrases: the secret is gone.")],
  // Translators: the state of a secret its recipient deleted.
  deleted: [t("Deleted"), "deleted", () => t("The recipient deleted it when done, as you allowed: the secret is gone.")],
};
// Event (API v1 word) → its words and colour.
const EVENTS = {
  // Translators: an event in a secret's activity, on the receipt.
  created: [t("Created"), "neutral"],
  // Translators: an event in a secret's activity: someone opened it.
  viewed: [t("Viewed"), "viewed"],
  unlock_failed: [t("Wrong passphrase"), "warning"],
  locked: [t("Destroyed after too many wrong passphrases"), "destroyed"],
  revoked: [t("Revoked"), "revoked"],
  expired: [t("Expired"), "expired"],
  deleted: [t("Deleted by the recipient"), "deleted"],
};

// While active: every 5 s for two minutes after the page opens or something
// changes, then every 30 s; never while the tab is hidden.
const QUICK = 5_000;
const SLOW = 30_000;
const QUICK_FOR = 120_000;

const status = byId("status");

function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

function agent(text) {
  if (!text) return "—";
  const details = element("details", "", "agent");
  details.translate = false; // a browser's and a system's names, as they call themselves
  details.append(element("summary", describeAgent(text)), element("span", text, "agent-full"));
  return details;
}

function eventName(v1) {
  return (EVENTS[v1] || [v1, "neutral"])[0];
}

/** What became of a notification: sent when, not sent, or still trying. */
function delivery(sent) {
  // Translators: a notification's delivery; {moment} is a date and time.
  if (sent.delivered_at) return t("sent {moment}", { moment: formatMoment(sent.delivered_at) });
  // Translators: a notification's delivery.
  if (sent.state === "failed") return t("could not be sent");
  // Translators: a notification's delivery, still to be tried again.
  if (sent.attempts) return tn("pending (tried once so far)", "pending (tried {count} times so far)", sent.attempts);
  // Translators: a notification's delivery, not tried yet.
  return t("pending");
}

// Recipients' names, opened once each: "index:sealed" → the name, or null when it
// does not open with this receipt key.
const names = new Map();

async function recipientName(receiptKey, recipient) {
  if (!recipient.name) return null;
  const key = `${recipient.recipient}:${recipient.name}`;
  if (!names.has(key)) {
    try {
      names.set(key, await openRecipientName(receiptKey, recipient.recipient, b64uDecode(recipient.name)));
    } catch {
      names.set(key, false); // sealed for another recipient's place, or altered
    }
  }
  return names.get(key);
}

/** What the page calls recipient ``index``: its name, or "Recipient N" without one,
 * and says so when a name does not open: the server moved or altered it. */
function calling(recipient, name) {
  const number = numbers.format(recipient.recipient + 1);
  if (name === false) return t("Recipient {number} (its name does not open with this receipt link: it was altered)", { number });
  return name || t("Recipient {number}", { number });
}

/** A recipient's line: name, state, views, wrong passphrases, when it ended, and a Revoke button while active. */
function recipientLine(recipient, name, receipt) {
  const who = calling(recipient, name);
  const [word, tone] = STATES[recipient.state] || [recipient.state, "neutral"];
  const item = element("li", "", "recipient-line");
  item.dataset.recipient = String(recipient.recipient);
  const heading = element("h3", who, name ? "" : "recipient-unnamed");
  heading.tabIndex = -1;
  const head = element("div", "", "recipient-head");
  head.append(heading, element("span", word, `badge tone-${tone}`));
  const facts = element("p", "", "recipient-facts");
  const views = { views: numbers.format(recipient.views) };
  facts.append(element("span", tn("{views} of {count} view", "{views} of {count} views", recipient.max_views, views)));
  if (recipient.passphrase) {
    const allowed = { max: numbers.format(receipt.max_attempts) };
    const words = tn("{count} wrong passphrase of {max} allowed", "{count} wrong passphrases of {max} allowed", recipient.failed_attempts, allowed);
    facts.append(element("span", words));
  }
  if (recipient.state !== "active") {
    const [relative, , exact] = moment(recipient.ended_at || receipt.expires_at, true);
    const ended = element("span");
    // Translators: when a recipient's link ended: {relative} "3 minutes ago", {moment} a date and time.
    ended.append(...withNodes(t("ended {relative} ({moment})"), { relative, moment: exact }));
    facts.append(ended);
  }
  item.append(head, facts);
  if (recipient.state === "active") {
    const revoke = element("button", t("Revoke"), "button-secondary recipient-revoke");
    revoke.type = "button";
    revoke.setAttribute("aria-label", t("Revoke the link for {name}", { name: who }));
    revoke.addEventListener("click", () => revokeOne(recipient.recipient, who));
    item.append(revoke);
  }
  return item;
}

/** More than one link, or one with a name: the share has recipients to show. */
const severalLinks = (receipt) => (receipt.recipients || []).length > 1;

async function renderRecipients(receipt, link) {
  const recipients = receipt.recipients || [];
  const named = await Promise.all(recipients.map((recipient) => recipientName(link.key, recipient)));
  const several = severalLinks(receipt);
  const only = recipients.length === 1 ? named[0] : null;
  byId("for-name").textContent = only || "";
  show(byId("for-fact"), Boolean(only));
  show(byId("recipients-section"), several);
  // Drawn again only when something changed: a refresh leaves the focus where it is.
  const drawn = JSON.stringify([recipients.map(({ name, ...rest }) => rest), named]);
  const list = byId("recipients");
  if (list.dataset.drawn !== drawn) {
    list.replaceChildren(...(several ? recipients.map((recipient, at) => recipientLine(recipient, named[at], receipt)) : []));
    list.dataset.drawn = drawn;
  }
  return new Map(recipients.map((recipient, at) => [recipient.recipient, calling(recipient, named[at])]));
}

async function render(receipt, keys, link) {
  if (receipt.label) {
    byId("label").textContent = decodeLabel(await unseal(keys.label, b64uDecode(receipt.label)));
    show(byId("label"));
  }
  const several = severalLinks(receipt);
  const who = await renderRecipients(receipt, link);
  const [word, tone, sentence] = STATES[receipt.state] || [receipt.state, "neutral", () => ""];
  const state = byId("state");
  state.textContent = word;
  state.className = `badge tone-${tone}`;
  byId("state-detail").textContent = several ? shareSentence(receipt) : sentence(receipt);
  // Translators: views used of the views allowed, under the heading "Views".
  byId("views").textContent = t("{views} of {max}", { views: numbers.format(receipt.views), max: numbers.format(receipt.max_views) });
  byId("views-left").textContent =
    receipt.state === "active"
      ? tn("{count} view left", "{count} views left", receipt.max_views - receipt.views)
      : receipt.views
        ? tn("viewed once", "viewed {count} times", receipt.views)
        : t("never viewed");
  byId("created").replaceChildren(...moment(receipt.created_at, true));
  const active = receipt.state === "active";
  // Translators: the label of when the secret expires, or ended.
  byId("expires-label").textContent = active ? t("Expires") : t("Ended");
  byId("expires").replaceChildren(...moment(active ? receipt.expires_at : receipt.ended_at || receipt.expires_at, true));
  // Several links: wrong passphrases are counted per link, on each recipient's line.
  const attempts = receipt.passphrase && !several;
  show(byId("attempts-row"), attempts);
  byId("views-fact").classList.toggle("fact-wide", !attempts); // no gap beside it
  // Translators: wrong passphrases so far, under the heading "Wrong passphrases".
  byId("attempts").textContent = t("{failed} of {max} allowed", {
    failed: numbers.format(receipt.failed_attempts),
    max: numbers.format(receipt.max_attempts),
  });
  byId("events").tBodies[0].replaceChildren(
    ...receipt.events.map((event) => {
      const [what, eventTone] = EVENTS[event.event] || [event.event, "neutral"];
      const row = document.createElement("tr");
      const whatCell = cell(element("span", what, `badge tone-${eventTone}`));
      if (several && who.has(event.recipient)) {
        // Translators: whose link an event of the activity was on; {name} is a recipient.
        whatCell.append(" ", element("span", t("link for {name}", { name: who.get(event.recipient) }), "event-recipient"));
      }
      row.append(
        cell(...moment(event.at)),
        whatCell,
        cell(event.client_address || "—"),
        cell(agent(event.user_agent)),
      );
      return row;
    }),
  );
  const notifications = receipt.notifications || [];
  byId("notifications").tBodies[0].replaceChildren(
    ...notifications.map((sent) => {
      const row = document.createElement("tr");
      row.append(
        // Translators: a notification: what happened ("Viewed"), and when.
        cell(t("{event} ({moment})", { event: eventName(sent.event.replace("secret.", "")), moment: formatMoment(sent.occurred_at) })),
        cell(sent.endpoint),
        cell(delivery(sent)),
      );
      return row;
    }),
  );
  show(byId("notifications-section"), (receipt.notify || []).length > 0);
  show(byId("revoke"), active);
  byId("revoke").textContent = several ? t("Revoke every link now") : t("Revoke the secret now");
  const updated = [t("Updated {moment}.", { moment: formatMoment(new Date().toISOString()) })];
  if (active) updated.push(t("This page refreshes itself while the secret is active."));
  byId("updated").textContent = updated.join(" ");
  show(status, false);
  show(byId("receipt"));
}

// The receipt being shown: its link and keys, what it last said, and the timer.
let shown = null;
let generation = 0;
let timer = null;
let waitingForTab = false;

function schedule() {
  clearTimeout(timer);
  timer = null;
  if (!shown || shown.state !== "active") return;
  const delay = Date.now() - shown.changedAt < QUICK_FOR ? QUICK : SLOW;
  timer = setTimeout(() => {
    if (document.hidden) waitingForTab = true;
    else load();
  }, delay);
}

addEventListener("visibilitychange", () => {
  if (!document.hidden && waitingForTab) {
    waitingForTab = false;
    load();
  }
});

function lost(message) {
  show(byId("receipt"), false);
  say(status, message, "error");
  show(byId("way-forward"));
}

/** The state sentence of a share with several links. */
function shareSentence(receipt) {
  const links = receipt.recipients;
  const working = links.filter((recipient) => recipient.state === "active").length;
  if (!working) return t("Every link has ended: the secret is gone.");
  if (working === links.length) return t("Every link works until its views are used or it expires.");
  return tn(
    "{working} of {count} link still works, until its views are used or it expires.",
    "{working} of {count} links still work, until their views are used or they expire.",
    links.length,
    { working: numbers.format(working) },
  );
}

async function load() {
  if (!shown) return;
  const mine = generation;
  const { link, keys } = shown;
  try {
    const receipt = await api.readReceipt(link.id, b64uEncode(keys.manage));
    if (mine !== generation) return;
    const links = (receipt.recipients || []).map((r) => `${r.state}/${r.views}/${r.failed_attempts}`).join(",");
    const notifications = JSON.stringify(receipt.notifications || []);
    const fingerprint = `${receipt.state}/${receipt.views}/${receipt.failed_attempts}/${receipt.events.length}/${links}/${notifications}`;
    if (fingerprint !== shown.fingerprint) Object.assign(shown, { fingerprint, changedAt: Date.now() });
    shown.state = receipt.state;
    shown.several = severalLinks(receipt);
    await render(receipt, keys, link);
  } catch (problem) {
    if (mine !== generation) return;
    if (problem instanceof api.ApiProblem && problem.status === 404) {
      shown.state = null;
      lost(t("No receipt matches this link. Receipts are deleted some days after the secret ends."));
    } else if (!byId("receipt").hidden) {
      // A refresh that failed: what the page shows stays, and it tries again.
      say(status, t("Could not refresh the receipt: {reason} It tries again by itself.", { reason: problem.message }), "warning");
      shown.changedAt = 0;
    } else {
      lost(problem.message);
    }
  }
  schedule();
}

async function start() {
  const mine = ++generation;
  clearTimeout(timer);
  shown = null;
  names.clear();
  delete byId("recipients").dataset.drawn;
  show(byId("receipt"), false);
  show(byId("label"), false);
  show(byId("way-forward"), false);
  say(status, t("Loading the receipt…"));
  const insecure = insecureContextProblem();
  if (insecure) {
    return lost([insecure.title, insecure.why, insecure.fix, t("Your receipt link still works over HTTPS.")].join(" "));
  }
  let link;
  try {
    link = currentLink("r");
  } catch (problem) {
    if (problem instanceof MalformedLink) return lost(problem.message);
    throw problem;
  }
  repairAddress(link);
  const keys = await deriveReceiptKeys(link.key);
  if (mine !== generation) return;
  shown = { link, keys, state: null, several: false, fingerprint: null, changedAt: Date.now() };
  await load();
}

/** Revoke, then show the receipt as it is now. A 409 says it had already ended: the receipt shows how. */
async function revoking(request) {
  say(byId("revoke-error"), "");
  try {
    await request();
  } catch (problem) {
    if (!(problem instanceof api.ApiProblem && problem.status === 409)) {
      say(byId("revoke-error"), problem.message, "error");
    }
  }
  await load();
}

async function revokeOne(recipient, who) {
  if (!shown) return;
  if (!confirm(t("Revoke the link for {name} now? It stops working at once; the other links keep working.", { name: who }))) return;
  const { link, keys } = shown;
  await revoking(() => api.revokeShare(link.id, b64uEncode(keys.manage), recipient));
  // Its button is gone: the focus goes to its line, which now says "Revoked".
  byId("recipients").querySelector(`[data-recipient="${recipient}"] h3`)?.focus();
}

byId("refresh").addEventListener("click", () => load());
byId("revoke").addEventListener("click", async () => {
  if (!shown) return;
  const { link, keys, several } = shown;
  const question = several
    ? t("Revoke every link now? They stop working for everyone, at once.")
    : t("Revoke the secret now? Its link stops working for everyone, at once.");
  if (!confirm(question)) return;
  await revoking(() => (several ? api.revokeShare(link.id, b64uEncode(keys.manage)) : api.revoke(link.id, b64uEncode(keys.manage))));
});
// The key typed or pasted into the address bar after the page loaded.
addEventListener("hashchange", () => start());

start();
