// The sender's receipt page: state, activity and a revoke button. The receipt key
// stays in this page; the server sees only the manage proof derived from it.
import * as api from "./api.js";
import { b64uDecode, b64uEncode, decodeLabel, deriveReceiptKeys, unseal } from "./envelope.js";
import { MalformedLink, currentLink } from "./links.js";
import { byId, formatTime, say, show } from "./ui.js";

const STATES = {
  active: "Active: not yet fully used",
  viewed: "Opened: every view is used, the secret is gone",
  expired: "Expired: the secret is gone",
  revoked: "Destroyed by you",
  locked: "Destroyed after too many wrong passphrases",
};
const EVENTS = {
  created: "Created",
  viewed: "Opened",
  unlock_failed: "Wrong passphrase",
  locked: "Destroyed (too many wrong passphrases)",
  revoked: "Destroyed by the sender",
  expired: "Expired",
};

const status = byId("status");

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

async function render(receipt, keys) {
  if (receipt.label) {
    byId("label").textContent = decodeLabel(await unseal(keys.label, b64uDecode(receipt.label)));
    show(byId("label"));
  }
  const state = byId("state");
  state.textContent = STATES[receipt.state] || receipt.state;
  state.className = `badge badge-${receipt.state}`;
  byId("views").textContent = `${receipt.views} of ${receipt.max_views}`;
  byId("created").textContent = formatTime(receipt.created_at);
  byId("expires-label").textContent = receipt.state === "active" ? "Expires" : "Ended";
  byId("expires").textContent = formatTime(receipt.state === "active" ? receipt.expires_at : receipt.ended_at);
  show(byId("attempts-row"), receipt.passphrase);
  byId("attempts").textContent = `${receipt.failed_attempts} of ${receipt.max_attempts} allowed`;
  byId("events").tBodies[0].replaceChildren(
    ...receipt.events.map((event) => {
      const row = document.createElement("tr");
      row.append(
        cell(formatTime(event.at)),
        cell(EVENTS[event.event] || event.event),
        cell(event.client_address || "—"),
        cell(event.user_agent || "—"),
      );
      return row;
    }),
  );
  const notifications = receipt.notifications || [];
  byId("notifications").tBodies[0].replaceChildren(
    ...notifications.map((sent) => {
      const row = document.createElement("tr");
      const when = sent.delivered_at ? `sent ${formatTime(sent.delivered_at)}` : sent.state === "failed" ? "could not be sent" : `pending (${sent.attempts} attempt(s) so far)`;
      row.append(cell(`${EVENTS[sent.event.replace("secret.", "")] || sent.event} (${formatTime(sent.occurred_at)})`), cell(sent.endpoint), cell(when));
      return row;
    }),
  );
  show(byId("notifications-section"), (receipt.notify || []).length > 0);
  show(byId("revoke"), receipt.state === "active");
  show(status, false);
  show(byId("receipt"));
}

async function load(link, keys) {
  try {
    await render(await api.readReceipt(link.id, b64uEncode(keys.manage)), keys);
  } catch (problem) {
    show(byId("receipt"), false);
    const message =
      problem instanceof api.ApiProblem && problem.status === 404
        ? "No receipt matches this link. Receipts are deleted some days after the secret ends."
        : problem.message;
    say(status, message, "error");
  }
}

async function start() {
  let link;
  try {
    link = currentLink("r");
  } catch (problem) {
    if (problem instanceof MalformedLink) return say(status, problem.message, "error");
    throw problem;
  }
  const keys = await deriveReceiptKeys(link.key);
  byId("refresh").addEventListener("click", () => load(link, keys));
  byId("revoke").addEventListener("click", async () => {
    if (!confirm("Destroy the secret now? The link will stop working for everyone.")) return;
    say(byId("revoke-error"), "");
    try {
      await api.revoke(link.id, b64uEncode(keys.manage));
    } catch (problem) {
      if (!(problem instanceof api.ApiProblem && problem.status === 409)) {
        say(byId("revoke-error"), problem.message, "error");
      }
    }
    await load(link, keys);
  });
  await load(link, keys);
}

start();
