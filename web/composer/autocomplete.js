// Suggestions while typing in the composer: `@` and the start of a name
// (see mentions.js), or `:` and two letters of an emoji's shortcode. Up and
// down choose, Enter or Tab takes one, Escape closes the list; a tap or
// click takes one too. The focus stays in the composer throughout.

import { changed } from '../state.js';
import { emojiGroups, emojiName, inTone, loadEmoji, noteUsed, searchEmoji, skinTone } from '../emoji.js';
import { phrase, t } from '../i18n.js';
import { mentionCandidates } from './mentions.js';
import { els } from '../dom.js';

const LIMIT = 8;
/** What the composer has just before the cursor that a suggestion completes. */
const TRIGGER = /(^|[\s(])([@:])([\p{L}\p{N}_+.-]*)$/u;
/** A shortcode is suggested from this many letters on (":)" is a smiley, not a search). */
const SHORTCODE_MIN = 2;

/** A suggestion; its hint is an emoji's name, or words to say. @typedef {{label: string, hint: string | import('../i18n.js').Phrase, insert: string, emoji?: string}} Suggestion */

/** The open list: what it completes, from where, and which is chosen. @type {{start: number, end: number, items: Suggestion[], active: number} | null} */
let open = null;
/** Escape closed the list for this word; it stays closed until the word changes. */
let dismissed = '';

/** Looks at the text before the cursor and offers what fits. */
export function suggest() {
  const input = els.input;
  const end = input.selectionStart ?? 0;
  const match = input.selectionStart === input.selectionEnd ? TRIGGER.exec(input.value.slice(0, end)) : null;
  const word = match ? `${end}:${match[2]}${match[3]}` : '';
  if (!match || word === dismissed) {
    close();
    return;
  }
  dismissed = '';
  const [, , sigil, typed] = match;
  const start = end - typed.length - 1;
  /** @type {Suggestion[]} */
  let items = [];
  if (sigil === '@') {
    items = mentionCandidates(typed, LIMIT).map(({ name, hint }) => ({
      label: `@${name}`, hint: hint ? phrase(hint) : '', insert: `@${name} `,
    }));
  } else if (typed.length >= SHORTCODE_MIN) {
    // Suggested once the list is here.
    if (emojiGroups().length === 0) loadEmoji().then(suggest, () => {});
    const tone = skinTone();
    items = searchEmoji(typed, LIMIT).map((entry) => {
      const emoji = inTone(entry, tone);
      return { label: `:${entry.shortcodes[0]}:`, hint: emojiName(entry.emoji), insert: emoji, emoji };
    });
  }
  const before = open;
  open = items.length > 0 ? { start, end, items, active: 0 } : null;
  if (before && open && before.start === start) open.active = Math.min(before.active, items.length - 1);
  changed('suggestions');
}

function close() {
  if (!open) return;
  open = null;
  changed('suggestions');
}

/** @param {number} index */
function take(index) {
  if (!open) return;
  const item = open.items[index];
  const { start, end } = open;
  open = null;
  if (item.emoji) noteUsed(item.emoji);
  els.input.setRangeText(item.insert, start, end, 'end');
  els.input.dispatchEvent(new Event('input', { bubbles: true }));
  changed('suggestions');
}

/**
 * The list's keys, while it is open.
 * @param {KeyboardEvent} event
 * @returns {boolean} whether the key was used
 */
export function suggestionKey(event) {
  if (!open || event.isComposing) return false;
  const count = open.items.length;
  if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    open.active = (open.active + (event.key === 'ArrowDown' ? 1 : count - 1)) % count;
  } else if (event.key === 'Enter' || event.key === 'Tab') {
    if (event.shiftKey) return false;
    take(open.active);
  } else if (event.key === 'Escape') {
    event.stopPropagation();
    const end = els.input.selectionStart ?? 0;
    const match = TRIGGER.exec(els.input.value.slice(0, end));
    dismissed = match ? `${end}:${match[2]}${match[3]}` : '';
    open = null;
  } else {
    return false;
  }
  event.preventDefault();
  changed('suggestions');
  return true;
}

export function renderSuggestions() {
  const list = els.suggestions;
  list.hidden = !open;
  if (!open) {
    els.input.removeAttribute('aria-activedescendant');
    if (list.childElementCount > 0) list.replaceChildren();
    return;
  }
  const { items, active } = open;
  list.replaceChildren(...items.map((item, index) => {
    const option = document.createElement('li');
    option.id = `suggestion-${index}`;
    option.className = 'suggestion';
    option.setAttribute('role', 'option');
    option.setAttribute('aria-selected', String(index === active));
    option.dataset.index = String(index);
    if (item.emoji) {
      const glyph = document.createElement('span');
      glyph.className = 'suggestion-emoji';
      glyph.setAttribute('aria-hidden', 'true');
      glyph.textContent = item.emoji;
      option.append(glyph);
    }
    const label = document.createElement('span');
    label.className = 'suggestion-label';
    label.textContent = item.label;
    option.append(label);
    if (item.hint) {
      const hint = document.createElement('span');
      hint.className = 'suggestion-hint';
      hint.textContent = typeof item.hint === 'string' ? item.hint : t(item.hint);
      option.append(hint);
    }
    return option;
  }));
  els.input.setAttribute('aria-activedescendant', `suggestion-${active}`);
}

/** Wires the list to the composer. */
export function setUpSuggestions() {
  els.input.addEventListener('input', suggest);
  els.input.addEventListener('click', suggest);
  // A pick keeps the focus in the composer (below), so a blur means done.
  els.input.addEventListener('blur', close);
  // pointerdown, not click: the composer keeps the focus.
  els.suggestions.addEventListener('pointerdown', (event) => {
    const option = /** @type {HTMLElement} */ (event.target).closest('[data-index]');
    if (!(option instanceof HTMLElement)) return;
    event.preventDefault();
    take(Number(option.dataset.index));
  });
}
