// The notifications dialog: the room's settings (muted, what to be notified
// about), "Mark all as read", the sound, and desktop notifications: on, off,
// blocked, or why this page cannot have them and what to do instead. Also
// the room head's bell, struck through while the room is muted.

import { state } from '../state.js';
import { t } from '../i18n.js';
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
  const dm = room.kind === 'dm';
  const where = `#${roomLabel(room)}`;
  icon.setAttribute('d', room.muted ? BELL_OFF : BELL);
  let label = dm ? t('notify.open_direct', { name: room.peer }) : t('notify.open_room', { room: where });
  if (room.muted) label = dm ? t('notify.open_direct_muted', { name: room.peer }) : t('notify.open_room_muted', { room: where });
  button.setAttribute('aria-label', label);
  button.classList.toggle('is-muted', room.muted);
  setText(heading, dm ? t('notify.heading_direct', { name: room.peer }) : where);
  muted.checked = room.muted;
  muted.disabled = !state.claimed;
  for (const radio of level.querySelectorAll('input')) {
    radio.checked = radio.value === room.notify;
    radio.disabled = !state.claimed || room.muted;
  }
  const problem = notifySettings.error || (state.claimed ? null : { key: 'notify.not_claimed' });
  setText(error, problem ? t(problem) : '');
  sound.checked = soundOn();
  renderDesktop();
}

function renderDesktop() {
  const desktop = desktopState();
  let text = '';
  if (desktop === 'insecure') {
    const port = location.port ? `:${location.port}` : '';
    text = t('notify.desktop_insecure', { host: location.hostname, url: `http://localhost${port}/` });
  } else if (desktop === 'unsupported') {
    text = t('notify.desktop_unsupported');
  } else if (desktop === 'granted') {
    text = t('notify.desktop_on', { all: t('notify.all') });
  } else if (desktop === 'denied') {
    text = t('notify.desktop_blocked');
  } else {
    text = notifySettings.asking ? t('notify.desktop_asking') : t('notify.desktop_off');
  }
  setText(status, text);
  enable.hidden = desktop !== 'default';
  enable.disabled = notifySettings.asking;
}
