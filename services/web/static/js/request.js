// Protocol v2 requests (docs/protocol.md, "Requests"), as services/protocol/request.py:
// ask someone for a secret; the answer is sealed to the asker's X25519 public key.
// The fill link holds the fill key and the public key; the collect link the private key.
import { unwrapContentKey, wrapContentKey } from "./content.js";
import {
  EnvelopeError,
  KEY_BYTES,
  NONCE_BYTES,
  b64uDecode,
  concat,
  decodeLabel,
  hkdf,
  inputKeyMaterial,
  paddedLength,
  randomBytes,
  seal,
  unseal,
} from "./envelope.js";

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();
const SALT = encoder.encode("burnafter/v2");
const X25519 = { name: "X25519" };
// PKCS #8 of an X25519 private key is this prefix and its 32 raw bytes (RFC 8410).
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);

export const PUBLIC_BYTES = 32;
export const WRAPPED_ANSWER_BYTES = PUBLIC_BYTES + 1 + NONCE_BYTES + KEY_BYTES + 16;
export const NOTE_BYTES = 2000;

/** The claim to answer, and the note's key, from a fill link's key. */
export async function fillKeys(fillKey) {
  if (fillKey.length !== KEY_BYTES) throw new EnvelopeError("fill key must be 32 bytes");
  return { claim: await hkdf(fillKey, "request claim", SALT), note: await hkdf(fillKey, "note", SALT) };
}

async function importPrivate(privateKey) {
  if (privateKey.length !== KEY_BYTES) throw new EnvelopeError("a private key is 32 bytes");
  return subtle.importKey("pkcs8", concat(PKCS8_PREFIX, privateKey), X25519, true, ["deriveBits"]);
}

/** A new key pair for a request: both halves as 32 raw bytes. */
export async function newKeyPair() {
  const pair = await subtle.generateKey(X25519, true, ["deriveBits"]);
  const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", pair.privateKey));
  return {
    privateKey: pkcs8.slice(PKCS8_PREFIX.length),
    publicKey: new Uint8Array(await subtle.exportKey("raw", pair.publicKey)),
  };
}

export async function publicKey(privateKey) {
  const jwk = await subtle.exportKey("jwk", await importPrivate(privateKey));
  return b64uDecode(jwk.x);
}

/** The asker's proofs: claim and manage token from the private key; unlock, when
 * the asker set a passphrase on the answer, from both. */
export async function collectKeys(privateKey, passphrase = null) {
  await importPrivate(privateKey);
  const ikm = await inputKeyMaterial(privateKey, passphrase);
  return {
    claim: await hkdf(privateKey, "collect claim", SALT),
    unlock: passphrase === null ? null : await hkdf(ikm, "collect unlock", SALT),
    manage: await hkdf(privateKey, "collect manage", SALT),
  };
}

/** The asker's note, for holders of the fill link: UTF-8, zero-padded (Padmé). */
export async function sealNote(fillKey, note, nonce = randomBytes(NONCE_BYTES)) {
  const raw = encoder.encode(note);
  if (raw.length > NOTE_BYTES || note.includes("\0")) {
    throw new EnvelopeError(`a note is at most ${NOTE_BYTES} bytes of text without NUL`);
  }
  const padded = new Uint8Array(paddedLength(raw.length));
  padded.set(raw);
  return seal((await fillKeys(fillKey)).note, padded, nonce);
}

/** The note: zero-padded UTF-8, as a label is. */
export async function openNote(fillKey, sealed) {
  return decodeLabel(await unseal((await fillKeys(fillKey)).note, sealed));
}

async function wrapKey(privateKey, otherPublic, ephemeralPublic, askerPublic) {
  let shared;
  try {
    const other = await subtle.importKey("raw", otherPublic, X25519, true, []);
    shared = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: other }, privateKey, 256));
  } catch {
    throw new EnvelopeError("a public key of small order");
  }
  if (shared.every((byte) => byte === 0)) throw new EnvelopeError("a public key of small order");
  return hkdf(shared, "request wrap", concat(ephemeralPublic, askerPublic));
}

/** The answer's content key, for the holder of `askerPublic`'s private key only:
 * ephemeral public key (32 bytes) || wrapContentKey (61 bytes). */
export async function wrapForAsker(askerPublic, contentKey, { ephemeral = null, nonce = randomBytes(NONCE_BYTES) } = {}) {
  if (askerPublic.length !== PUBLIC_BYTES) throw new EnvelopeError("a public key is 32 bytes");
  const mine = ephemeral === null ? await newKeyPair() : { privateKey: ephemeral, publicKey: await publicKey(ephemeral) };
  const key = await wrapKey(await importPrivate(mine.privateKey), askerPublic, mine.publicKey, askerPublic);
  return concat(mine.publicKey, await wrapContentKey(key, contentKey, nonce));
}

/** The answer's content key; throws ContentError when it was not wrapped to this key
 * pair (a fill link whose public key was changed). */
export async function unwrapAsAsker(privateKey, wrapped) {
  if (wrapped.length !== WRAPPED_ANSWER_BYTES) throw new EnvelopeError("an answer's wrapped key is 93 bytes");
  const ephemeralPublic = wrapped.subarray(0, PUBLIC_BYTES);
  const key = await wrapKey(await importPrivate(privateKey), ephemeralPublic, ephemeralPublic, await publicKey(privateKey));
  return unwrapContentKey(key, wrapped.subarray(PUBLIC_BYTES));
}
