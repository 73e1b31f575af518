// The create page: encrypt here, post only ciphertext and verifiers.
import * as api from "./api.js";
import { prepareSecret } from "./envelope.js";
import { buildLink } from "./links.js";
import { generatePassword, passphraseStrength } from "./passwords.js";
import { drawQr } from "./qr.js";
import { byId, focusHeading, formatBytes, formatDuration, formatTime, plural, say, show, wireCopyButtons } from "./ui.js";

const EXPIRY_CHOICES = [300, 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400];
const FALLBACK_LIMITS = {
  max_ciphertext_bytes: 1048576,
  max_views: 100,
  min_expires_in: 60,
  max_expires_in: 30 * 86400,
  default_expires_in: 7 * 86400,
  max_attempts: 5,
};
// Framing, padding and sealing add a little to what the files and text weigh.
const OVERHEAD_ALLOWANCE = 0.9;

const form = byId("create-form");
const error = byId("create-error");
const attached = [];
let limits = FALLBACK_LIMITS;

function fillChoices() {
  const select = byId("expires");
  const seconds = new Set(EXPIRY_CHOICES.filter((s) => s >= limits.min_expires_in && s <= limits.max_expires_in));
  seconds.add(limits.default_expires_in);
  select.replaceChildren(
    ...[...seconds].sort((a, b) => a - b).map((value) => {
      const option = new Option(formatDuration(value), String(value));
      option.selected = value === limits.default_expires_in;
      return option;
    }),
  );
  const views = byId("views");
  views.max = String(limits.max_views);
  byId("views-suffix").textContent = `time(s), at most ${limits.max_views}`;
  byId("max-size").textContent = formatBytes(Math.floor(limits.max_ciphertext_bytes * OVERHEAD_ALLOWANCE));
  byId("max-attempts").textContent = String(limits.max_attempts);
  const endpoints = limits.notify_endpoints || [];
  byId("notify-choices").replaceChildren(
    ...endpoints.map((name) => {
      const label = document.createElement("label");
      label.className = "checkbox";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.name = "notify";
      box.value = name;
      label.append(box, ` ${name}`);
      return label;
    }),
  );
  byId("notify-field").hidden = endpoints.length === 0;
  const mayCreate = limits.may_create !== false;
  byId("sign-in-needed").hidden = mayCreate;
  byId("create-button").disabled = !mayCreate;
}

function renderFiles() {
  const list = byId("file-list");
  list.replaceChildren(
    ...attached.map((file, index) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = `${file.name} (${formatBytes(file.size)})`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button-link";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove ${file.name}`);
      remove.addEventListener("click", () => {
        attached.splice(index, 1);
        renderFiles();
      });
      item.append(name, remove);
      return item;
    }),
  );
}

function attach(files) {
  attached.push(...files);
  renderFiles();
}

function wireFiles() {
  const input = byId("secret-files");
  input.addEventListener("change", () => {
    attach([...input.files]);
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
    attach([...event.dataTransfer.files]);
  });
}

function wirePassphrase() {
  const passphrase = byId("passphrase");
  const toggle = byId("toggle-passphrase");
  passphrase.addEventListener("input", () => {
    byId("passphrase-strength").textContent = passphraseStrength(passphrase.value).text;
  });
  toggle.addEventListener("click", () => {
    const showing = passphrase.type === "text";
    passphrase.type = showing ? "password" : "text";
    toggle.textContent = showing ? "Show" : "Hide";
    toggle.setAttribute("aria-pressed", String(!showing));
  });
  byId("generate-password").addEventListener("click", () => {
    const text = byId("secret-text");
    text.value = generatePassword();
    text.focus();
  });
}

async function readPayload() {
  const files = await Promise.all(
    attached.map(async (file) => ({
      name: file.name,
      type: file.type || "application/octet-stream",
      data: new Uint8Array(await file.arrayBuffer()),
    })),
  );
  return { text: byId("secret-text").value, files };
}

function readOptions() {
  const views = Number(byId("views").value);
  if (!Number.isInteger(views) || views < 1 || views > limits.max_views) {
    throw new RangeError(`It can be opened between 1 and ${limits.max_views} times.`);
  }
  const passphrase = byId("passphrase").value;
  return {
    maxViews: views,
    expiresIn: Number(byId("expires").value),
    passphrase: passphrase || null,
    label: byId("label").value.trim() || undefined,
    notify: [...form.querySelectorAll('input[name="notify"]:checked')].map((box) => box.value),
  };
}

function showResult(created, prepared, options) {
  const shareLink = buildLink("s", created.id, prepared.linkKey);
  byId("share-link").value = shareLink;
  byId("receipt-link").value = buildLink("r", created.id, prepared.receiptKey);
  drawQr(byId("share-qr"), shareLink);
  byId("result-summary").textContent =
    `It can be opened ${plural(created.max_views, "time")} and expires ${formatTime(created.expires_at)}, ` +
    "whichever comes first.";
  show(byId("passphrase-reminder"), Boolean(options.passphrase));
  form.reset();
  attached.length = 0;
  show(byId("compose"), false);
  show(byId("result"));
  focusHeading(byId("result-title"));
}

async function submit(event) {
  event.preventDefault();
  say(error, "");
  const button = byId("create-button");
  try {
    const options = readOptions();
    const payload = await readPayload();
    if (!payload.text && payload.files.length === 0) {
      throw new RangeError("Type or paste a secret, or attach a file.");
    }
    button.disabled = true;
    button.textContent = "Encrypting…";
    const prepared = await prepareSecret(payload, options);
    if (prepared.ciphertextBytes > limits.max_ciphertext_bytes) {
      throw new RangeError(`That is too large: at most ${formatBytes(limits.max_ciphertext_bytes)} in all.`);
    }
    const created = await api.createSecret(prepared.body);
    showResult(created, prepared, options);
  } catch (problem) {
    say(error, problem.message, "error");
  } finally {
    button.disabled = false;
    button.textContent = "Create secret link";
  }
}

async function start() {
  wireFiles();
  wirePassphrase();
  wireCopyButtons();
  form.addEventListener("submit", submit);
  try {
    limits = await api.limits();
  } catch {
    say(error, "The server's limits could not be loaded; using the usual ones.", "warning");
  }
  fillChoices();
}

start();
