// The emoji the server knows (GET /api/emoji, Unicode's list from the
// `emojis` crate, the same one it checks reactions and `:shortcodes:`
// against): fetched once per page and kept, searched by name and
// shortcode. The emoji this browser used last and its skin tone are kept
// in localStorage, shared by its tabs.

import { changed } from './state.js';
import { readStorage, writeStorage } from './storage.js';

/**
 * @typedef {{emoji: string, name: string, shortcodes: string[], tones?: string[]}} Emoji
 * @typedef {{name: string, emoji: Emoji[]}} Group
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

/** What an emoji is called ("party popper"), or '' when unknown or not loaded. @param {string} emoji */
export function emojiName(emoji) {
  return byEmoji.get(emoji)?.name || '';
}

/**
 * Emoji whose shortcode starts with `query`, then those whose name or a
 * shortcode contains it, at most `limit`.
 * @param {string} query @param {number} limit
 * @returns {Emoji[]}
 */
export function searchEmoji(query, limit) {
  const needle = query.trim().toLowerCase().replace(/^:|:$/g, '');
  if (needle === '') return [];
  const first = [];
  const then = [];
  for (const group of groups) {
    for (const entry of group.emoji) {
      if (entry.shortcodes.some((code) => code.startsWith(needle))) first.push(entry);
      else if (entry.name.toLowerCase().includes(needle) ||
        entry.shortcodes.some((code) => code.includes(needle))) then.push(entry);
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
