// Where the open page puts a v2 content's files as their segments are opened: a
// sink takes each file's bytes in order (`write(file, data)`), then `close()` once
// the whole content is proved, or `abort()` if it is not, which keeps nothing.
//
// - The disk (the File System Access API, in Chromium browsers): each file is
//   written as it arrives, so memory holds a segment whatever the size. The
//   browser's writable keeps the bytes in a temporary file beside the target until
//   `close()`, so a content that fails to open whole leaves nothing under its name.
// - A Blob per file, built from segment-sized Blobs (every other browser, and small
//   files everywhere): the browser holds the whole file until it is saved, in
//   memory or, in Chromium, partly on disk. Only for files up to BLOB_MAX_BYTES.
//
// A service worker that streams a download was the other way: it needs a worker
// with power over every request of the origin, kept alive for the whole download
// (browsers stop idle workers), for a gain only in browsers that lack the API.

import { t } from "./i18n.js";

/** Files up to this much in all go to Blobs at once, with no question: a download
 * link each, as for a v1 secret. Above it the page asks where to save them. */
export const AUTO_BYTES = 16 * 1024 * 1024;
/** The most the Blob fallback holds, for a browser without the File System Access API. */
export const BLOB_MAX_BYTES = 512 * 1024 * 1024;

export const canSaveToDisk = () => typeof globalThis.showSaveFilePicker === "function";

// Always bytes to save, never a document: a blob URL of the sender's own type
// (text/html, image/svg+xml) pasted into a tab would run its script in our origin.
const OCTETS = { type: "application/octet-stream" };

/** A name the file system takes: no folder separators, not "." or "..". */
export function safeName(name) {
  const cleaned = name.replace(/[/\\\0]/g, "_").trim();
  // Translators: the name a file is saved under when the one it was sent with cannot be used.
  return cleaned === "" || cleaned === "." || cleaned === ".." ? t("file") : cleaned;
}

/** Each file as a Blob: ``close()`` returns them, one per file, in order. */
export function blobSink(files) {
  const parts = files.map(() => []);
  return {
    async write(file, data) {
      parts[file].push(new Blob([data], OCTETS)); // handed to the browser's blob store
    },
    async close() {
      return parts.map((pieces) => new Blob(pieces, OCTETS));
    },
    async abort() {
      parts.forEach((pieces) => pieces.splice(0));
    },
  };
}

/** A name in ``folder`` that holds nothing yet: "notes.txt", then "notes (2).txt". */
async function freeName(folder, name) {
  const dot = name.lastIndexOf(".");
  const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  for (let number = 1; ; number += 1) {
    const candidate = number === 1 ? name : `${stem} (${number})${extension}`;
    try {
      await folder.getFileHandle(candidate);
    } catch (problem) {
      if (problem.name === "NotFoundError") return candidate;
      throw problem;
    }
  }
}

/**
 * Ask where to save ``files``: one file, a save dialog; several, a folder. Call it
 * straight from a click (browsers open the dialogs only then). Rejects with an
 * AbortError when the person closes the dialog. On ``abort()`` the writables drop
 * what they held; in a folder the names this made are removed again, while a file
 * chosen in the save dialog keeps what it held before (empty, if it was new).
 */
export async function diskSink(files) {
  const handles = [];
  let folder = null;
  if (files.length === 1) {
    handles.push(await globalThis.showSaveFilePicker({ suggestedName: safeName(files[0].name) }));
  } else {
    folder = await globalThis.showDirectoryPicker({ mode: "readwrite" });
    for (const file of files) {
      handles.push(await folder.getFileHandle(await freeName(folder, safeName(file.name)), { create: true }));
    }
  }
  const writables = [];
  const open = async (file) => (writables[file] ??= await handles[file].createWritable());
  return {
    async write(file, data) {
      await (await open(file)).write(data);
    },
    async close() {
      for (const file of handles.keys()) await (await open(file)).close(); // empty files too
      return null; // nothing to hand on: the files are where the person chose
    },
    async abort() {
      await Promise.all(writables.filter(Boolean).map((writable) => writable.abort().catch(() => {})));
      if (folder) await Promise.all(handles.map((handle) => folder.removeEntry(handle.name).catch(() => {})));
    },
  };
}
