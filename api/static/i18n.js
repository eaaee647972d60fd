// The pages' scripts in the page's language (issue 17). Write a text in English as
// _("Applied (entry %(entry)s).", { entry: n }); `scripts/i18n update` extracts it into the
// catalogue (api/locale/), and the page embeds the Dutch of every text the scripts use
// (<script id="i18n-messages">, rendered by base.html from that same catalogue).

const node = typeof document === "undefined" ? null : document.getElementById("i18n-messages");
const table = node ? JSON.parse(node.textContent) : {};

// The page's language ("nl" or "en"), as its <html lang> says.
export const lang = (typeof document !== "undefined" && document.documentElement.lang) || "en";

// `message` in the page's language, each %(name)s replaced by values[name].
export function _(message, values = {}) {
  return format(table[message] || message, values);
}

// `text` with each %(name)s replaced by values[name] (and %% by %).
export function format(text, values = {}) {
  return text.replace(/%\((\w+)\)s|%%/g, (match, name) =>
    name === undefined ? "%" : name in values ? String(values[name]) : match,
  );
}

// A number the page's language's way (1.234,5 in Dutch).
export function formatNumber(value, decimals) {
  const options = decimals === undefined ? {} : { minimumFractionDigits: decimals, maximumFractionDigits: decimals };
  return new Intl.NumberFormat(lang, options).format(value);
}

// A day (YYYY-MM-DD) the page's language's way (6 dec 2026).
export function formatDate(day) {
  if (!day) return "";
  const [y, m, d] = day.slice(0, 10).split("-").map(Number);
  return new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, d)));
}
