// Files attached to a content on its way out, the create page's secret or the fill
// page's answer (templates/_attach.html): the list, each with a Remove button, the
// drop zone, and a warning naming what does not fit the limit, text and files
// together; the page's send button waits until they fit.
import { MAX_FILES, MAX_NAME_BYTES } from "./envelope.js";
import { lang, numbers, t, tn } from "./i18n.js";
import { budget, fileType, fitFiles, formatSize } from "./sizes.js";
import { byId, show } from "./ui.js";

const utf8 = new TextEncoder();

// The warnings' sentences, whole, for each kind of content: a secret (the create
// page) or an answer (the fill page). {limit} is the most it holds, as "3.0 MB".
const WORDS = {
  secret: {
    tooLarge: (limit) => t("That is too large: a secret holds up to {limit} in all, text and files together.", { limit }),
    textOver: (limit) =>
      t("The text is too large: a secret holds up to {limit} in all, text and files together. Shorten it to create the link.", { limit }),
    fileOver: (file, limit) =>
      t("{file} does not fit: a secret holds up to {limit} in all, text and files together. Remove it to create the link.", { file, limit }),
    filesOver: (files, limit) =>
      t("{files} do not fit: a secret holds up to {limit} in all, text and files together. Remove them to create the link.", { files, limit }),
  },
  answer: {
    tooLarge: (limit) => t("That is too large: your answer holds up to {limit} in all, text and files together.", { limit }),
    textOver: (limit) =>
      t("The text is too large: your answer holds up to {limit} in all, text and files together. Shorten it to send it.", { limit }),
    fileOver: (file, limit) =>
      t("{file} does not fit: your answer holds up to {limit} in all, text and files together. Remove it to send it.", { file, limit }),
    filesOver: (files, limit) =>
      t("{files} do not fit: your answer holds up to {limit} in all, text and files together. Remove them to send it.", { files, limit }),
  },
};

/** A file's name and its size: "notes.txt (9.5 KB)". */
function sized(name, size) {
  // Translators: a file's name and its size, as "notes.txt (9.5 KB)".
  return t("{name} ({size})", { name, size });
}

export class Attachments {
  /** The Files attached, in order. */
  files = [];
  /** The text and files do not fit: the page's send button waits until they do. */
  over = false;
  #text;
  #onChange;
  #words;
  #room;
  #shownOver = null; // the files marked in the list, to redraw it only when they change

  /**
   * ``text()``: the text sent beside the files. ``onChange()``: after each check.
   * ``kind``: what the content is, which the warnings say: "secret" (the default) or
   * "answer"; a ``holds`` given (the English fragment it replaces) means an answer.
   * ``limit``: max_content_bytes, until setLimit.
   */
  constructor({ text, limit, onChange = () => {}, kind = undefined, holds = undefined }) {
    this.#room = budget(limit);
    this.#text = text;
    this.#onChange = onChange;
    this.#words = WORDS[kind ?? (holds === undefined ? "secret" : "answer")] ?? WORDS.secret;
  }

  /** The one way the page states the limit: in the hint, the warnings and the errors. */
  limitText() {
    return formatSize(this.#room.shown, { down: true });
  }

  tooLarge() {
    return this.#words.tooLarge(this.limitText());
  }

  /** Why the files cannot be sealed whatever the limit, or "" when they can: a name
   * too long for the header, or too many files. */
  unsealable() {
    if (this.files.length > MAX_FILES) {
      return tn("At most {count} file can be sent at once.", "At most {count} files can be sent at once.", MAX_FILES);
    }
    const long = this.files.find((file) => utf8.encode(file.name).length > MAX_NAME_BYTES);
    if (long) return t("The name of {name} is too long: a file's name can have at most {max} bytes. Rename it, then attach it again.", { name: long.name, max: numbers.format(MAX_NAME_BYTES) });
    return "";
  }

  setLimit(maxContentBytes) {
    this.#room = budget(maxContentBytes);
    byId("max-size").textContent = this.limitText();
    this.check({ files: true });
  }

  /** The content to seal: the text, and the Files, read slice by slice as their
   * segments are sealed (never whole in memory). */
  content() {
    return { text: this.#text(), files: this.files.map((file) => ({ name: file.name, type: fileType(file), blob: file })) };
  }

  clear() {
    this.files.length = 0;
    this.check({ files: true });
  }

  /** The file input, the drop zone, and ``textField``, whose text counts too. */
  wire(textField) {
    const input = byId("secret-files");
    input.addEventListener("change", () => {
      this.#attach([...input.files]);
      input.value = "";
    });
    const zone = byId("drop-zone");
    for (const name of ["dragenter", "dragover"]) {
      zone.addEventListener(name, (event) => {
        event.preventDefault();
        zone.classList.add("drop-zone-active");
      });
    }
    for (const name of ["dragleave", "drop"]) {
      zone.addEventListener(name, () => zone.classList.remove("drop-zone-active"));
    }
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      this.#attach([...event.dataTransfer.files]);
    });
    // A long paste can go over on its own.
    textField.addEventListener("input", () => this.check());
  }

  #attach(files) {
    this.files.push(...files);
    this.check({ files: true });
  }

  #remove(file) {
    const at = this.files.indexOf(file);
    if (at >= 0) this.files.splice(at, 1);
    this.check({ files: true });
  }

  /** Whether the text and files fit: each file that does not is marked in the list
   * and named in a warning. ``files``: the list of files changed. */
  check({ files = false } = {}) {
    const fit = fitFiles(this.#text(), this.files, this.#room.frame);
    const overFiles = fit.over.map((index) => this.files[index]);
    const key = fit.over.join(",");
    if (files || key !== this.#shownOver) {
      this.#render(overFiles);
      this.#shownOver = key;
    }
    this.#warn(fit, overFiles);
  }

  /** A size beside the limit: exact bytes when both would round to the same text. */
  #besideLimit(bytes) {
    const text = formatSize(bytes);
    return text === this.limitText() ? tn("{count} byte", "{count} bytes", bytes) : text;
  }

  #render(overFiles) {
    byId("file-list").replaceChildren(
      ...this.files.map((file) => {
        const item = document.createElement("li");
        const name = document.createElement("span");
        name.textContent = sized(file.name, formatSize(file.size));
        if (overFiles.includes(file)) {
          item.className = "file-over";
          const mark = document.createElement("strong");
          mark.className = "file-over-mark";
          mark.textContent = t("Does not fit: over the limit of {limit} in all", { limit: this.limitText() });
          name.append(" ", mark);
        }
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "button-link";
        // Translators: a button that takes a file off the list of those attached.
        remove.textContent = t("Remove");
        remove.setAttribute("aria-label", t("Remove {name}", { name: file.name }));
        remove.addEventListener("click", () => this.#remove(file));
        item.append(name, remove);
        return item;
      }),
    );
  }

  #warning(fit, overFiles) {
    const limit = this.limitText();
    if (fit.textOver) return this.#words.textOver(limit);
    if (overFiles.length === 1) {
      const [file] = overFiles;
      return this.#words.fileOver(sized(file.name, this.#besideLimit(file.size)), limit);
    }
    if (overFiles.length > 1) {
      const names = overFiles.map((file) => sized(file.name, formatSize(file.size)));
      return this.#words.filesOver(new Intl.ListFormat(lang, { type: "conjunction" }).format(names), limit);
    }
    return "";
  }

  #warn(fit, overFiles) {
    const text = this.#warning(fit, overFiles);
    const paragraph = byId("size-warning-text");
    if (paragraph.textContent !== text) paragraph.textContent = text; // announced once, not per keystroke
    const removeOver = byId("remove-over");
    removeOver.hidden = fit.textOver || overFiles.length === 0;
    removeOver.textContent =
      overFiles.length === 1
        ? t("Remove {name}", { name: overFiles[0].name })
        : tn("Remove this {count} file", "Remove these {count} files", overFiles.length);
    removeOver.onclick = () => {
      for (const file of overFiles) this.files.splice(this.files.indexOf(file), 1);
      this.check({ files: true });
      byId("secret-files").focus();
    };
    this.over = Boolean(text);
    show(byId("size-warning"), this.over);
    this.#onChange();
  }
}
