// Files attached to a content on its way out, the create page's secret or the fill
// page's answer (templates/_attach.html): the list, each with a Remove button, the
// drop zone, and a warning naming what does not fit the limit, text and files
// together; the page's send button waits until they fit.
import { budget, fileType, fitFiles, formatSize } from "./sizes.js";
import { byId, show } from "./ui.js";

export class Attachments {
  /** The Files attached, in order. */
  files = [];
  /** The text and files do not fit: the page's send button waits until they do. */
  over = false;
  #text;
  #onChange;
  #holds;
  #goal;
  #room;
  #shownOver = null; // the files marked in the list, to redraw it only when they change

  /**
   * ``text()``: the text sent beside the files. ``onChange()``: after each check.
   * ``holds``: what the limit is of, in the warnings ("a secret"); ``goal``: what
   * fitting allows ("create the link"). ``limit``: max_content_bytes, until setLimit.
   */
  constructor({ text, limit, onChange = () => {}, holds = "a secret", goal = "create the link" }) {
    this.#room = budget(limit);
    this.#text = text;
    this.#onChange = onChange;
    this.#holds = holds;
    this.#goal = goal;
  }

  /** The one way the page states the limit: in the hint, the warnings and the errors. */
  limitText() {
    return formatSize(this.#room.shown, { down: true });
  }

  tooLarge() {
    return `That is too large: ${this.#holds} holds up to ${this.limitText()} in all, text and files together.`;
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
    return text === this.limitText() ? `${bytes.toLocaleString("en")} bytes` : text;
  }

  #render(overFiles) {
    byId("file-list").replaceChildren(
      ...this.files.map((file) => {
        const item = document.createElement("li");
        const name = document.createElement("span");
        name.textContent = `${file.name} (${formatSize(file.size)})`;
        if (overFiles.includes(file)) {
          item.className = "file-over";
          const mark = document.createElement("strong");
          mark.className = "file-over-mark";
          mark.textContent = `Does not fit: over the limit of ${this.limitText()} in all`;
          name.append(" ", mark);
        }
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "button-link";
        remove.textContent = "Remove";
        remove.setAttribute("aria-label", `Remove ${file.name}`);
        remove.addEventListener("click", () => this.#remove(file));
        item.append(name, remove);
        return item;
      }),
    );
  }

  #warning(fit, overFiles) {
    const limit = `${this.#holds} holds up to ${this.limitText()} in all, text and files together`;
    if (fit.textOver) return `The text is too large: ${limit}. Shorten it to ${this.#goal}.`;
    if (overFiles.length === 1) {
      const [file] = overFiles;
      return `${file.name} (${this.#besideLimit(file.size)}) does not fit: ${limit}. Remove it to ${this.#goal}.`;
    }
    if (overFiles.length > 1) {
      const names = overFiles.map((file) => `${file.name} (${formatSize(file.size)})`);
      return `${names.slice(0, -1).join(", ")} and ${names.at(-1)} do not fit: ${limit}. Remove them to ${this.#goal}.`;
    }
    return "";
  }

  #warn(fit, overFiles) {
    const text = this.#warning(fit, overFiles);
    const paragraph = byId("size-warning-text");
    if (paragraph.textContent !== text) paragraph.textContent = text; // announced once, not per keystroke
    const removeOver = byId("remove-over");
    removeOver.hidden = fit.textOver || overFiles.length === 0;
    removeOver.textContent = overFiles.length === 1 ? `Remove ${overFiles[0].name}` : `Remove these ${overFiles.length} files`;
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
