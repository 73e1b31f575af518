// How much a secret may hold: the api's max_content_bytes, one number, the same on
// the page, in its warnings and errors, in GET /limits and in the CLI
// (services/client/sizes.py). No DOM: tests/js/ runs it on Node.
//
// The rule (protocol v2, docs/protocol.md): the content's plaintext total, its
// header (the text, and each file's name, type and size) and the files' bytes,
// before padding, is at most max_content_bytes. Padding and sealing are the
// server's arithmetic (max_sealed_bytes), not the sender's.

import { lang, t, tn } from "./i18n.js";

const encoder = new TextEncoder();
const FRAME_BYTES = 4 + 2; // text length, file count
const FILE_FRAME_BYTES = 2 + 2 + 8; // name length, type length, u64 size
const DEFAULT_TYPE = "application/octet-stream";

const KiB = 1024;
const MiB = 1024 * 1024;

/** The type a file is sealed with. */
export function fileType(file) {
  return file.type || DEFAULT_TYPE;
}

/** The largest plaintext total a content may have: the limit itself (the rule is
 * on the plaintext before padding, so there is nothing to search for). */
export function largestFrame(maxContentBytes) {
  return Math.max(0, maxContentBytes);
}

/** What one file adds to the total: its bytes, its name and type, and their lengths. */
export function fileWeight(file) {
  return FILE_FRAME_BYTES + encoder.encode(file.name).length + encoder.encode(fileType(file)).length + file.size;
}

/** What the text adds to the total. */
export function textWeight(text) {
  return encoder.encode(text).length;
}

/** The budget of a secret under ``maxContentBytes``: ``frame``, what the whole
 * content may weigh, and ``shown``, the number the page states. They are the same
 * number: the page promises the limit, and counts names and types in it. */
export function budget(maxContentBytes) {
  const frame = largestFrame(maxContentBytes);
  return { frame, shown: frame };
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

/** ``value`` with ``digits`` decimals, as the page's language writes a number; not
 * grouped, as services/client/sizes.py writes it ("1007 KB", "1024.0 MB"). */
const decimals = [0, 1].map(
  (digits) => new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false }),
);
const decimal = (value, digits) => decimals[digits].format(value);

/** A byte count as the page writes it: "980 bytes", "9.5 KB", "1007 KB", "3.5 MB"
 * (in English; the number and the unit as the page's language writes them).
 * ``down`` rounds down, for a limit: the page never promises more than holds. */
export function formatSize(count, { down = false } = {}) {
  const round = (value, digits) => {
    const scale = 10 ** digits;
    return (down ? Math.floor(value * scale) : Math.round(value * scale)) / scale;
  };
  if (count < KiB) return tn("{count} byte", "{count} bytes", count);
  if (count < MiB) {
    const digits = count < 10 * KiB ? 1 : 0;
    // Translators: a size in kilobytes (of 1024 bytes), such as "9.5 KB".
    return t("{size} KB", { size: decimal(round(count / KiB, digits), digits) });
  }
  // Translators: a size in megabytes (of 1024 × 1024 bytes), such as "3.5 MB".
  return t("{size} MB", { size: decimal(round(count / MiB, 1), 1) });
}
