// What the composer is doing besides writing a new message: answering one
// (a quote of it shows above the composer) or editing one of ours (the
// composer holds its markdown; the draft that was there comes back after).
// Up in an empty composer edits our last message; Escape cancels either.

import { changed, state } from '../state.js';
import { phrase } from '../i18n.js';
import { queueChange } from '../outbox.js';
import { activeRoom, noticeHere } from '../rooms.js';
import { canEdit, findMessage, lastEditable } from '../changes.js';
import { els } from '../dom.js';
import { afterRender } from '../render/index.js';

const COMPOSER_MAX_PX = 160;

/** The composer grows with its text, up to a limit. */
export function autoGrow() {
  els.input.style.height = 'auto';
  els.input.style.height = `${Math.min(els.input.scrollHeight, COMPOSER_MAX_PX)}px`;
}

/** Puts `text` where the cursor is (in place of a selection), and goes on writing after it. @param {string} text */
export function insertAtCursor(text) {
  const input = els.input;
  input.focus();
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? start;
  input.setRangeText(text, start, end, 'end');
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

/** Answers message `seq` of the room on screen. @param {number} seq */
export function startReply(seq) {
  const room = activeRoom();
  if (!findMessage(room, seq)) return;
  if (state.composing.mode === 'edit') cancelComposing();
  state.composing = { mode: 'reply', room: room.name, seq, draft: '' };
  changed('composing');
  afterRender(() => els.input.focus());
}

/** Edits our message `seq` of the room on screen, in the composer. @param {number} seq */
export function startEdit(seq) {
  const room = activeRoom();
  const entry = findMessage(room, seq);
  if (!entry) return;
  if (!canEdit(entry.frame)) {
    noticeHere(editRefusal());
    return;
  }
  const draft = state.composing.mode === 'edit' ? state.composing.draft : els.input.value;
  state.composing = { mode: 'edit', room: room.name, seq, draft };
  setComposerText(entry.frame.message);
  changed('composing');
  afterRender(() => els.input.focus());
}

function editRefusal() {
  const window = state.limits.edit_window_ms;
  if (!window) return phrase('notice.not_editable');
  return phrase('errors.detail.edit_window', { count: Math.round(window / 60000) });
}

/** Back to writing a new message (an edit's draft comes back). */
export function cancelComposing() {
  const { mode, draft } = state.composing;
  if (mode === '') return;
  state.composing = { mode: '', room: '', seq: 0, draft: '' };
  if (mode === 'edit') setComposerText(draft);
  changed('composing');
}

/** @param {string} text */
function setComposerText(text) {
  els.input.value = text;
  els.input.setSelectionRange(text.length, text.length);
  autoGrow();
}

/** The message the composer answers, if it answers one in the room on screen. */
export function replyingTo() {
  const { mode, room, seq } = state.composing;
  return mode === 'reply' && room === state.active ? seq : 0;
}

/**
 * Saves the edit the composer holds. Returns false when the composer is
 * not editing, so the text goes out as a new message instead.
 * @param {string} text
 * @param {(room: string, seq: number) => void} askDelete an emptied message is a deletion, if confirmed
 */
export function submitEdit(text, askDelete) {
  const { mode, room, seq } = state.composing;
  if (mode !== 'edit') return false;
  const target = state.rooms.get(room);
  const entry = target ? findMessage(target, seq) : undefined;
  if (entry && text.trim() === '') {
    askDelete(room, seq);
    return true;
  }
  if (entry && text !== entry.frame.message) {
    if ([...text].length > state.limits.message_chars) return true;
    queueChange('edit', room, seq, { text });
  }
  cancelComposing();
  return true;
}

/**
 * The composer's own keys: Up in an empty composer edits our last
 * message; Escape cancels an edit or a reply.
 * @param {KeyboardEvent} event
 * @returns {boolean} whether the key was used
 */
export function composerKey(event) {
  if (event.key === 'ArrowUp' && els.input.value === '' && !event.shiftKey && !event.altKey &&
      !event.ctrlKey && !event.metaKey && state.composing.mode !== 'edit') {
    const last = lastEditable(activeRoom());
    if (!last) return false;
    event.preventDefault();
    startEdit(last.seq);
    return true;
  }
  if (event.key === 'Escape' && state.composing.mode !== '') {
    event.preventDefault();
    event.stopPropagation();
    cancelComposing();
    return true;
  }
  return false;
}
