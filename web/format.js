// Numbers, sizes, times, dates and lists as the reader's language writes
// them, through `Intl` (no hand-made "s" on plurals, no English month
// names): times of day, full dates, the timeline's day dividers ("Today",
// "Yesterday", then the date), how long ago, file sizes ("2,1 MB" in
// Portuguese) and lists ("ana, bruno e 3 outros"). Each formatter is made
// once per language and dropped when the language changes.

import { formatted, intlLanguage, t } from './i18n.js';

const DAY_MS = 86400000;

/** Formatters of the language they were made for. @type {Map<string, any>} */
let made = new Map();
let madeFor = '';

/**
 * The formatter `name` for the page's language, made by `make` once.
 * @template T @param {string} name @param {(language: string) => T} make @returns {T}
 */
function formatter(name, make) {
  const language = intlLanguage();
  if (madeFor !== language) {
    made = new Map();
    madeFor = language;
  }
  if (!made.has(name)) made.set(name, make(language));
  return made.get(name);
}

/** "14:05", or "2:05 PM", as the language says it. @param {number | Date} when */
export function formatTime(when) {
  return formatted(formatter('time', (language) => new Intl.DateTimeFormat(language, { hour: 'numeric', minute: '2-digit' }))
    .format(when));
}

/** The whole date and time, for a title on hover. @param {number | Date} when */
export function formatFull(when) {
  return formatted(formatter('full', (language) => new Intl.DateTimeFormat(language, { dateStyle: 'full', timeStyle: 'medium' }))
    .format(when));
}

/** "Monday, 7 December 2026", in the language's order and words. @param {number | Date} when */
export function formatDay(when) {
  return formatted(formatter('day', (language) => new Intl.DateTimeFormat(language, {
    weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
  })).format(when));
}

/** The local day of a moment, as a key ("2026-12-7"). @param {number} timestamp */
export function dayKey(timestamp) {
  const date = new Date(timestamp);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/**
 * A day divider: "Today", "Yesterday" (the language's own words for them,
 * from `RelativeTimeFormat`), else the full date.
 * @param {number} timestamp
 */
export function dayLabel(timestamp) {
  const key = dayKey(timestamp);
  const now = Date.now();
  let days = -1;
  if (key === dayKey(now)) days = 0;
  else if (key !== dayKey(now - DAY_MS)) return capitalize(formatDay(timestamp));
  const relative = formatter('days', (language) => new Intl.RelativeTimeFormat(language, { numeric: 'auto' }));
  return capitalize(formatted(relative.format(days, 'day')));
}

/**
 * How long ago (or how soon) `timestamp` is: "5 minutes ago", "in 10
 * minutes", "yesterday".
 * @param {number} timestamp
 */
export function formatRelative(timestamp) {
  const seconds = Math.round((timestamp - Date.now()) / 1000);
  const relative = formatter('relative', (language) => new Intl.RelativeTimeFormat(language, { numeric: 'auto' }));
  const steps = /** @type {[Intl.RelativeTimeFormatUnit, number][]} */ ([
    ['second', 60], ['minute', 60], ['hour', 24], ['day', 7], ['week', 4.35], ['month', 12], ['year', Infinity],
  ]);
  let value = seconds;
  for (const [unit, size] of steps) {
    if (Math.abs(value) < size) return formatted(relative.format(Math.round(value), unit));
    value /= size;
  }
  return formatted(relative.format(Math.round(value), 'year'));
}

/**
 * Bytes as people say them, in the server's units (1000 to a kilobyte):
 * "2.1 MB", "2,1 MB", "512 bytes".
 * @param {number} bytes
 */
export function formatSize(bytes) {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit > 0 && value < 10 ? 1 : 0;
  return formatted(formatter(`size-${unit}-${digits}`, (language) => new Intl.NumberFormat(language, {
    style: 'unit',
    unit: units[unit],
    unitDisplay: unit === 0 ? 'long' : 'short',
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })).format(unit === 0 ? bytes : value));
}

/** A number as the language writes it: "10.000" in Portuguese. @param {number} value */
export function formatCount(value) {
  return formatter('count', (language) => new Intl.NumberFormat(language)).format(value);
}

/**
 * Names as a list, "ana, bruno and carla", the last `and` the language's own;
 * past `shown` names the rest count as "3 others" (`list.others`).
 * @param {string[]} names
 * @param {number} [shown]
 */
export function formatList(names, shown = Infinity) {
  const list = formatter('list', (language) => new Intl.ListFormat(language, { style: 'long', type: 'conjunction' }));
  // Only the list's own words are accented in the pseudo-locale, not the names in it.
  const words = (text) => text.split(/(\p{L}+)/u).map((part, index) => (index % 2 === 1 && !names.includes(part) ? formatted(part) : part)).join('');
  if (names.length <= shown) return words(list.format(names));
  const rest = names.length - shown;
  return words(list.format([...names.slice(0, shown), t('list.others', { count: rest })]));
}

/** The first letter in capitals, as a divider starts ("hoje" → "Hoje"). @param {string} text */
function capitalize(text) {
  const [first = '', ...rest] = text;
  return first.toLocaleUpperCase(intlLanguage()) + rest.join('');
}

/** A whole percentage as the language writes it: "45%", "45 %". @param {number} percent 0 to 100 */
export function formatPercent(percent) {
  return formatter('percent', (language) => new Intl.NumberFormat(language, { style: 'percent' })).format(percent / 100);
}
