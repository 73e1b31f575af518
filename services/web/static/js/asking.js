// What the request pages (issue 17) send and say, with no DOM: tests/js/ runs it on
// Node. The ask's body (POST /requests) and the keys its links carry, the answer's
// body (POST /requests/{id}/answer), and a request's life as the collect page tells
// it, from GET /requests/{id} and, once answered, the answer's receipt.
import { verifier, b64uEncode, concat, KEY_BYTES, randomBytes } from "./envelope.js";
import { t } from "./i18n.js";
import { collectKeys, fillKeys, newKeyPair, sealNote, wrapForAsker } from "./request.js";

/**
 * A new request: the body of POST /requests, the fill link's key (the fill key and
 * the public key) and the collect link's (the private key). ``passphrase`` is the
 * answer's; ``email`` (to the asker's own signed-in address) is sent only when chosen.
 */
export async function prepareAsk({ note = "", filesAllowed, maxContentBytes, maxViews, expiresIn, passphrase = null, notify = [], email = false }) {
  const fillKey = randomBytes(KEY_BYTES);
  const pair = await newKeyPair();
  const collect = await collectKeys(pair.privateKey, passphrase || null);
  const answer = { claim_verifier: b64uEncode(await verifier(collect.claim)), max_views: maxViews };
  if (collect.unlock) answer.unlock_verifier = b64uEncode(await verifier(collect.unlock));
  const body = {
    fill_verifier: b64uEncode(await verifier((await fillKeys(fillKey)).claim)),
    files_allowed: filesAllowed,
    max_content_bytes: maxContentBytes,
    answer,
    manage_verifier: b64uEncode(await verifier(collect.manage)),
    expires_in: expiresIn,
  };
  if (note) body.note = b64uEncode(await sealNote(fillKey, note));
  if (notify.length) body.notify = notify;
  if (email) body.email = true;
  return { body, fillLinkKey: concat(fillKey, pair.publicKey), collectLinkKey: pair.privateKey };
}

/** A fill link's key: the fill key, then the asker's public key. */
export function splitFillLinkKey(linkKey) {
  return { fillKey: linkKey.subarray(0, KEY_BYTES), publicKey: linkKey.subarray(KEY_BYTES) };
}

/** The body of POST /requests/{id}/answer: ``sealer``'s segment 0, its sizes, the
 * fill claim, and ``contentKey`` wrapped to the public key in the fill link's key. */
export async function prepareAnswer(sealer, contentKey, fillLinkKey) {
  const { fillKey, publicKey } = splitFillLinkKey(fillLinkKey);
  return {
    claim: b64uEncode((await fillKeys(fillKey)).claim),
    segment_size: sealer.segmentSize,
    segment_count: sealer.segmentCount,
    sealed_bytes: sealer.sealedLength,
    first_segment: b64uEncode(await sealer.segment(0)),
    wrapped_key: b64uEncode(await wrapForAsker(publicKey, contentKey)),
  };
}

// The answer's receipt events (API words) as the asker's page says them; "created"
// is the answer itself, said from the request's answered_at.
const ANSWER_EVENTS = {
  viewed: () => [t("You opened the answer"), "viewed"],
  unlock_failed: () => [t("A wrong passphrase was typed for the answer"), "warning"],
  locked: () => [t("The answer was destroyed after too many wrong passphrases"), "destroyed"],
  revoked: () => [t("The answer was revoked"), "revoked"],
  expired: () => [t("The answer expired before it was opened"), "expired"],
  deleted: () => [t("The answer was deleted"), "deleted"],
};

/** What happened to a request, oldest first: {at, what, tone}. ``receipt`` is the
 * answer's, or null before the answer. */
export function requestLife(request, receipt = null) {
  const life = [{ at: request.created_at, what: t("You asked"), tone: "neutral" }];
  if (request.opened_at) life.push({ at: request.opened_at, what: t("They opened your link"), tone: "active" });
  if (request.answered_at) life.push({ at: request.answered_at, what: t("They answered"), tone: "active" });
  if (request.state === "expired") life.push({ at: request.expires_at, what: t("The request expired unanswered"), tone: "expired" });
  for (const event of receipt?.events || []) {
    const [what, tone] = Object.hasOwn(ANSWER_EVENTS, event.event) ? ANSWER_EVENTS[event.event]() : [];
    if (what) life.push({ at: event.at, what, tone });
  }
  return life.sort((a, b) => new Date(a.at) - new Date(b.at));
}

// How an answer ended, by its receipt's state (API v1 words).
const ANSWER_ENDS = {
  expired: () => t("It expired before it was opened: the answer is gone."),
  locked: () => t("It was destroyed after too many wrong passphrases: the answer is gone."),
  revoked: () => t("It was revoked: the answer is gone."),
  deleted: () => t("It was deleted: the answer is gone."),
};

/**
 * Where a request stands, for its badge and sentence: ``stage`` is "waiting" (not
 * opened yet), "opened" (opened, not answered), "answered" (the answer can be
 * revealed), "collected" (its views are used), "ended" (the answer expired, was
 * destroyed or revoked) or "expired" (the request, unanswered). ``live``: the page
 * keeps watching. ``word`` (the badge) and ``sentence`` are in the page's language.
 */
export function requestStage(request, receipt = null) {
  if (request.state === "expired") {
    return {
      stage: "expired",
      // Translators: a badge: where a request for a secret stands.
      word: t("Expired"),
      tone: "expired",
      live: false,
      sentence: t("Nobody answered before the request expired. Ask again if you still need it."),
    };
  }
  if (request.state === "open") {
    const opened = Boolean(request.opened_at);
    return {
      stage: opened ? "opened" : "waiting",
      // Translators: a badge: where a request for a secret stands.
      word: opened ? t("Opened") : t("Waiting"),
      tone: "active",
      live: true,
      sentence: opened ? t("They opened your link and have not answered yet.") : t("Nobody has opened your link yet."),
    };
  }
  if (request.uploading) {
    return {
      stage: "arriving",
      // Translators: a badge: where a request for a secret stands (its answer is being uploaded).
      word: t("Arriving"),
      tone: "active",
      live: true,
      sentence: t("They answered, and the answer is still being uploaded. It can be opened once it is all here."),
    };
  }
  if (!receipt) {
    return {
      stage: "ended",
      // Translators: a badge: where a request for a secret stands (its answer is gone).
      word: t("Gone"),
      tone: "expired",
      live: false,
      sentence: t("The answer is gone, and so is its record: it ended some time ago."),
    };
  }
  if (receipt.state === "active") {
    return {
      stage: "answered",
      // Translators: a badge: where a request for a secret stands.
      word: t("Answered"),
      tone: "viewed",
      live: false,
      sentence: t("The answer is here. Only this collect link opens it."),
    };
  }
  if (receipt.state === "viewed") {
    return {
      stage: "collected",
      // Translators: a badge: where a request for a secret stands (its answer was opened).
      word: t("Collected"),
      tone: "viewed",
      live: false,
      sentence: t("You opened the answer: it is gone from the server."),
    };
  }
  return {
    stage: "ended",
    // Translators: a badge: where a request for a secret stands (its answer is gone).
    word: t("Gone"),
    tone: "expired",
    live: false,
    sentence: Object.hasOwn(ANSWER_ENDS, receipt.state) ? ANSWER_ENDS[receipt.state]() : t("It ended: the answer is gone."),
  };
}
