// The notifications dialog: the room's settings (muted, what to be notified
// about), "Mark all as read", the sound, and desktop notifications: on, off,
// blocked, or why this page cannot have them and what to do instead. Also
// the room head's bell, struck through while the room is muted.

import { state } from '../state.js';
import { activeRoom, roomLabel } from '../rooms.js';
import { setText } from '../dom.js';
import { desktopState, notifySettings, soundOn } from '../notify.js';

const BELL = 'M12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2Zm6-6V11c0-3.1-1.6-5.6-4.5-6.3V4a1.5 1.5 0 0 0-3 0v.7C7.6 5.4 6 7.9 6 11v5l-2 2v1h16v-1Z';
const BELL_OFF = 'M20.8 19.4 4.6 3.2 3.2 4.6l3 3A6 6 0 0 0 6 9v5l-2 2v1h12.6l2.8 2.8ZM12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2Zm6-8V9a6 6 0 0 0-8.7-5.4L18 12.3Z';

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const button = byId('room-notify');
const icon = byId('room-notify-icon');
const heading = byId('room-settings-heading');
const muted = /** @type {HTMLInputElement} */ (byId('room-muted'));
const level = /** @type {HTMLFieldSetElement} */ (byId('room-level'));
const error = byId('room-settings-error');
const sound = /** @type {HTMLInputElement} */ (byId('sound-on'));
const status = byId('desktop-status');
const enable = /** @type {HTMLButtonElement} */ (byId('desktop-enable'));

export function renderNotify() {
  const room = activeRoom();
  const label = room.kind === 'dm' ? `your messages with ${room.peer}` : `#${roomLabel(room)}`;
  icon.setAttribute('d', room.muted ? BELL_OFF : BELL);
  button.setAttribute('aria-label', `Notifications and settings for ${label}${room.muted ? ' (muted)' : ''}`);
  button.classList.toggle('is-muted', room.muted);
  setText(heading, room.kind === 'dm' ? `Direct messages with ${room.peer}` : `#${roomLabel(room)}`);
  muted.checked = room.muted;
  muted.disabled = !state.claimed;
  for (const radio of level.querySelectorAll('input')) {
    radio.checked = radio.value === room.notify;
    radio.disabled = !state.claimed || room.muted;
  }
  setText(error, notifySettings.error ||
    (state.claimed ? '' : 'Settings are kept for names you own. Reload the page to claim yours.'));
  sound.checked = soundOn();
  renderDesktop();
}

function renderDesktop() {
  const desktop = desktopState();
  let text = '';
  if (desktop === 'insecure') {
    const port = location.port ? `:${location.port}` : '';
    text = `Browsers show desktop notifications only to secure pages, and this one is plain ` +
      `http on a network address (${location.hostname}). On the computer running lanchat, ` +
      `open http://localhost${port}/ instead; HTTPS, for the other devices, is planned. ` +
      'Sound and the badges work here as they are.';
  } else if (desktop === 'unsupported') {
    text = 'This browser cannot show desktop notifications. Sound and the badges still work.';
  } else if (desktop === 'granted') {
    text = 'On: mentions, direct messages, and every message of rooms set to "Every message", while this page is not in front.';
  } else if (desktop === 'denied') {
    text = 'Blocked for this page. To allow them, change the notification permission in the browser\'s site settings (the icon left of the address).';
  } else {
    text = notifySettings.asking ? 'Waiting for your answer in the browser…'
      : 'Off. The browser asks you once you press the button.';
  }
  setText(status, text);
  enable.hidden = desktop !== 'default';
  enable.disabled = notifySettings.asking;
}
