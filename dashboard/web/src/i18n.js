// Labels in English and Russian, and numbers and dates in the chosen locale (Intl).
import messages from "./messages.json";

export const LANGUAGES = Object.keys(messages);
const LOCALES = { en: "en-GB", ru: "ru-RU" };
let language = "en";
let timeZone = "UTC";
let formats = {};

export function setLanguage(code, zone = timeZone) {
  language = LANGUAGES.includes(code) ? code : "en";
  timeZone = zone;
  const locale = LOCALES[language];
  formats = {
    integer: new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }),
    decimal: new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }),
    measure: new Intl.NumberFormat(locale, { maximumSignificantDigits: 3 }),
    percent: new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }),
    signed: new Intl.NumberFormat(locale, { maximumFractionDigits: 1, signDisplay: "exceptZero" }),
    signedPercent: new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0, signDisplay: "exceptZero" }),
    date: new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone }),
    dateTime: new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "short", timeZone }),
    time: new Intl.DateTimeFormat(locale, { timeStyle: "medium", timeZone }),
    day: new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", timeZone: "UTC" }),
    hour: new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone }),
  };
  document.documentElement.lang = language;
}

export const currentLanguage = () => language;

/** The message `key` with `{name}` placeholders filled from `values` (never parsed as HTML). */
export function t(key, values = {}) {
  const text = messages[language][key] ?? messages.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

const missing = (value) => value === null || value === undefined || Number.isNaN(value);
export const number = (v) => (missing(v) ? t("no_data") : formats.integer.format(v));
export const decimal = (v) => (missing(v) ? t("no_data") : formats.decimal.format(v));
/** A rate on the map (per 1,000 residents, µg/m³): three significant digits, so classes stay apart. */
export const measure = (v) => (missing(v) ? t("no_data") : formats.measure.format(v));
export const percent = (v) => (missing(v) ? t("no_data") : formats.percent.format(v));
export const signed = (v) => formats.signed.format(v);
export const signedPercent = (v) => formats.signedPercent.format(v);
export const hours = (v) => (missing(v) ? t("no_data") : t("hours", { n: formats.decimal.format(v) }));
export const dateTime = (iso) => (iso ? formats.dateTime.format(new Date(iso)) : t("no_data"));
export const time = (moment) => formats.time.format(moment);
export const hourLabel = (seconds) => formats.hour.format(new Date(seconds * 1000));
/** A local calendar date (YYYY-MM-DD, the city's) as the locale writes it. */
export const localDate = (day) => (day ? formats.day.format(new Date(`${day}T00:00:00Z`)) : t("no_data"));

/** Every element with data-i18n gets its message; data-i18n-label sets aria-label. */
export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  document.title = t("title");
}

/** A lag in seconds as the locale writes it ("45 s", "3 min", "2 h"). */
export function duration(seconds) {
  const locale = LOCALES[language];
  const [value, unit] = seconds < 90 ? [seconds, "second"] : seconds < 5400 ? [seconds / 60, "minute"] : [seconds / 3600, "hour"];
  return new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "short", maximumFractionDigits: 0 }).format(value);
}
