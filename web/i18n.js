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
// Choosing: the saved choice, then the browser's languages in order (each
// matched by its base language too, so `pt-PT` gets `pt-BR` before English),
// then English. `?lang=xx` in the address overrides all of them, for tests.

import { readStorage, writeStorage } from './storage.js';

/** The languages the page ships, with each one's own name for itself. */
export const LANGUAGES = Object.freeze([
  { code: 'en', name: 'English' },
  { code: 'pt-BR', name: 'Português (Brasil)' },
  { code: 'es', name: 'Español' },
]);
export const FALLBACK = 'en';
const LANGUAGE_KEY = 'lanchat.language';
/** Languages written right to left; none ships yet, but `dir` follows this. */
const RTL = new Set(['ar', 'fa', 'he', 'ur']);

/** @typedef {string | {[category: string]: string}} Entry */
/** @typedef {{[key: string]: Entry | Catalog}} Catalog */

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
    if (node === undefined || typeof node === 'string') return undefined;
    node = /** @type {Catalog} */ (node)[part];
  }
  return /** @type {Entry | undefined} */ (node);
}

/**
 * The text for `key` in the page's language, with `{placeholders}` filled
 * from `params`. A plural entry is chosen by `params.count`, which is shown
 * formatted for the language. A missing key shows as itself, so it is seen.
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 * @returns {string}
 */
export function t(key, params = {}) {
  let entry = lookup(current, key) ?? lookup(fallback, key);
  if (entry === undefined) return key;
  if (typeof entry === 'object') {
    const count = Number(params.count ?? 0);
    entry = entry[plurals.select(count)] ?? entry.other ?? '';
  }
  return entry.replace(/\{(\w+)\}/g, (whole, name) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === 'number' ? formatNumber(value) : value;
  });
}

/** A number as the language writes it. @param {number} value */
export function formatNumber(value) {
  return new Intl.NumberFormat(language).format(value);
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
  plurals = new Intl.PluralRules(chosen);
  if (remember) writeStorage(LANGUAGE_KEY, chosen);
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
