// Words on the page, in the reader's language. Every text a person reads
// comes from a catalog through `t()`; the page never builds a sentence from
// translated pieces. This module sits at the bottom of the page, beside
// state.js and storage.js: it imports only storage.
//
// Catalogs are `i18n/<language>.json`, one per language, embedded like the
// rest of the page. Each is nested objects; a key is the dotted path to a
// value (`join.title`). A value is either
//   - a string with named placeholders: "{name} joined", or
//   - for a count, an object of `Intl.PluralRules` categories
//     ({"one": "{count} message", "other": "{count} messages"}), chosen by
//     `params.count`.
// English is always loaded too: a key a language lacks falls back to it (a
// test that compares the catalogs keeps that from happening in a release).
//
// In HTML, `data-i18n="key"` sets an element's text, and
// `data-i18n-aria-label`, `data-i18n-title`, `data-i18n-placeholder` and
// `data-i18n-alt` set those attributes. `translate()` applies them to a
// subtree; a language change applies them to the whole document and fires
// `lanchat:language` on `window` so renderers draw again.
//
// Words kept in the state for later (an error, a notice, an announcement)
// are kept as a phrase, `phrase('key', {params})`, not as text: renderers
// say them with `t(phrase)` in whatever language the page is in by then.
// `tNodes()` fills a template with elements (a name in <strong>) without
// cutting the sentence into translated pieces.
//
// Choosing: the saved choice, then the browser's languages in order (each
// matched by its base language too, so `pt-PT` gets `pt-BR` before English),
// then English. `?lang=xx` in the address overrides all of them, for tests;
// `?lang=en-XA` is the pseudo-locale: English accented and about 35 %
// longer, so text that never went through `t()` stands out, and so does a
// layout that cannot take longer words.

import { readStorage, writeStorage } from './storage.js';

/** The languages the page ships, with each one's own name for itself. */
export const LANGUAGES = Object.freeze([
  { code: 'en', name: 'English' },
  { code: 'pt-BR', name: 'Português (Brasil)' },
  { code: 'es', name: 'Español' },
]);
export const FALLBACK = 'en';
/** The pseudo-locale, for tests and development only (never offered in the picker). */
export const PSEUDO = 'en-XA';
const LANGUAGE_KEY = 'lanchat.language';
/** Languages written right to left; none ships yet, but `dir` follows this. */
const RTL = new Set(['ar', 'fa', 'he', 'ur']);

/** @typedef {string | {[category: string]: string}} Entry */
/** @typedef {{[key: string]: Entry | Catalog}} Catalog */
/**
 * Words to say later, in the language of that moment. A param may be a
 * phrase too (a refusal's reason inside "Not sent: {why}").
 * @typedef {{key: string, params?: Params}} Phrase
 * @typedef {Record<string, string | number | Phrase>} Params
 */

/** @type {Catalog} */
let fallback = {};
/** @type {Catalog} */
let current = {};
let language = FALLBACK;
/** @type {Intl.PluralRules} */
let plurals = new Intl.PluralRules(FALLBACK);

/** The language the page is in now. */
export function currentLanguage() {
  return language;
}

/**
 * The best shipped language for a list of wanted ones (most wanted first).
 * @param {readonly string[]} wanted
 * @returns {string}
 */
export function bestLanguage(wanted) {
  const codes = LANGUAGES.map((entry) => entry.code);
  for (const want of wanted) {
    if (want === PSEUDO) return PSEUDO;
    const exact = codes.find((code) => code.toLowerCase() === want.toLowerCase());
    if (exact) return exact;
    const base = want.split('-')[0].toLowerCase();
    const sameBase = codes.find((code) => code.split('-')[0].toLowerCase() === base);
    if (sameBase) return sameBase;
  }
  return FALLBACK;
}

/** What the page should speak, before the person picks anything here. */
function wantedLanguage() {
  const asked = new URLSearchParams(location.search).get('lang');
  if (asked) return asked;
  const saved = readStorage(LANGUAGE_KEY);
  if (saved) return bestLanguage([saved]);
  return bestLanguage(navigator.languages?.length ? navigator.languages : [navigator.language || FALLBACK]);
}

/** @param {string} code @returns {Promise<Catalog>} */
async function fetchCatalog(code) {
  if (code === PSEUDO) return pseudoCatalog(fallback);
  const response = await fetch(`i18n/${code}.json`);
  if (!response.ok) throw new Error(`no catalog for ${code}: ${response.status}`);
  return response.json();
}

/**
 * @param {Catalog} catalog
 * @param {string} key
 * @returns {Entry | undefined}
 */
function lookup(catalog, key) {
  /** @type {Entry | Catalog | undefined} */
  let node = catalog;
  for (const part of key.split('.')) {
    if (node === undefined || typeof node === 'string' || !Object.hasOwn(node, part)) return undefined;
    node = /** @type {Catalog} */ (node)[part];
  }
  return /** @type {Entry | undefined} */ (node);
}

/**
 * The text for `key` in the page's language, with `{placeholders}` filled
 * from `params`. A plural entry is chosen by `params.count`, which is shown
 * formatted for the language. A missing key shows as itself, so it is seen.
 * A phrase (`phrase()`) says itself; a plain string is shown as it is (text
 * kept by an older page).
 * @param {string | Phrase} key
 * @param {Params} [params]
 * @returns {string}
 */
export function t(key, params = {}) {
  if (typeof key === 'object' && key !== null) return t(key.key, key.params);
  return template(key, params)
    .map((part) => (typeof part === 'string' ? part : formatParam(params[part.name])))
    .join('');
}

/**
 * Like `t()`, for a template whose placeholders take elements too (a name in
 * <strong>, a button): the text around them is the language's own.
 * @param {string} key
 * @param {Record<string, string | number | Node>} params
 * @returns {(string | Node)[]}
 */
export function tNodes(key, params) {
  return template(key, params).map((part) => {
    if (typeof part === 'string') return part;
    const value = params[part.name];
    return value instanceof Node ? value : formatParam(value);
  });
}

/**
 * Words to say later: `t(phrase(key, params))` says them then.
 * @param {string} key @param {Params} [params]
 * @returns {Phrase}
 */
export function phrase(key, params) {
  return params ? { key, params } : { key };
}

/** Whether the catalogs have `key` (for codes from the server, which may be new). @param {string} key */
export function hasKey(key) {
  return lookup(fallback, key) !== undefined;
}

/**
 * The entry for `key`, its plural chosen, cut at its placeholders.
 * @param {string} key @param {Record<string, unknown>} params
 * @returns {(string | {name: string})[]}
 */
function template(key, params) {
  let entry = lookup(current, key) ?? lookup(fallback, key);
  if (entry === undefined || (typeof entry === 'object' && !isPlural(entry))) return [key];
  if (typeof entry === 'object') {
    const count = Number(params.count ?? 0);
    entry = entry[plurals.select(count)] ?? entry.other;
  }
  /** @type {(string | {name: string})[]} */
  const parts = [];
  let last = 0;
  for (const match of entry.matchAll(/\{(\w+)\}/g)) {
    const start = match.index ?? 0;
    if (start > last) parts.push(entry.slice(last, start));
    parts.push(match[1] in params ? { name: match[1] } : match[0]);
    last = start + match[0].length;
  }
  if (last < entry.length) parts.push(entry.slice(last));
  return parts;
}

/** @param {unknown} value */
function formatParam(value) {
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'object' && value !== null && 'key' in value) return t(/** @type {Phrase} */ (value));
  return value === undefined || value === null ? '' : String(value);
}

/** @type {Intl.NumberFormat | null} */
let numbers = null;

/** A number as the language writes it. @param {number} value */
export function formatNumber(value) {
  numbers = numbers || new Intl.NumberFormat(intlLanguage());
  return numbers.format(value);
}

/** The language to give `Intl` (the pseudo-locale formats as English). */
export function intlLanguage() {
  return language === PSEUDO ? FALLBACK : language;
}

/** Letters and their accented look-alikes, for the pseudo-locale: no ASCII letter is left. */
const ACCENTED = Object.fromEntries([...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ']
  .map((letter, index) => [letter, [...'áƀçđéƒĝĥíĵķĺɱñóþǫŕšţúṽŵẋýžÅƁÇĐÉƑĜĤÎĴĶĹṀÑÖÞǪŔŠŢÛṼŴẊÝŽ'][index]]));

/**
 * English as the pseudo-locale says it: every letter accented, every vowel
 * doubled (about 35 % longer, as translations often are) and the whole in
 * brackets, so a cut-off end shows. Placeholders stay as they are.
 * @param {string} text
 */
export function pseudo(text) {
  const body = text.split(/(\{\w+\})/).map((part) => (part.startsWith('{') ? part
    : part.replace(/[A-Za-z]/g, (letter) => (/[aeiouAEIOU]/.test(letter) ? ACCENTED[letter].repeat(2) : ACCENTED[letter]))))
    .join('');
  return `[${body}]`;
}

/** The categories `Intl.PluralRules` chooses from. */
const PLURAL_CATEGORIES = new Set(['zero', 'one', 'two', 'few', 'many', 'other']);

/** Whether a catalog value is a plural entry (not a namespace). @param {unknown} value */
export function isPlural(value) {
  return typeof value === 'object' && value !== null && 'other' in value &&
    Object.entries(value).every(([name, text]) => PLURAL_CATEGORIES.has(name) && typeof text === 'string');
}

/**
 * What `Intl` made (a time, a date, a size), as the page shows it: as it
 * is, or accented in the pseudo-locale, so it too shows that it went
 * through the language's formatters.
 * @param {string} text
 */
export function formatted(text) {
  return language === PSEUDO ? text.replace(/[A-Za-z]/g, (letter) => ACCENTED[letter]) : text;
}

/** @param {Catalog} catalog @returns {Catalog} */
function pseudoCatalog(catalog) {
  return Object.fromEntries(Object.entries(catalog).map(([name, value]) => {
    if (typeof value === 'string') return [name, pseudo(value)];
    if (isPlural(value)) {
      return [name, Object.fromEntries(Object.entries(value).map(([category, text]) => [category, pseudo(String(text))]))];
    }
    return [name, pseudoCatalog(/** @type {Catalog} */ (value))];
  }));
}

const ATTRIBUTES = ['aria-label', 'title', 'placeholder', 'alt'];

/**
 * Applies the `data-i18n*` attributes of `root` and everything in it.
 * @param {ParentNode} [root]
 */
export function translate(root = document) {
  const selector = ['[data-i18n]', ...ATTRIBUTES.map((name) => `[data-i18n-${name}]`)].join(',');
  const elements = [...root.querySelectorAll(selector)];
  if (root instanceof Element && root.matches(selector)) elements.push(root);
  for (const element of elements) {
    const textKey = element.getAttribute('data-i18n');
    if (textKey) element.textContent = t(textKey);
    for (const name of ATTRIBUTES) {
      const key = element.getAttribute(`data-i18n-${name}`);
      if (key) element.setAttribute(name, t(key));
    }
  }
}

/**
 * Switches the page to `code` (loading its catalog), applies it to the
 * document and tells the renderers. `remember` keeps the choice for this
 * browser.
 * @param {string} code
 * @param {{remember?: boolean}} [options]
 */
export async function setLanguage(code, { remember = false } = {}) {
  const chosen = bestLanguage([code]);
  const catalog = chosen === FALLBACK ? fallback : await fetchCatalog(chosen);
  current = catalog;
  language = chosen;
  plurals = new Intl.PluralRules(intlLanguage());
  numbers = null;
  if (remember && chosen !== PSEUDO) writeStorage(LANGUAGE_KEY, chosen);
  document.documentElement.lang = chosen;
  document.documentElement.dir = RTL.has(chosen.split('-')[0]) ? 'rtl' : 'ltr';
  translate(document);
  window.dispatchEvent(new Event('lanchat:language'));
}

// The page waits for its words: modules that import this one start once
// English and the chosen language are loaded.
fallback = await fetchCatalog(FALLBACK);
current = fallback;
await setLanguage(wantedLanguage()).catch(() => setLanguage(FALLBACK));
