// Small DOM helpers shared by the pages.

export const byId = (id) => document.getElementById(id);

export function show(element, visible = true) {
  element.hidden = !visible;
}

export function say(element, text, kind = null) {
  element.textContent = text;
  element.classList.remove("notice-error", "notice-warning", "notice-success");
  if (kind) element.classList.add(`notice-${kind}`);
  show(element, Boolean(text));
}

export function focusHeading(element) {
  element.focus({ preventScroll: false });
}

/** Buttons with data-copy="ID" copy that field's value. */
export function wireCopyButtons(root = document) {
  for (const button of root.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const field = byId(button.dataset.copy);
      const original = button.textContent;
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = "Copied";
      } catch {
        field.select();
        button.textContent = "Press Ctrl+C";
      }
      setTimeout(() => {
        button.textContent = original;
      }, 2000);
    });
  }
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatTime(iso) {
  return iso ? dateFormat.format(new Date(iso)) : "—";
}

export function formatBytes(count) {
  if (count < 1024) return `${count} bytes`;
  if (count < 1024 * 1024) return `${(count / 1024).toFixed(count < 10240 ? 1 : 0)} KB`;
  return `${(count / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatDuration(seconds) {
  const units = [
    [86400, "day"],
    [3600, "hour"],
    [60, "minute"],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${name}${count === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}

export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}
