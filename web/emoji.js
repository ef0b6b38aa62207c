// The emoji the server knows (GET /api/emoji, Unicode's list from the
// `emojis` crate, the same one it checks reactions and `:shortcodes:`
// against): fetched once per page and kept, searched by name and
// shortcode. In another language than English, each emoji's name and
// keywords in it come too (`i18n/emoji/<language>.json`, from Unicode's
// CLDR annotations: see tests/i18n/emoji_names.mjs), so the picker's search
// finds "coração" and "corazón" as well as "heart" and `:heart:`. The emoji
// this browser used last and its skin tone are kept in localStorage, shared
// by its tabs.

import { changed } from './state.js';
import { FALLBACK, currentLanguage } from './i18n.js';
import { readStorage, writeStorage } from './storage.js';

/**
 * @typedef {{emoji: string, name: string, shortcodes: string[], tones?: string[]}} Emoji
 * @typedef {{id?: string, name: string, emoji: Emoji[]}} Group
 */

const RECENT_KEY = 'lanchat.emoji.recent';
const TONE_KEY = 'lanchat.emoji.tone';
const RECENT_MAX = 24;

/** @type {Promise<Group[]> | null} */
let loading = null;
/** @type {Group[]} */
let groups = [];
/** Every emoji, and each of its skin tones, to its entry. @type {Map<string, Emoji>} */
const byEmoji = new Map();
/**
 * Names and keywords in the page's language (not English), by emoji
 * without its variation selector: `[name, ...keywords]`.
 * @type {{language: string, names: Map<string, string[]>}}
 */
let local = { language: '', names: new Map() };
/** @type {string} the language whose names are on their way */
let localLoading = '';

/** Fetches the list, once; a failed fetch is tried again on the next call. */
export function loadEmoji() {
  if (!loading) {
    loading = fetch('/api/emoji')
      .then((response) => {
        if (!response.ok) throw new Error(`the server answered ${response.status}`);
        return response.json();
      })
      .then((data) => {
        groups = Array.isArray(data.groups) ? data.groups : [];
        for (const group of groups) {
          for (const entry of group.emoji) {
            byEmoji.set(entry.emoji, entry);
            for (const tone of entry.tones || []) byEmoji.set(tone, entry);
          }
        }
        changed('emoji');
        loadNames();
        return groups;
      })
      .catch((error) => {
        loading = null;
        throw error;
      });
  }
  return loading;
}

/** The groups, once loaded (empty before). */
export function emojiGroups() {
  return groups;
}

/**
 * Fetches the names in the page's language, once per language; English
 * needs none. A failure leaves the English names (and tries again on the
 * next change of language).
 */
function loadNames() {
  const language = currentLanguage();
  if (language === FALLBACK || language === local.language || language === localLoading) return;
  if (!['pt-BR', 'es'].includes(language)) return;
  localLoading = language;
  fetch(`i18n/emoji/${language}.json`)
    .then((response) => (response.ok ? response.json() : {}))
    .then((data) => {
      if (currentLanguage() !== language) return;
      const names = new Map();
      for (const [emoji, words] of Object.entries(data)) if (Array.isArray(words)) names.set(emoji, words);
      local = { language, names };
      changed('emoji');
    })
    .catch(() => {})
    .finally(() => {
      if (localLoading === language) localLoading = '';
    });
}
window.addEventListener('lanchat:language', () => {
  if (groups.length > 0) loadNames();
});

/** The language whose names are loaded ('' for English only). */
export function emojiNamesLoaded() {
  return local.language === currentLanguage() ? local.language : '';
}

/** @param {string} emoji @returns {string[] | undefined} its local name and keywords */
function localWords(emoji) {
  if (local.language !== currentLanguage()) return undefined;
  const entry = byEmoji.get(emoji);
  const base = (entry ? entry.emoji : emoji).replace(/\uFE0F/g, '');
  return local.names.get(base);
}

/**
 * What an emoji is called, in the page's language when its names are
 * loaded ("confete"), else in English ("party popper"); '' when unknown or
 * not loaded.
 * @param {string} emoji
 */
export function emojiName(emoji) {
  return localWords(emoji)?.[0] || byEmoji.get(emoji)?.name || '';
}

/** Lower case, without accents: "Coração" matches "coracao". @param {string} text */
function fold(text) {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * Emoji whose shortcode or name (in the page's language, or English)
 * starts with `query`, then those where it is a keyword or part of a name
 * or shortcode, at most `limit`. Accents and letter case do not count.
 * @param {string} query @param {number} limit
 * @returns {Emoji[]}
 */
export function searchEmoji(query, limit) {
  const needle = fold(query.trim().replace(/^:|:$/g, ''));
  if (needle === '') return [];
  const first = [];
  const then = [];
  for (const group of groups) {
    for (const entry of group.emoji) {
      const words = (localWords(entry.emoji) || []).map(fold);
      const name = fold(entry.name);
      if (entry.shortcodes.some((code) => code.startsWith(needle)) ||
        (words.length > 0 && words[0].startsWith(needle))) {
        first.push(entry);
      } else if (name.includes(needle) || entry.shortcodes.some((code) => code.includes(needle)) ||
        words.some((word) => word.includes(needle))) {
        then.push(entry);
      }
    }
  }
  return [...first, ...then].slice(0, limit);
}

/** The emoji used last here, newest first (with the tone they were used in). @returns {string[]} */
export function recentEmoji() {
  try {
    const list = JSON.parse(readStorage(RECENT_KEY) || '[]');
    return Array.isArray(list) ? list.filter((item) => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

/** @param {string} emoji */
export function noteUsed(emoji) {
  const list = [emoji, ...recentEmoji().filter((item) => item !== emoji)].slice(0, RECENT_MAX);
  writeStorage(RECENT_KEY, JSON.stringify(list));
}

/** The skin tone picked: 0 for none (yellow), 1–5 light to dark. */
export function skinTone() {
  const tone = Number(readStorage(TONE_KEY));
  return Number.isInteger(tone) && tone >= 0 && tone <= 5 ? tone : 0;
}

/** @param {number} tone */
export function setSkinTone(tone) {
  writeStorage(TONE_KEY, String(tone));
  changed('tone');
}

/** `entry` in skin tone `tone`, if it takes tones. @param {Emoji} entry @param {number} tone */
export function inTone(entry, tone) {
  return tone > 0 && entry.tones && entry.tones[tone - 1] ? entry.tones[tone - 1] : entry.emoji;
}
