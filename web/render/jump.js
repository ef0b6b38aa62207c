// The timeline after a jump (see jump.js): the message jumped to, brought to
// the middle of the view, highlighted and focused; "Loading newer messages…" at the
// end while a page comes; and "Jump to latest" while the room shows its past.

import { state } from '../state.js';
import { activeRoom } from '../rooms.js';
import { els } from '../dom.js';

const latestButton = /** @type {HTMLElement} */ (document.getElementById('jump-latest'));
const loadingNewer = /** @type {HTMLElement} */ (document.getElementById('loading-newer'));

/**
 * Brings the message jumped to into view, once it is on the page. Called by
 * the timeline's render, after its rows; returns whether it moved the view.
 */
export function revealJump() {
  const { highlight } = state;
  const room = activeRoom();
  for (const row of els.timeline.querySelectorAll('.msg.jumped')) {
    if (highlight.room !== room.name || row.getAttribute('data-seq') !== String(highlight.seq)) {
      row.classList.remove('jumped');
    }
  }
  if (highlight.room !== room.name || highlight.seq === 0) return false;
  const row = els.timeline.querySelector(`.msg[data-seq="${highlight.seq}"]`);
  if (!(row instanceof HTMLElement)) return false;
  row.classList.add('jumped');
  if (state.view.jumpTo !== highlight.seq) return false;
  state.view.jumpTo = 0;
  row.scrollIntoView({ block: 'center' });
  // Focused, so a keyboard or screen reader user lands on it too.
  row.tabIndex = -1;
  row.focus({ preventScroll: true });
  return true;
}

export function renderJump() {
  const room = activeRoom();
  latestButton.hidden = !room.hasNewer && room.request !== 'around';
  loadingNewer.hidden = room.request !== 'newer';
}
