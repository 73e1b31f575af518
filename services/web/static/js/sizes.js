// How much a secret may hold, from the api's max_ciphertext_bytes: one number, the
// same on the page, in its warnings and in its errors. No DOM: tests/js/ runs it on
// Node.
//
// A secret's text and files are framed and padded (envelope.js encodePayload), then
// sealed: version, nonce and tag add SEAL_BYTES. The largest frame that still seals
// within the limit is found exactly, so the promise holds for any limit the operator
// sets; the number shown is that frame, less the frame's own bytes for one file
// with the longest name and type, rounded down.

import { paddedLength } from "./envelope.js";

const encoder = new TextEncoder();
export const SEAL_BYTES = 1 + 12 + 16; // version, AES-GCM nonce and tag
const FRAME_BYTES = 4 + 2; // text length, file count
const FILE_FRAME_BYTES = 2 + 2 + 4; // name length, type length, data length
const MAX_NAME_BYTES = 255; // a file's name and its type, each (envelope.js)
const DEFAULT_TYPE = "application/octet-stream";

const KiB = 1024;
const MiB = 1024 * 1024;

/** The type a file is sealed with. */
export function fileType(file) {
  return file.type || DEFAULT_TYPE;
}

/** The largest framed payload whose sealed ciphertext fits ``maxCiphertextBytes``. */
export function largestFrame(maxCiphertextBytes) {
  const fits = (length) => paddedLength(length) + SEAL_BYTES <= maxCiphertextBytes;
  if (!fits(0)) return 0;
  let [low, high] = [0, maxCiphertextBytes]; // fits(low), and nothing above high fits
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (fits(middle)) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** What one file adds to the frame: its bytes, its name and type, and their lengths. */
export function fileWeight(file) {
  return FILE_FRAME_BYTES + encoder.encode(file.name).length + encoder.encode(fileType(file)).length + file.size;
}

/** What the text adds to the frame. */
export function textWeight(text) {
  return encoder.encode(text).length;
}

/** The budget of a secret under ``maxCiphertextBytes``: ``frame``, what the frame
 * may weigh, and ``shown``, the number of bytes the page promises (any file of
 * that size fits, whatever its name). */
export function budget(maxCiphertextBytes) {
  const frame = largestFrame(maxCiphertextBytes);
  const oneFile = FRAME_BYTES + FILE_FRAME_BYTES + 2 * MAX_NAME_BYTES;
  return { frame, shown: Math.max(0, frame - oneFile) };
}

/**
 * Which of ``files`` fit beside ``text`` within ``frame``, taken in order: a file
 * that would go over is marked and counted out, so removing the marked files is
 * enough. Returns the total weight, whether the text alone is over, and the
 * indexes of the files that do not fit.
 */
export function fitFiles(text, files, frame) {
  let weight = FRAME_BYTES + textWeight(text);
  const textOver = weight > frame;
  const over = [];
  files.forEach((file, index) => {
    const adds = fileWeight(file);
    if (textOver || weight + adds > frame) over.push(index);
    else weight += adds;
  });
  return { weight, textOver, over };
}

/** A byte count as the page writes it: "980 bytes", "9.5 KB", "1007 KB", "3.5 MB".
 * ``down`` rounds down, for a limit: the page never promises more than holds. */
export function formatSize(count, { down = false } = {}) {
  const round = (value, digits) => {
    const scale = 10 ** digits;
    return (down ? Math.floor(value * scale) : Math.round(value * scale)) / scale;
  };
  if (count < KiB) return `${count} bytes`;
  if (count < MiB) {
    const digits = count < 10 * KiB ? 1 : 0;
    return `${round(count / KiB, digits).toFixed(digits)} KB`;
  }
  return `${round(count / MiB, 1).toFixed(1)} MB`;
}
