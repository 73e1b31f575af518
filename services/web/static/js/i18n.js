// The page's language: its messages, plurals, numbers and dates.
//
// The server picks the language (the switcher's choice, else Accept-Language) and
// names it in <html lang>. The messages the browser code shows are English in the
// code, wrapped in t() and tn() so that Babel extracts them into the same catalogs
// as the templates' (`make messages`); `make catalogs` writes each language's as
// static/i18n/<lang>.json. Messages are plain string literals; {name} marks a value.
const root = globalThis.document?.documentElement;

/** The page's BCP 47 language tag ("en" on Node, where the tests run). */
export const lang = root?.lang || "en";

async function load(tag) {
  if (tag === "en") return {};
  try {
    const response = await fetch(`/static/i18n/${tag}.json`);
    return response.ok ? (await response.json()).messages : {};
  } catch {
    return {}; // English rather than nothing
  }
}

const catalog = await load(lang);
const plurals = new Intl.PluralRules(lang);
export const numbers = new Intl.NumberFormat(lang);

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The message in the page's language, with {name} replaced by params[name]. */
export function t(message, params = {}) {
  const found = catalog[message];
  return fill(typeof found === "string" ? found : message, params);
}

/**
 * A message that depends on a count: the form the page's language uses for it
 * (Intl.PluralRules's category), with {count} the count as the language writes it.
 */
export function tn(singular, plural, count, params = {}) {
  const found = catalog[singular];
  let text = count === 1 ? singular : plural;
  if (found && typeof found === "object") text = found[plurals.select(count)] ?? found.other ?? text;
  return fill(text, { count: numbers.format(count), ...params });
}
