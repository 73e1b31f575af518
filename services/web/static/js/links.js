// Share links ({origin}/s/{id}#{key}), receipt links ({origin}/r/{id}#{key}), and a
// request's fill links ({origin}/q/{id}#{fill key || public key}) and collect links
// ({origin}/c/{id}#{private key}) (docs/protocol.md, "Requests").
import { KEY_BYTES, b64uDecode, b64uEncode } from "./envelope.js";
import { t } from "./i18n.js";

const KEY_SIZES = { s: KEY_BYTES, r: KEY_BYTES, q: 2 * KEY_BYTES, c: KEY_BYTES };

/** A link this page cannot use. ``reason`` is "id", "no-key" or "key"; ``id`` is
 * the link's id when that part is sound (never the key). */
export class MalformedLink extends Error {
  constructor(message, reason, id = null) {
    super(message);
    this.reason = reason;
    this.id = id;
  }
}

const ID = /^[A-Za-z0-9_-]{22}$/;
// Ids and keys are base64url: anything else at the end of a part was glued on by a
// chat or mail program (a full stop, a bracket, a comma, a quote, "…").
const TRAILING_JUNK = /[^A-Za-z0-9_-]+$/u;
// "%23" where "#" belongs: some mail programs and link rewriters encode it.
const ENCODED_HASH = /%23/i;

// What the page says of a link it cannot use, by the link's kind and what is wrong.
const WORDS = {
  s: {
    id: t("The link is not complete: its id is damaged. Ask the sender for the full link."),
    "no-key": t("The link is missing its key (the part after #). Ask the sender for the full link."),
    key: t("The key in this link is damaged (the part after #). Ask the sender for the full link."),
  },
  r: {
    id: t(
      "The receipt link is not complete: its id is damaged. Use the receipt link you got when you created the secret, in full.",
    ),
    "no-key": t(
      "This receipt link is missing its key (the part after #). Only the receipt link you got when you created the secret has it: open that one, in full.",
    ),
    key: t(
      "The key in this receipt link is damaged (the part after #). Use the receipt link you got when you created the secret, in full.",
    ),
  },
  q: {
    id: t("The link is not complete: its id is damaged. Ask the person who sent it for the full link."),
    "no-key": t("The link is missing its key (the part after #). Ask the person who sent it for the full link."),
    key: t("The key in this link is damaged (the part after #). Ask the person who sent it for the full link."),
  },
  c: {
    id: t("The collect link is not complete: its id is damaged. Use the collect link you got when you asked, in full."),
    "no-key": t(
      "This collect link is missing its key (the part after #). Only the collect link you got when you asked has it: open that one, in full.",
    ),
    key: t(
      "The key in this collect link is damaged (the part after #). Use the collect link you got when you asked, in full.",
    ),
  },
};

export function buildLink(kind, id, key, origin = location.origin) {
  return `${origin}/${kind}/${id}#${b64uEncode(key)}`;
}

function decoded(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A part of the link as typed or pasted, with what chat and mail glue on taken off. */
function cleaned(text) {
  return decoded(text).trim().replace(TRAILING_JUNK, "");
}

/**
 * The id and key of the link this page was opened with, from ``where`` (a Location
 * or anything with ``pathname`` and ``hash``). Forgives what chat and mail do to a
 * link: a "." or ")" or quote glued on at the end, and "%23" in place of "#".
 * ``repaired`` says the address differs from the link's own form, which is
 * ``path`` + "#" + the key.
 */
export function currentLink(kind, where = location) {
  const words = WORDS[kind];
  const match = where.pathname.match(new RegExp(`^(.*/${kind}/)([^/]+)/?$`));
  if (!match) throw new MalformedLink(words.id, "id");
  let [idPart, keyPart] = [match[2], where.hash.replace(/^#/, "")];
  const glued = idPart.search(ENCODED_HASH);
  if (glued >= 0 && !cleaned(keyPart)) {
    keyPart = idPart.slice(glued + 3);
    idPart = idPart.slice(0, glued);
  }
  const id = cleaned(idPart);
  if (!ID.test(id)) throw new MalformedLink(words.id, "id");
  const fragment = cleaned(keyPart);
  if (!fragment) throw new MalformedLink(words["no-key"], "no-key", id);
  let key;
  try {
    key = b64uDecode(fragment);
  } catch {
    key = null;
  }
  if (!key || key.length !== KEY_SIZES[kind]) throw new MalformedLink(words.key, "key", id);
  const path = `${match[1]}${id}`;
  return { id, key, path, repaired: where.pathname !== path || where.hash !== `#${fragment}` };
}

/** When the page's address was a repaired link (``currentLink``'s ``repaired``),
 * the address bar gets the link as it is meant, without a reload. */
export function repairAddress(link, where = location) {
  if (link.repaired) history.replaceState(history.state, "", `${link.path}${where.search}#${b64uEncode(link.key)}`);
}
