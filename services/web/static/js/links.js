// Share links ({origin}/s/{id}#{key}) and receipt links ({origin}/r/{id}#{key}).
import { KEY_BYTES, b64uDecode, b64uEncode } from "./envelope.js";

export class MalformedLink extends Error {}

const ID = /^[A-Za-z0-9_-]{22}$/;

export function buildLink(kind, id, key, origin = location.origin) {
  return `${origin}/${kind}/${id}#${b64uEncode(key)}`;
}

/** The id and key of the link this page was opened with. */
export function currentLink(kind, where = location) {
  const match = where.pathname.match(new RegExp(`/${kind}/([^/]+)/?$`));
  if (!match || !ID.test(match[1])) throw new MalformedLink("The link is not complete: its id is damaged.");
  const fragment = where.hash.replace(/^#/, "");
  if (!fragment) {
    throw new MalformedLink("The link is missing its key (the part after #). Ask the sender for the full link.");
  }
  let key;
  try {
    key = b64uDecode(fragment);
  } catch {
    key = null;
  }
  if (!key || key.length !== KEY_BYTES) {
    throw new MalformedLink("The key in this link is damaged. Ask the sender for the full link.");
  }
  return { id: match[1], key };
}
