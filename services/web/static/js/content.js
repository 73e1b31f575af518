// Protocol v2 in the browser: the same bytes as services/protocol/content.py.
// A content (a text and files) is one stream (header, the files' bytes, zero
// padding) sealed once in segments with the STREAM construction under a fresh
// content key; each link carries that key wrapped under a key of its own. The
// contract is docs/protocol.md (Protocol v2), with docs/protocol-v2-vectors.json.
// The sealer reads each Blob slice by slice and the opener takes one sealed segment
// at a time, so memory holds a segment or two whatever the size of the files.

import {
  EnvelopeError,
  b64uEncode,
  KEY_BYTES,
  MAX_FILES,
  MAX_NAME_BYTES,
  NONCE_BYTES,
  TAG_BYTES,
  concat,
  deriveReceiptKeys,
  encodeLabel,
  hkdf,
  inputKeyMaterial,
  linkFields,
  paddedLength as paddedLengthBelow4GiB,
  randomBytes,
  seal,
  sealRecipientName,
  shortString,
  u16,
  u32,
  verifier,
} from "./envelope.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const subtle = globalThis.crypto.subtle;

export const VERSION = 2;
export const SEGMENT_UNIT = 1024;
export const MAX_SEGMENT_SIZE = 4 * 1024 * 1024;
export const DEFAULT_SEGMENT_SIZE = 1024 * 1024;
export const MAX_SEGMENTS = 2 ** 32;
export const WRAPPED_BYTES = 1 + NONCE_BYTES + KEY_BYTES + TAG_BYTES;
const SALT = encoder.encode("burnafter/v2");
const AAD = Uint8Array.of(VERSION);
const WRAP_AAD = concat(AAD, encoder.encode("wrap"));

/** A content or wrapped key that does not open whole. The message holds no secret. */
export class ContentError extends EnvelopeError {}

/** v1's proofs (a client cannot know a link's version before it peeks), and the wrap key. */
export async function deriveLinkKeys(linkKey, passphrase = null) {
  if (linkKey.length !== KEY_BYTES) throw new EnvelopeError("link key must be 32 bytes");
  const ikm = await inputKeyMaterial(linkKey, passphrase);
  return {
    claim: await hkdf(linkKey, "claim"),
    unlock: passphrase === null ? null : await hkdf(ikm, "unlock"),
    wrap: await hkdf(ikm, "wrap", SALT),
  };
}

/** Keys for a link whose version is known only once it is revealed: v1's
 * (`encrypt`) and v2's (`wrap`), from one passphrase stretch. */
export async function deriveOpenKeys(linkKey, passphrase = null) {
  if (linkKey.length !== KEY_BYTES) throw new EnvelopeError("link key must be 32 bytes");
  const ikm = await inputKeyMaterial(linkKey, passphrase);
  return {
    claim: await hkdf(linkKey, "claim"),
    unlock: passphrase === null ? null : await hkdf(ikm, "unlock"),
    encrypt: await hkdf(ikm, "encrypt"),
    wrap: await hkdf(ikm, "wrap", SALT),
  };
}

export function newContentKey() {
  return randomBytes(KEY_BYTES);
}

async function aesKey(raw, use) {
  return subtle.importKey("raw", raw, "AES-GCM", false, [use]);
}

/** 0x02 || nonce || AES-256-GCM(wrapKey, nonce, CK, aad = 0x02 || "wrap"): 61 bytes. */
export async function wrapContentKey(wrapKey, contentKey, nonce = randomBytes(NONCE_BYTES)) {
  if (contentKey.length !== KEY_BYTES) throw new EnvelopeError("content key must be 32 bytes");
  const params = { name: "AES-GCM", iv: nonce, additionalData: WRAP_AAD };
  const body = await subtle.encrypt(params, await aesKey(wrapKey, "encrypt"), contentKey);
  return concat(AAD, nonce, new Uint8Array(body));
}

export async function unwrapContentKey(wrapKey, wrapped) {
  if (wrapped.length !== WRAPPED_BYTES || wrapped[0] !== VERSION) {
    throw new ContentError("unknown wrapped key version or length");
  }
  const params = { name: "AES-GCM", iv: wrapped.subarray(1, 1 + NONCE_BYTES), additionalData: WRAP_AAD };
  try {
    return new Uint8Array(await subtle.decrypt(params, await aesKey(wrapKey, "decrypt"), wrapped.subarray(1 + NONCE_BYTES)));
  } catch {
    throw new ContentError("the wrapped key does not open with this link or passphrase");
  }
}

export async function segmentKey(contentKey) {
  if (contentKey.length !== KEY_BYTES) throw new EnvelopeError("content key must be 32 bytes");
  return hkdf(contentKey, "segments", SALT);
}

/** STREAM's nonce: 7 zero bytes, the segment's index (u32), the last-segment flag. */
export function segmentNonce(index, last) {
  return concat(new Uint8Array(7), u32(index), Uint8Array.of(last ? 1 : 0));
}

export function checkSegmentSize(segmentSize) {
  if (!Number.isInteger(segmentSize) || segmentSize < SEGMENT_UNIT || segmentSize > MAX_SEGMENT_SIZE || segmentSize % SEGMENT_UNIT) {
    throw new EnvelopeError(`segment size must be a multiple of ${SEGMENT_UNIT} up to 4 MiB`);
  }
  return segmentSize;
}

/** v1's Padmé, exact beyond 4 GiB too (envelope.js's works on 32-bit lengths). */
export function paddedLength(length) {
  if (length < 2 ** 32) return paddedLengthBelow4GiB(length);
  let exponent = 32;
  while (2 ** (exponent + 1) <= length) exponent += 1;
  const step = 2 ** (exponent - (32 - Math.clz32(exponent)));
  return Math.ceil(length / step) * step;
}

function u64(value) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

/** u32 text length || text || u16 count || count × (name, type, u64 size), from {text, files: [{name, type, size}]}. */
export function encodeHeader({ text = "", files = [] }) {
  if (files.length > MAX_FILES) throw new EnvelopeError(`at most ${MAX_FILES} files`);
  const rawText = encoder.encode(text);
  const parts = [u32(rawText.length), rawText, u16(files.length)];
  for (const file of files) {
    if (!file.name) throw new EnvelopeError("a file needs a name");
    if (!Number.isSafeInteger(file.size) || file.size < 0) throw new EnvelopeError("a file size must be a whole number of bytes");
    parts.push(shortString(file.name, "file name"), shortString(file.type || "", "file type"), u64(file.size));
  }
  return concat(...parts);
}

async function readHeader(reader) {
  const text = await reader.text(4);
  const count = await reader.number(2);
  if (count > MAX_FILES) throw new ContentError(`at most ${MAX_FILES} files`);
  const files = [];
  for (let left = count; left > 0; left -= 1) {
    const name = await reader.text(2);
    const type = await reader.text(2);
    if (!name) throw new ContentError("a file needs a name");
    if (Math.max(encoder.encode(name).length, encoder.encode(type).length) > MAX_NAME_BYTES) {
      throw new ContentError(`a file name or type is longer than ${MAX_NAME_BYTES} bytes`);
    }
    files.push({ name, type, size: await reader.number(8) });
  }
  return { text, files };
}

/** A whole encoded header, and nothing after it. */
export async function decodeHeader(bytes) {
  const reader = new PlaintextReader([bytes][Symbol.iterator](), "plaintext frame is truncated");
  const header = await readHeader(reader);
  if (reader.at !== reader.data.length) throw new ContentError("bytes follow the header");
  return header;
}

/**
 * Seals {text, files: [{name, type, blob}]} into segments: iterate it with
 * `for await`, or ask for any segment by its index (`segment(i)`, `segments(from)`).
 * The nonce is the index, so a segment sealed again is the same bytes: an upload cut
 * short resumes from the first segment the server lacks. Each Blob is read a slice
 * at a time, only for the segment asked for.
 */
export class ContentSealer {
  #contentKey;
  #files;
  #key = null;

  constructor(contentKey, { text = "", files = [] } = {}, segmentSize = DEFAULT_SEGMENT_SIZE) {
    this.segmentSize = checkSegmentSize(segmentSize);
    if (contentKey.length !== KEY_BYTES) throw new EnvelopeError("content key must be 32 bytes");
    this.#contentKey = contentKey;
    this.#files = files;
    this.header = { text, files: files.map((f) => ({ name: f.name, type: f.type || "", size: f.blob.size })) };
    this.encodedHeader = encodeHeader(this.header);
    this.plaintextLength = this.header.files.reduce((sum, f) => sum + f.size, this.encodedHeader.length);
    this.paddedLength = paddedLength(this.plaintextLength);
    this.segmentCount = Math.ceil(this.paddedLength / this.segmentSize);
    if (this.segmentCount > MAX_SEGMENTS) throw new ContentError("the content needs more segments than a content may have");
  }

  /** What the segments weigh together: the padded length and a tag per segment. */
  get sealedLength() {
    return this.paddedLength + this.segmentCount * TAG_BYTES;
  }

  [Symbol.asyncIterator]() {
    return this.segments(0);
  }

  /** The segments from index `from` to the last, in order. */
  async *segments(from = 0) {
    for (let index = from; index < this.segmentCount; index += 1) yield await this.segment(index);
  }

  /** Segment `index`, sealed: its plaintext read from the header, the files and the padding. */
  async segment(index) {
    if (!Number.isInteger(index) || index < 0 || index >= this.segmentCount) {
      throw new RangeError(`segment ${index} is not one of this content's ${this.segmentCount}`);
    }
    this.#key ??= segmentKey(this.#contentKey).then((raw) => aesKey(raw, "encrypt"));
    const start = index * this.segmentSize;
    const end = Math.min(start + this.segmentSize, this.paddedLength);
    return sealSegment(await this.#key, index, await this.#plaintext(start, end), index === this.segmentCount - 1);
  }

  /** Bytes [start, end) of the stream: header, then each file, then zeros. */
  async #plaintext(start, end) {
    const out = new Uint8Array(end - start); // zero: what lies past the files is padding
    const header = this.encodedHeader;
    if (start < header.length) out.set(header.subarray(start, Math.min(end, header.length)));
    let offset = header.length; // where the next file starts in the stream
    for (const [number, file] of this.#files.entries()) {
      const size = this.header.files[number].size;
      const [from, to] = [Math.max(start, offset), Math.min(end, offset + size)];
      if (from < to) {
        const piece = new Uint8Array(await file.blob.slice(from - offset, to - offset).arrayBuffer());
        if (piece.length !== to - from) throw new ContentError(`file ${number} does not hold its declared size`);
        out.set(piece, from - start);
      }
      offset += size;
      if (offset >= end) break;
    }
    return out;
  }
}

/**
 * What POST /contents carries for ``sealer``'s content (made with ``contentKey``),
 * as services/client/api_client.py does: segment 0 sealed, the content key wrapped
 * for a new link, the verifiers and the sealed label. The link and receipt keys stay
 * with the caller.
 */
export async function prepareContent(
  sealer,
  contentKey,
  { passphrase = null, maxViews, expiresIn, label, notify, recipientMayDelete = false } = {},
) {
  const linkKey = randomBytes(KEY_BYTES);
  const keys = await deriveLinkKeys(linkKey, passphrase);
  const receiptKey = randomBytes(KEY_BYTES);
  const receiptKeys = await deriveReceiptKeys(receiptKey);
  const body = {
    segment_size: sealer.segmentSize,
    segment_count: sealer.segmentCount,
    sealed_bytes: sealer.sealedLength,
    first_segment: b64uEncode(await sealer.segment(0)),
    wrapped_key: b64uEncode(await wrapContentKey(keys.wrap, contentKey)),
    ...(await linkFields(keys, receiptKeys, { maxViews, expiresIn, label, notify, recipientMayDelete })),
  };
  return { body, linkKey, receiptKey };
}

/**
 * What POST /contents carries for a share with several recipients (issue 16):
 * ``sealer``'s content sealed once (segment 0 here), and one entry per recipient in
 * ``recipients`` ({name, passphrase, maxViews}, in order): its own link key's claim
 * and unlock verifiers, the content key wrapped for it, its views, and its name
 * sealed under the receipt key. The share's own fields (label, expiry, notify, ...)
 * are as prepareContent's; no per-link field is at the top. The link keys (one per
 * recipient, in order) and the receipt key stay with the caller.
 */
export async function prepareShare(
  sealer,
  contentKey,
  recipients,
  { expiresIn, label, notify, recipientMayDelete = false } = {},
) {
  const receiptKey = randomBytes(KEY_BYTES);
  const receiptKeys = await deriveReceiptKeys(receiptKey);
  const linkKeys = [];
  const entries = [];
  for (const [index, { name, passphrase = null, maxViews }] of recipients.entries()) {
    const linkKey = randomBytes(KEY_BYTES);
    const keys = await deriveLinkKeys(linkKey, passphrase || null);
    const entry = {
      claim_verifier: b64uEncode(await verifier(keys.claim)),
      wrapped_key: b64uEncode(await wrapContentKey(keys.wrap, contentKey)),
    };
    if (keys.unlock) entry.unlock_verifier = b64uEncode(await verifier(keys.unlock));
    if (maxViews !== undefined) entry.max_views = maxViews;
    if (name) entry.name = b64uEncode(await sealRecipientName(receiptKey, index, name));
    linkKeys.push(linkKey);
    entries.push(entry);
  }
  const body = {
    segment_size: sealer.segmentSize,
    segment_count: sealer.segmentCount,
    sealed_bytes: sealer.sealedLength,
    first_segment: b64uEncode(await sealer.segment(0)),
    manage_verifier: b64uEncode(await verifier(receiptKeys.manage)),
  };
  if (label) body.label = b64uEncode(await seal(receiptKeys.label, encodeLabel(label)));
  if (expiresIn !== undefined) body.expires_in = expiresIn;
  if (notify && notify.length) body.notify = notify;
  if (recipientMayDelete) body.recipient_may_delete = true;
  body.recipients = entries;
  return { body, linkKeys, receiptKey };
}

async function sealSegment(key, index, plaintext, last) {
  const params = { name: "AES-GCM", iv: segmentNonce(index, last), additionalData: AAD };
  return new Uint8Array(await subtle.encrypt(params, key, plaintext));
}

/**
 * Opens sealed segments (an iterable or async iterable of Uint8Array), one at a
 * time: iterating it with `for await` yields {header: {text, files}}, then
 * {file, data} chunks in order (file is an index into header.files).
 *
 * Every segment is authenticated before any of its bytes are used, but only the
 * end of the iteration proves the content whole (nothing dropped, truncated or
 * appended, zero padding): a consumer must discard what it got if iterating throws.
 */
export class ContentOpener {
  #contentKey;
  #segments;

  constructor(contentKey, segments, segmentSize) {
    this.segmentSize = checkSegmentSize(segmentSize);
    if (contentKey.length !== KEY_BYTES) throw new EnvelopeError("content key must be 32 bytes");
    this.#contentKey = contentKey;
    this.#segments = segments;
  }

  async *[Symbol.asyncIterator]() {
    const reader = new PlaintextReader(this.#plaintexts(), "the content is shorter than its header says");
    const header = await readHeader(reader);
    yield { header };
    for (const [file, entry] of header.files.entries()) {
      for await (const data of reader.pieces(entry.size)) yield { file, data };
    }
    await reader.finish(paddedLength(reader.position));
  }

  /** Each segment opened in turn. A segment is the last when none follows it, and
   * is opened as such: the flag in its nonce proves where the content ends. */
  async *#plaintexts() {
    const sealed = this.#segments[Symbol.asyncIterator]?.() ?? this.#segments[Symbol.iterator]();
    let current = await sealed.next();
    if (current.done) throw new ContentError("the content is truncated: there is no segment");
    const key = await aesKey(await segmentKey(this.#contentKey), "decrypt");
    for (let index = 0; !current.done; index += 1) {
      const following = await sealed.next();
      yield await this.#open(key, index, current.value, following.done);
      current = following;
    }
  }

  async #open(key, index, sealed, last) {
    if (index >= MAX_SEGMENTS) throw new ContentError("more segments than a content may have");
    if (sealed.length <= TAG_BYTES || sealed.length > this.segmentSize + TAG_BYTES) {
      throw new ContentError(`segment ${index} has a wrong length`);
    }
    const plaintext = await openSegment(key, index, sealed, last);
    if (plaintext === null) throw await refusal(key, index, sealed, last);
    if (!last && plaintext.length !== this.segmentSize) throw new ContentError(`segment ${index} has a wrong length`);
    return plaintext;
  }
}

async function openSegment(key, index, sealed, last) {
  const params = { name: "AES-GCM", iv: segmentNonce(index, last), additionalData: AAD };
  try {
    return new Uint8Array(await subtle.decrypt(params, key, sealed));
  } catch {
    return null;
  }
}

/** Name the failure: a segment that opens with the other flag is in its place, but
 * the content ends before or after it. */
async function refusal(key, index, sealed, last) {
  if ((await openSegment(key, index, sealed, !last)) === null) {
    return new ContentError(`segment ${index} does not authenticate: tampered, out of order, or another content's`);
  }
  if (last) return new ContentError("the content is truncated: its last segment is missing");
  return new ContentError(`the content has data after the last segment (${index})`);
}

/** Opened segments as one stream, read by count; pulls a segment only when it needs one. */
class PlaintextReader {
  constructor(chunks, shortMessage) {
    this.chunks = chunks;
    this.shortMessage = shortMessage;
    this.data = new Uint8Array(0);
    this.at = 0;
    this.position = 0;
  }

  async next() {
    const { value, done } = await this.chunks.next();
    if (done) throw new ContentError(this.shortMessage);
    return value;
  }

  async take(count) {
    if (this.data.length - this.at < count) {
      const parts = [this.data.subarray(this.at)];
      for (let held = parts[0].length; held < count; held += parts.at(-1).length) parts.push(await this.next());
      this.data = concat(...parts);
      this.at = 0;
    }
    const chunk = this.data.subarray(this.at, this.at + count);
    this.at += count;
    this.position += count;
    return chunk;
  }

  async number(size) {
    const bytes = await this.take(size);
    const view = new DataView(bytes.buffer, bytes.byteOffset, size);
    if (size === 2) return view.getUint16(0);
    if (size === 4) return view.getUint32(0);
    const value = view.getBigUint64(0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ContentError("a file size is larger than this client can hold");
    return Number(value);
  }

  async text(size) {
    const raw = await this.take(await this.number(size));
    try {
      return decoder.decode(raw);
    } catch {
      throw new ContentError("plaintext frame holds invalid UTF-8");
    }
  }

  /** `count` bytes in pieces of at most one segment, holding no more. */
  async *pieces(count) {
    for (let left = count; left > 0; ) {
      if (this.at === this.data.length) {
        this.data = await this.next();
        this.at = 0;
      }
      const piece = await this.take(Math.min(left, this.data.length - this.at));
      left -= piece.length;
      yield piece;
    }
  }

  /** Zero bytes up to the padded length, then the end of the content. */
  async finish(padded) {
    for await (const piece of this.pieces(padded - this.position)) {
      for (let at = 0; at < piece.length; at += 1) {
        if (piece[at] !== 0) throw new ContentError("padding must be zero bytes");
      }
    }
    if (this.at < this.data.length || !(await this.chunks.next()).done) {
      throw new ContentError("the content is longer than its padded length");
    }
  }
}
