// The segments of a sealed content after its first, uploaded with the page's
// progress bar (templates/_upload.html): the create page's secret and the fill page's
// answer. Its first segment went with the create (or the answer) itself.
import { uploadSegments } from "./transfer.js";
import { byId, show } from "./ui.js";

/** What the progress bar measures: "ci-dump.sql", "3 files", or ``whole`` ("the secret"). */
export function uploadSubject(content, whole) {
  if (content.files.length === 1) return content.files[0].name;
  return content.files.length > 1 ? `${content.files.length} files` : whole;
}

function showUpload(subject, received, count) {
  const percent = Math.floor((100 * received) / count);
  byId("upload-progress").value = percent;
  byId("upload-label").textContent = `Encrypting and uploading ${subject} — ${percent} %`;
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
      byId("upload-note").textContent = `The connection dropped. Trying again in ${seconds} s; the upload goes on from where it stopped.`;
    },
  });
}
