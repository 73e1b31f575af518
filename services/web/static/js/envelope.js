// Protocol v1 in the browser: the same bytes as services/protocol/envelope.py.
// The contract, with test vectors, is docs/protocol.md. Nothing here talks to the
// network: keys, passphrases and plaintext stay in this page.

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const subtle = globalThis.crypto.subtle;

export const VERSION = 1;
export const KEY_BYTES = 32;
export const PBKDF2_ITERATIONS = 600000;
export const LABEL_BYTES = 256;
const SALT = encoder.encode("burnafter/v1");
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const MIN_BUCKET = 1024;
export const MAX_NAME_BYTES = 255;
export const MAX_FILES = 1000;
const AAD = Uint8Array.of(VERSION);

export class EnvelopeError extends Error {}

export function b64uEncode(bytes) {
  let binary = "";
  for (let at = 0; at < bytes.length; at += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Strict base64url without padding, as the server and the Python client decode it. */
export function b64uDecode(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new EnvelopeError("not base64url");
  }
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  if (b64uEncode(bytes) !== text) throw new EnvelopeError("not base64url");
  return bytes;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function randomBytes(count) {
  return globalThis.crypto.getRandomValues(new Uint8Array(count));
}

/** HKDF-SHA256, 32 bytes; the salt names the protocol version (v1 unless given). */
export async function hkdf(ikm, info, salt = SALT) {
  const key = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const params = { name: "HKDF", hash: "SHA-256", salt, info: encoder.encode(info) };
  return new Uint8Array(await subtle.deriveBits(params, key, KEY_BYTES * 8));
}

export async function stretchPassphrase(passphrase, linkKey) {
  const secret = encoder.encode(passphrase.normalize("NFC"));
  const key = await subtle.importKey("raw", secret, "PBKDF2", false, ["deriveBits"]);
  const params = { name: "PBKDF2", hash: "SHA-256", salt: linkKey, iterations: PBKDF2_ITERATIONS };
  return new Uint8Array(await subtle.deriveBits(params, key, KEY_BYTES * 8));
}

/** ikm: the link key, followed by the stretched passphrase when there is one. */
export async function inputKeyMaterial(linkKey, passphrase) {
  return passphrase === null ? linkKey : concat(linkKey, await stretchPassphrase(passphrase, linkKey));
}

/** What the server stores for a proof: its SHA-256. */
export async function verifier(proof) {
  return new Uint8Array(await subtle.digest("SHA-256", proof));
}

export async function deriveSecretKeys(linkKey, passphrase = null) {
  if (linkKey.length !== KEY_BYTES) throw new EnvelopeError("link key must be 32 bytes");
  const ikm = await inputKeyMaterial(linkKey, passphrase);
  return {
    claim: await hkdf(linkKey, "claim"),
    encrypt: await hkdf(ikm, "encrypt"),
    unlock: passphrase === null ? null : await hkdf(ikm, "unlock"),
  };
}

export async function deriveReceiptKeys(receiptKey) {
  if (receiptKey.length !== KEY_BYTES) throw new EnvelopeError("receipt key must be 32 bytes");
  return { manage: await hkdf(receiptKey, "manage"), label: await hkdf(receiptKey, "label") };
}

/** The key that seals the private name of recipient `recipient` of a share: one per
 * recipient, so a name sealed for one does not open as another's. */
export async function recipientNameKey(receiptKey, recipient) {
  if (receiptKey.length !== KEY_BYTES) throw new EnvelopeError("receipt key must be 32 bytes");
  return hkdf(receiptKey, `recipient ${recipient}`);
}

/** A recipient's name, sealed for the sender's receipt (padded as a label is). */
export async function sealRecipientName(receiptKey, recipient, name) {
  return seal(await recipientNameKey(receiptKey, recipient), encodeLabel(name));
}

export async function openRecipientName(receiptKey, recipient, sealed) {
  return decodeLabel(await unseal(await recipientNameKey(receiptKey, recipient), sealed));
}

/** 0x01 || nonce || AES-256-GCM(key, nonce, plaintext, aad=0x01) */
export async function seal(key, plaintext, nonce = randomBytes(NONCE_BYTES)) {
  const aes = await subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
  const params = { name: "AES-GCM", iv: nonce, additionalData: AAD };
  return concat(AAD, nonce, new Uint8Array(await subtle.encrypt(params, aes, plaintext)));
}

export async function unseal(key, sealed) {
  if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
    throw new EnvelopeError("unknown envelope version or truncated ciphertext");
  }
  const aes = await subtle.importKey("raw", key, "AES-GCM", false, ["decrypt"]);
  const params = { name: "AES-GCM", iv: sealed.subarray(1, 1 + NONCE_BYTES), additionalData: AAD };
  try {
    return new Uint8Array(await subtle.decrypt(params, aes, sealed.subarray(1 + NONCE_BYTES)));
  } catch {
    throw new EnvelopeError("ciphertext does not decrypt with this key");
  }
}

/** Padmé: the length leaks O(log log n) bits, wasting at most 12 %. */
export function paddedLength(length) {
  const n = Math.max(length, MIN_BUCKET);
  const exponent = 31 - Math.clz32(n);
  const lowBits = exponent - (32 - Math.clz32(exponent));
  const step = 2 ** lowBits;
  return Math.ceil(n / step) * step;
}

export function shortString(value, what) {
  const raw = encoder.encode(value);
  if (raw.length > MAX_NAME_BYTES) throw new EnvelopeError(`${what} is longer than ${MAX_NAME_BYTES} bytes`);
  return concat(u16(raw.length), raw);
}

export function u16(value) {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, value);
  return out;
}

export function u32(value) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** Frame {text, files: [{name, type, data}]} and pad it with zero bytes. */
export function encodePayload({ text = "", files = [] }) {
  if (files.length > MAX_FILES) throw new EnvelopeError(`at most ${MAX_FILES} files`);
  const rawText = encoder.encode(text);
  const parts = [u32(rawText.length), rawText, u16(files.length)];
  for (const file of files) {
    if (!file.name) throw new EnvelopeError("a file needs a name");
    parts.push(shortString(file.name, "file name"), shortString(file.type || "", "file type"));
    parts.push(u32(file.data.length), file.data);
  }
  const framed = concat(...parts);
  const padded = new Uint8Array(paddedLength(framed.length));
  padded.set(framed);
  return padded;
}

export function decodePayload(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const take = (count) => {
    if (at + count > bytes.length) throw new EnvelopeError("plaintext frame is truncated");
    const chunk = bytes.subarray(at, at + count);
    at += count;
    return chunk;
  };
  const number = (size) => {
    take(size);
    return size === 2 ? view.getUint16(at - 2) : view.getUint32(at - 4);
  };
  const text = (size) => {
    try {
      return decoder.decode(take(number(size)));
    } catch (error) {
      if (error instanceof EnvelopeError) throw error;
      throw new EnvelopeError("plaintext frame holds invalid UTF-8");
    }
  };
  const payload = { text: text(4), files: [] };
  const count = number(2);
  if (count > MAX_FILES) throw new EnvelopeError(`at most ${MAX_FILES} files`);
  for (let left = count; left > 0; left -= 1) {
    const name = text(2);
    const type = text(2);
    if (!name) throw new EnvelopeError("a file needs a name");
    payload.files.push({ name, type, data: take(number(4)).slice() });
  }
  if (bytes.subarray(at).some((byte) => byte !== 0)) throw new EnvelopeError("padding must be zero bytes");
  return payload;
}

export function encodeLabel(label) {
  const raw = encoder.encode(label);
  if (raw.length > LABEL_BYTES || label.includes("\0")) {
    throw new EnvelopeError(`a label is at most ${LABEL_BYTES} bytes of text without NUL`);
  }
  const boxed = new Uint8Array(LABEL_BYTES);
  boxed.set(raw);
  return boxed;
}

export function decodeLabel(bytes) {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end -= 1;
  try {
    return decoder.decode(bytes.subarray(0, end));
  } catch {
    throw new EnvelopeError("label holds invalid UTF-8");
  }
}

export async function sealSecret(payload, passphrase = null, { linkKey = randomBytes(KEY_BYTES), nonce } = {}) {
  const keys = await deriveSecretKeys(linkKey, passphrase);
  return { linkKey, keys, ciphertext: await seal(keys.encrypt, encodePayload(payload), nonce) };
}

export async function openSecret(ciphertext, keys) {
  return decodePayload(await unseal(keys.encrypt, ciphertext));
}

/**
 * Seal a secret for upload, as services/client/api_client.py prepare_secret does:
 * the body holds only ciphertext, verifiers and the sealed label; the link and
 * receipt keys stay with the caller.
 */
/**
 * A create body's fields of the share link, in either protocol: verifiers of the
 * proofs (`keys.claim`, `keys.unlock`), the sealed label and the sender's choices.
 */
export async function linkFields(keys, receiptKeys, { maxViews, expiresIn, label, notify, recipientMayDelete = false } = {}) {
  const body = {
    claim_verifier: b64uEncode(await verifier(keys.claim)),
    manage_verifier: b64uEncode(await verifier(receiptKeys.manage)),
  };
  if (keys.unlock) body.unlock_verifier = b64uEncode(await verifier(keys.unlock));
  if (label) body.label = b64uEncode(await seal(receiptKeys.label, encodeLabel(label)));
  if (maxViews !== undefined) body.max_views = maxViews;
  if (expiresIn !== undefined) body.expires_in = expiresIn;
  if (notify && notify.length) body.notify = notify;
  if (recipientMayDelete) body.recipient_may_delete = true;
  return body;
}

export async function prepareSecret(
  payload,
  { passphrase = null, maxViews, expiresIn, label, notify, recipientMayDelete = false } = {},
) {
  const sealed = await sealSecret(payload, passphrase);
  const receiptKey = randomBytes(KEY_BYTES);
  const receiptKeys = await deriveReceiptKeys(receiptKey);
  const body = {
    ciphertext: b64uEncode(sealed.ciphertext),
    ...(await linkFields(sealed.keys, receiptKeys, { maxViews, expiresIn, label, notify, recipientMayDelete })),
  };
  return { body, linkKey: sealed.linkKey, receiptKey, ciphertextBytes: sealed.ciphertext.length };
}
