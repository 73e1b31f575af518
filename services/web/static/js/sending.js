// The segments of a sealed content after its first, uploaded with the page's
// progress bar (templates/_upload.html): the create page's secret and the fill page's
// answer. Its first segment went with the create (or the answer) itself.
import { numbers, t, tn } from "./i18n.js";
import { uploadSegments } from "./transfer.js";
import { byId, show } from "./ui.js";

/**
 * What the progress bar measures: one file (its name), several (how many), or the
 * text alone, ``whole``: "secret" (the create page) or "answer" (the fill page), a key
 * that picks the sentence, never shown ("the secret" and "your answer" do too).
 */
export function uploadSubject(content, whole) {
  if (content.files.length === 1) return { name: content.files[0].name };
  if (content.files.length > 1) return { count: content.files.length };
  return { answer: whole !== "secret" && whole !== "the secret" };
}

/** The bar's words: what goes up, and how far it got. */
function uploadLabel(subject, done) {
  const percent = numbers.format(done);
  if (subject.name !== undefined) return t("Encrypting and uploading {name} — {percent} %", { name: subject.name, percent });
  if (subject.count !== undefined) {
    return tn("Encrypting and uploading {count} file — {percent} %", "Encrypting and uploading {count} files — {percent} %", subject.count, { percent });
  }
  if (subject.answer) return t("Encrypting and uploading your answer — {percent} %", { percent });
  return t("Encrypting and uploading the secret — {percent} %", { percent });
}

function showUpload(subject, received, count) {
  const percent = Math.floor((100 * received) / count);
  byId("upload-progress").value = percent;
  byId("upload-label").textContent = uploadLabel(subject, percent);
  byId("upload-note").textContent = ""; // a live region that stays in the page: its news is read out
}

/** The progress bar at 0, when ``sealer`` has segments to upload after its first. */
export function showUploadStart(sealer, subject) {
  if (sealer.segmentCount < 2) return;
  showUpload(subject, 0, sealer.segmentCount);
  show(byId("upload"));
}

/** Segments 1.. of ``sealer`` to content ``id`` with ``upload`` (the create's
 * answer), in order, then finalize, the bar following; resumes by itself after a
 * dropped connection. Nothing to do for a content of one segment. */
export async function uploadRest(sealer, id, upload, subject, signal) {
  if (!upload) return;
  await uploadSegments(sealer, id, upload, {
    signal,
    onProgress: (received, count) => showUpload(subject, received, count),
    onWait: (ms) => {
      const seconds = Math.max(1, Math.round(ms / 1000));
      // Translators: "s" is seconds; a language may spell the unit out.
      byId("upload-note").textContent = tn(
        "The connection dropped. Trying again in {count} s; the upload goes on from where it stopped.",
        "The connection dropped. Trying again in {count} s; the upload goes on from where it stopped.",
        seconds,
      );
    },
  });
}
