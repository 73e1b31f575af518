// The choices a page that sends something offers from GET /limits: how long it
// lasts, and which notification endpoints to tell (the create and ask pages).
import * as api from "./api.js";
import { t } from "./i18n.js";
import { formatDuration } from "./ui.js";

const EXPIRY_CHOICES = [300, 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400];
/** The usual limits, for when GET /limits cannot be read: the server still decides. */
export const FALLBACK_LIMITS = {
  max_content_bytes: 100 * 1024 * 1024,
  segment_size: 1024 * 1024,
  max_views: 100,
  min_expires_in: 60,
  max_expires_in: 30 * 86400,
  default_expires_in: 7 * 86400,
  max_attempts: 5,
  max_recipients: 50,
};

/** GET /limits, or the usual ones with a warning in ``error`` when it fails. */
export async function loadLimits(warn) {
  try {
    return await api.limits();
  } catch {
    warn(t("The server's limits could not be loaded; using the usual ones."));
    return FALLBACK_LIMITS;
  }
}

/** ``select``'s options: the usual lengths within the limits, and the default, chosen. */
export function fillExpiry(select, limits) {
  const seconds = new Set(EXPIRY_CHOICES.filter((s) => s >= limits.min_expires_in && s <= limits.max_expires_in));
  seconds.add(limits.default_expires_in);
  select.replaceChildren(
    ...[...seconds].sort((a, b) => a - b).map((value) => {
      const option = new Option(formatDuration(value), String(value));
      option.selected = value === limits.default_expires_in;
      return option;
    }),
  );
}

/** A checkbox per notification endpoint in ``container`` (name "notify"); ``field``
 * shows only when there is one. */
export function fillNotify(container, field, limits) {
  const endpoints = limits.notify_endpoints || [];
  container.replaceChildren(
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
  field.hidden = endpoints.length === 0;
}

/** The endpoints checked in ``form``. */
export function checkedNotify(form) {
  return [...form.querySelectorAll('input[name="notify"]:checked')].map((box) => box.value);
}
