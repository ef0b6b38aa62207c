// The emoji picker: opened from the composer's button (the emoji goes in
// at the cursor) or from a message's action bar or its "+" chip (it
// toggles our reaction). Searchable by name and shortcode, the ones used
// here last first, in the skin tone picked. The keyboard stays in the
// search field: arrows move through the grid, Enter picks, Escape closes
// and gives the focus back; a tap or click picks too.

import { changed, state } from './state.js';
import { currentLanguage, hasKey, t } from './i18n.js';
import { toggleReaction } from './changes.js';
import {
  emojiGroups, emojiName, emojiNamesLoaded, inTone, loadEmoji, noteUsed, recentEmoji, searchEmoji, setSkinTone, skinTone,
} from './emoji.js';
import { insertAtCursor } from './composer/context.js';
import { els, setText } from './dom.js';
import { afterRender } from './render/index.js';

/** Search results shown at most. */
const SEARCH_LIMIT = 120;
/** The skin tones, as the hand that shows each. */
const TONES = ['✋', '✋🏻', '✋🏼', '✋🏽', '✋🏾', '✋🏿'];
/** Their names, by catalog key. */
const TONE_NAMES = ['picker.tone.none', 'picker.tone.light', 'picker.tone.medium_light', 'picker.tone.medium',
  'picker.tone.medium_dark', 'picker.tone.dark'];

/** The element that opened the picker, to give the focus back to. @type {HTMLElement | null} */
let opener = null;
/** Which option is active (the keyboard's), by index into the shown ones. */
let active = 0;
/** What the grid shows now, to redraw it only when that changed. */
let drawn = '';
/** The option last marked active, to scroll to it only when it moves. */
let marked = -1;
/** The emoji list could not be fetched, this time the picker opened. */
let loadFailed = false;

/**
 * Opens the picker: for the composer (`seq` 0), or to react to message `seq`.
 * @param {HTMLElement} from what opened it
 * @param {string} [room] @param {number} [seq]
 */
export function openPicker(from, room = '', seq = 0) {
  opener = from;
  state.picker = { open: true, room, seq };
  els.pickerSearch.value = '';
  active = 0;
  loadFailed = false;
  changed('picker');
  loadEmoji().catch(() => {
    loadFailed = true;
    changed('picker');
  });
  afterRender(() => els.pickerSearch.focus());
}

/** @param {boolean} [refocus] give the focus back to what opened it */
export function closePicker(refocus = true) {
  if (!state.picker.open) return;
  state.picker = { open: false, room: '', seq: 0 };
  changed('picker');
  const back = opener;
  opener = null;
  if (refocus && back?.isConnected) back.focus();
  else if (refocus) els.input.focus();
}

/** @param {string} emoji */
function pick(emoji) {
  noteUsed(emoji);
  const { room, seq } = state.picker;
  if (seq) {
    toggleReaction(room, seq, emoji);
    closePicker();
  } else {
    closePicker(false);
    insertAtCursor(emoji);
  }
}

/** The options shown, in order: the search's, or the recent ones then every group. */
function sections() {
  const tone = skinTone();
  const query = els.pickerSearch.value;
  if (query.trim() !== '') {
    const found = searchEmoji(query, SEARCH_LIMIT);
    return [{ name: t('picker.results'), emoji: found.map((entry) => ({ emoji: inTone(entry, tone), name: emojiName(entry.emoji) })) }];
  }
  const recent = recentEmoji().map((emoji) => ({ emoji, name: emojiName(emoji) }));
  return [
    ...(recent.length ? [{ name: t('picker.recent'), emoji: recent }] : []),
    ...emojiGroups().map((group) => ({
      name: groupName(group),
      emoji: group.emoji.map((entry) => ({ emoji: inTone(entry, tone), name: emojiName(entry.emoji) })),
    })),
  ];
}

/**
 * A group's name in the page's language, by the group's `id`; a group this
 * page does not know yet keeps the server's English name.
 * @param {import('./emoji.js').Group} group
 */
function groupName(group) {
  return group.id && hasKey(`picker.group.${group.id}`) ? t(`picker.group.${group.id}`) : group.name;
}

export function renderPicker() {
  const { open, seq } = state.picker;
  els.picker.hidden = !open;
  els.emojiButton.setAttribute('aria-expanded', String(open && !seq));
  if (!open) {
    drawn = '';
    return;
  }
  setText(els.pickerTitle, seq ? t('picker.react') : t('picker.insert'));
  const tone = skinTone();
  els.pickerTones.querySelectorAll('button').forEach((button, index) => {
    button.setAttribute('aria-pressed', String(index === tone));
  });
  const key = JSON.stringify([els.pickerSearch.value, tone, emojiGroups().length, recentEmoji(), currentLanguage(),
    emojiNamesLoaded()]);
  if (key !== drawn) {
    drawn = key;
    drawGrid(sections());
    marked = -1;
  }
  const options = els.pickerGrid.querySelectorAll('[role="option"]');
  active = Math.min(active, Math.max(0, options.length - 1));
  // Only when the choice moved: the grid scrolled by hand stays where it is.
  if (active !== marked) {
    options[marked]?.setAttribute('aria-selected', 'false');
    const current = options[active];
    marked = current ? active : -1;
    if (current) {
      current.setAttribute('aria-selected', 'true');
      els.pickerSearch.setAttribute('aria-activedescendant', current.id);
      current.scrollIntoView({ block: 'nearest' });
    } else {
      els.pickerSearch.removeAttribute('aria-activedescendant');
    }
  }
  const loaded = emojiGroups().length > 0;
  if (loaded) {
    setText(els.pickerStatus, options.length === 0 ? t('picker.none') : '');
  } else {
    setText(els.pickerStatus, loadFailed ? t('picker.failed') : t('picker.loading'));
  }
  els.pickerTones.querySelectorAll('button').forEach((button, index) => {
    const name = t(TONE_NAMES[index]);
    if (button.title !== name) {
      button.title = name;
      button.setAttribute('aria-label', name);
    }
  });
}

/** @param {{name: string, emoji: {emoji: string, name: string}[]}[]} shown */
function drawGrid(shown) {
  let index = 0;
  const parts = [];
  for (const section of shown) {
    if (section.emoji.length === 0) continue;
    const group = document.createElement('div');
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', section.name);
    const heading = document.createElement('div');
    heading.className = 'picker-heading';
    heading.setAttribute('aria-hidden', 'true');
    heading.textContent = section.name;
    const cells = document.createElement('div');
    cells.className = 'picker-cells';
    for (const { emoji, name } of section.emoji) {
      const option = document.createElement('div');
      option.setAttribute('role', 'option');
      option.id = `picker-option-${index}`;
      option.className = 'picker-option';
      option.dataset.emoji = emoji;
      option.dataset.index = String(index);
      option.title = name;
      option.setAttribute('aria-label', name || emoji);
      option.setAttribute('aria-selected', 'false');
      option.textContent = emoji;
      cells.append(option);
      index += 1;
    }
    group.append(heading, cells);
    parts.push(group);
  }
  els.pickerGrid.replaceChildren(...parts);
  els.pickerGrid.scrollTop = 0;
}

/** How many options a row of the grid holds, as laid out now. */
function columns() {
  const first = els.pickerGrid.querySelector('.picker-option');
  if (!(first instanceof HTMLElement)) return 1;
  const cells = /** @type {HTMLElement} */ (first.parentElement);
  return Math.max(1, Math.floor(cells.clientWidth / first.offsetWidth));
}

/** @param {KeyboardEvent} event */
function onSearchKey(event) {
  const options = els.pickerGrid.querySelectorAll('[role="option"]');
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns() };
  if (event.key in moves) {
    // Left and right move the cursor in the text while there is text.
    if ((event.key === 'ArrowLeft' || event.key === 'ArrowRight') && els.pickerSearch.value !== '' && !event.altKey) {
      const atEnd = els.pickerSearch.selectionStart === els.pickerSearch.value.length;
      if (!atEnd || event.key === 'ArrowLeft') return;
    }
    event.preventDefault();
    active = Math.max(0, Math.min(options.length - 1, active + moves[/** @type {keyof moves} */ (event.key)]));
    changed('picker');
  } else if (event.key === 'Enter') {
    event.preventDefault();
    const option = options[active];
    if (option instanceof HTMLElement && option.dataset.emoji) pick(option.dataset.emoji);
  } else if (event.key === 'Escape') {
    event.preventDefault();
    event.stopPropagation();
    closePicker();
  }
}

/** Wires the picker's own events, and the composer's button. */
export function setUpPicker() {
  els.emojiButton.addEventListener('click', () => {
    if (state.picker.open && !state.picker.seq) closePicker();
    else openPicker(els.emojiButton);
  });
  els.pickerSearch.addEventListener('input', () => {
    active = 0;
    changed('picker');
  });
  els.pickerSearch.addEventListener('keydown', onSearchKey);
  els.picker.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      closePicker();
    }
  });
  els.pickerClose.addEventListener('click', () => closePicker());
  els.pickerGrid.addEventListener('click', (event) => {
    const option = /** @type {HTMLElement} */ (event.target).closest('[role="option"]');
    if (option instanceof HTMLElement && option.dataset.emoji) pick(option.dataset.emoji);
  });
  TONES.forEach((hand, tone) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'tone';
    button.textContent = hand;
    button.addEventListener('click', () => setSkinTone(tone));
    els.pickerTones.append(button);
  });
  // A click or tap outside closes it, as a menu would.
  document.addEventListener('pointerdown', (event) => {
    if (!state.picker.open) return;
    const target = /** @type {Node} */ (event.target);
    if (els.picker.contains(target) || els.emojiButton.contains(target)) return;
    closePicker(false);
  });
}
