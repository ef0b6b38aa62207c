// What the person does to a message in the timeline: its action bar (on
// hover, on focus, or after a long press on a touch screen: react, reply,
// edit, delete), its reaction chips (a tap toggles ours; a long press says
// who reacted, as hovering does), a reply's quote (jumps to the original),
// and the dialog that asks before a message is deleted.

import { state } from './state.js';
import { queueChange } from './outbox.js';
import { activeRoom } from './rooms.js';
import { findMessage, toggleReaction } from './changes.js';
import { jumpTo } from './jump.js';
import { openPicker } from './picker.js';
import { cancelComposing, startEdit, startReply } from './composer/context.js';
import { els } from './dom.js';
import { QUICK_REACTION } from './render/message.js';
import { hostDelete } from './host/actions.js';

/** A touch held this long is a long press. */
const LONG_PRESS_MS = 500;
/** A finger that moves this far is scrolling, not pressing. */
const PRESS_SLOP_PX = 10;

/** The message the delete dialog asks about, and whether the host deletes it. @type {{room: string, seq: number, asHost: boolean} | null} */
let deleting = null;
/** What gets the focus back when the dialog closes. @type {HTMLElement | null} */
let deleteOpener = null;

/** @param {Element} element */
function seqOf(element) {
  const row = element.closest('.msg[data-seq]');
  return row instanceof HTMLElement ? Number(row.dataset.seq) : 0;
}

/**
 * Asks before deleting message `seq` of `room` (anyone's, `asHost`).
 * @param {string} room @param {number} seq @param {boolean} [asHost]
 */
export function askDelete(room, seq, asHost = false) {
  const target = state.rooms.get(room);
  const entry = target ? findMessage(target, seq) : undefined;
  if (!entry) return;
  deleting = { room, seq, asHost };
  deleteOpener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  // A message of files alone: their names, not the server's English description of them.
  const { frame } = entry;
  const said = frame.generated && frame.files?.length ? frame.files.map((file) => file.name).join(', ') : frame.message;
  const words = said.replace(/\s+/g, ' ').trim();
  els.deletePreview.textContent = [...words].length > 200 ? `${[...words].slice(0, 200).join('')}…` : words;
  els.deleteDialog.showModal();
  // Cancel first: deleting is the one that cannot be taken back.
  els.deleteCancel.focus();
}

function confirmDelete() {
  if (!deleting) return;
  const { room, seq, asHost } = deleting;
  if (state.composing.mode === 'edit' && state.composing.seq === seq) cancelComposing();
  if (asHost) hostDelete(room, seq);
  else queueChange('delete', room, seq);
  deleting = null;
  els.deleteDialog.close();
}

/** @param {HTMLElement} button an action bar's button */
function act(button) {
  const seq = seqOf(button);
  const room = activeRoom().name;
  if (!seq) return;
  switch (button.dataset.msgAction) {
    case 'quick':
      toggleReaction(room, seq, QUICK_REACTION);
      break;
    case 'pick':
      openPicker(button, room, seq);
      break;
    case 'reply':
      startReply(seq);
      break;
    case 'edit':
      startEdit(seq);
      break;
    case 'delete':
      askDelete(room, seq);
      break;
    case 'host-delete':
      askDelete(room, seq, true);
      break;
    default:
      break;
  }
}

/** Shows who reacted, under the chip a long press was on. @param {HTMLElement} chip */
function showWhoReacted(chip) {
  els.reactionWho.textContent = chip.title;
  els.reactionWho.hidden = false;
  const box = chip.getBoundingClientRect();
  const width = els.reactionWho.offsetWidth;
  els.reactionWho.style.left = `${Math.max(8, Math.min(box.left, window.innerWidth - width - 8))}px`;
  els.reactionWho.style.top = `${box.bottom + 6}px`;
}

/** One row at a time shows its action bar after a long press. @param {HTMLElement | null} row */
function touchRow(row) {
  for (const other of els.timeline.querySelectorAll('.msg.touched')) {
    if (other !== row) other.classList.remove('touched');
  }
  row?.classList.add('touched');
}

/** Wires the timeline's messages and the delete dialog. */
export function setUpMessageActions() {
  els.timeline.addEventListener('click', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const action = target.closest('button[data-msg-action]');
    if (action instanceof HTMLElement) {
      act(action);
      return;
    }
    const chip = target.closest('button[data-react]');
    if (chip instanceof HTMLElement) {
      toggleReaction(activeRoom().name, seqOf(chip), chip.dataset.react || '');
      return;
    }
    const quote = target.closest('button[data-jump]');
    if (quote instanceof HTMLElement) jumpTo(activeRoom().name, Number(quote.dataset.jump));
  });
  els.composerContext.addEventListener('click', (event) => {
    const quote = /** @type {HTMLElement} */ (event.target).closest('button[data-jump]');
    if (quote instanceof HTMLElement) jumpTo(state.composing.room, Number(quote.dataset.jump));
  });
  els.composerCancel.addEventListener('click', () => {
    cancelComposing();
    els.input.focus();
  });
  // An action bar is one stop for Tab; the arrows move within it.
  els.timeline.addEventListener('keydown', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const bar = target.closest('[role="toolbar"]');
    if (!bar || !['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) return;
    const buttons = [...bar.querySelectorAll('button')];
    const at = buttons.indexOf(/** @type {HTMLButtonElement} */ (target));
    const next = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: buttons.length - 1 }[event.key] ?? at;
    event.preventDefault();
    buttons[(next + buttons.length) % buttons.length]?.focus();
  });

  // A long press: pointer events, so a mouse never triggers it.
  /** @type {number | undefined} */
  let timer;
  let startX = 0;
  let startY = 0;
  let pressed = false;
  els.timeline.addEventListener('pointerdown', (event) => {
    els.reactionWho.hidden = true;
    pressed = false;
    if (event.pointerType !== 'touch') return;
    const target = /** @type {HTMLElement} */ (event.target);
    const row = target.closest('.msg[data-seq]');
    if (!(row instanceof HTMLElement)) {
      touchRow(null);
      return;
    }
    startX = event.clientX;
    startY = event.clientY;
    clearTimeout(timer);
    timer = setTimeout(() => {
      pressed = true;
      const chip = target.closest('button[data-react]');
      if (chip instanceof HTMLElement) showWhoReacted(chip);
      else touchRow(row);
    }, LONG_PRESS_MS);
  });
  els.timeline.addEventListener('pointermove', (event) => {
    if (Math.hypot(event.clientX - startX, event.clientY - startY) > PRESS_SLOP_PX) clearTimeout(timer);
  });
  for (const type of ['pointerup', 'pointercancel']) {
    els.timeline.addEventListener(type, () => clearTimeout(timer));
  }
  // The press that showed the bar (or who reacted) is not also a tap.
  els.timeline.addEventListener('click', (event) => {
    if (!pressed) return;
    pressed = false;
    event.stopImmediatePropagation();
    event.preventDefault();
  }, { capture: true });
  els.timeline.addEventListener('contextmenu', (event) => {
    if (pressed) event.preventDefault();
  });
  document.addEventListener('pointerdown', (event) => {
    if (!els.timeline.contains(/** @type {Node} */ (event.target))) {
      touchRow(null);
      els.reactionWho.hidden = true;
    }
  });

  els.deleteConfirm.addEventListener('click', confirmDelete);
  els.deleteCancel.addEventListener('click', () => els.deleteDialog.close());
  els.deleteDialog.addEventListener('click', (event) => {
    if (event.target === els.deleteDialog) els.deleteDialog.close();
  });
  els.deleteDialog.addEventListener('close', () => {
    deleting = null;
    if (deleteOpener?.isConnected) deleteOpener.focus();
    else els.input.focus();
    deleteOpener = null;
  });
}
