// Being told: a short sound for mentions and direct messages (off until the
// person turns it on; kept per name in this browser), desktop notifications
// for them and for every message of a room set to "all" (while the page is
// hidden, once the person allowed them with a click), and each room's
// settings (muted, notify all / mentions / nothing), which the server keeps
// so they follow the person to every tab and device.
//
// One alert per message, whatever the number of tabs: each tab that wants to
// alert offers to on a BroadcastChannel and waits a moment; the best placed
// offer wins (a focused tab, then a visible one, then the lowest tab id) and
// says so ("alerted"; the others say "yielded"), and a focused tab already
// showing the message says "seen", which stops them all. A tab that hears an
// offer for a message it dealt with already answers "settled". (Only tabs
// of this browser hear each other; another device alerts on its own.)

import { changed, state } from './state.js';
import { phrase, t } from './i18n.js';
import { refusalPhrase } from './errors.js';
import { isReady, send } from './connection.js';
import { readStorage, writeStorage } from './storage.js';
import { showsLive, jumpTo } from './jump.js';
import { activeRoom, roomLabel } from './rooms.js';
import { afterRender } from './render/index.js';

/** @typedef {import('./state.js').Room} Room */
/**
 * @typedef {object} Alert
 * @property {string} id       the message's id, the same in every tab
 * @property {string} room
 * @property {number} seq
 * @property {string} title
 * @property {string} body
 * @property {boolean} sound   a mention or a direct message (the sound is for those only)
 */

/** How long a tab waits for better placed tabs' offers. */
const ELECTION_MS = 250;
/** Message ids remembered as settled (alerted or seen), the newest. */
const SETTLED_MAX = 200;
const SOUND_PREFIX = 'lanchat.sound.';
const CHIME_URL = 'chime.wav';

/** Settings as the page shows them: a refusal to show, and the last change asked (undone if refused). */
export const notifySettings = {
  /** @type {import('./i18n.js').Phrase | null} */
  error: null,
  /** @type {{room: string, muted: boolean, notify: Room['notify']} | null} */
  asked: null,
  /** The permission asked for, until the browser answers. */
  asking: false,
};

const tab = Math.random().toString(36).slice(2);
const channel = 'BroadcastChannel' in window ? new BroadcastChannel('lanchat.alerts') : null;
/** @type {Map<string, {alert: Alert, beaten: boolean}>} this tab's open offers */
const offers = new Map();
/** Other tabs' best offers for messages this tab has not offered for yet. @type {Map<string, {rank: number, tab: string}>} */
const heard = new Map();
/** Messages dealt with (alerted or seen, here or in another tab). @type {Set<string>} */
const settled = new Set();
/** @type {HTMLAudioElement | null} */
let chime = null;

/** Whether the sound is on for the name we have. */
export function soundOn() {
  return readStorage(SOUND_PREFIX + state.me.toLowerCase()) === 'on';
}

/** @param {boolean} on */
export function setSound(on) {
  writeStorage(SOUND_PREFIX + state.me.toLowerCase(), on ? 'on' : 'off');
  // Loaded now, on the click, so the first alert plays at once.
  if (on && !chime) chime = new Audio(CHIME_URL);
  changed('settings');
}

/** Desktop notifications: 'unsupported', 'insecure', or the browser's permission. */
export function desktopState() {
  if (!window.isSecureContext) return 'insecure';
  if (!('Notification' in window)) return 'unsupported';
  return Notification.permission;
}

/** Asks the browser for notifications; only ever from a click. */
export async function askDesktop() {
  if (desktopState() !== 'default') return;
  notifySettings.asking = true;
  changed('settings');
  try {
    await Notification.requestPermission();
  } finally {
    notifySettings.asking = false;
    changed('settings');
  }
}

/**
 * Offers to alert for a message from someone else, new to us.
 * @param {Room} room
 * @param {import('./protocol.js').MessageFrame} frame
 * @param {boolean} mention it mentions us (or is in a direct message)
 */
export function alertFor(room, frame, mention) {
  if (room.muted || room.notify === 'nothing' || settled.has(frame.id)) return;
  if (room.notify === 'mentions' && !mention) return;
  if (seesRoom(room)) {
    settle(frame.id);
    post({ kind: 'seen', id: frame.id });
    return;
  }
  // A message of files alone says which it shares.
  const text = frame.generated && frame.files?.length
    ? t('notify.alert_files', { count: frame.files.length, names: frame.files.map((file) => file.name).join(', ') })
    : frame.message;
  /** @type {Alert} */
  const alert = {
    id: frame.id,
    room: room.name,
    seq: frame.seq,
    title: room.kind === 'dm' ? t('notify.alert_direct', { name: frame.username })
      : t('notify.alert_room', { name: frame.username, room: `#${roomLabel(room)}` }),
    body: text.length > 200 ? `${text.slice(0, 200)}…` : text,
    sound: mention,
  };
  if (!channel) {
    deliver(alert);
    return;
  }
  const mine = { rank: rank(), tab };
  const rival = heard.get(alert.id);
  heard.delete(alert.id);
  offers.set(alert.id, { alert, beaten: rival !== undefined && better(rival, mine) });
  post({ kind: 'offer', id: alert.id, ...mine });
  setTimeout(() => decide(alert.id), ELECTION_MS);
}

/** Whether the person is looking at the end of this room, live, in this tab. @param {Room} room */
function seesRoom(room) {
  return !document.hidden && document.hasFocus() && state.screen === 'app' &&
    state.active === room.name && state.view.atBottom && showsLive(room);
}

/** Where this tab stands: focused, visible, or hidden. */
function rank() {
  if (document.hidden) return 0;
  return document.hasFocus() ? 2 : 1;
}

/** @param {{rank: number, tab: string}} a @param {{rank: number, tab: string}} b */
function better(a, b) {
  return a.rank > b.rank || (a.rank === b.rank && a.tab < b.tab);
}

/** @param {string} id */
function decide(id) {
  const offer = offers.get(id);
  offers.delete(id);
  if (!offer) return;
  if (offer.beaten || settled.has(id)) {
    post({ kind: 'yielded', id });
    return;
  }
  settle(id);
  post({ kind: 'alerted', id });
  deliver(offer.alert);
}

/** @param {string} id */
function settle(id) {
  settled.add(id);
  if (settled.size > SETTLED_MAX) settled.delete(settled.values().next().value);
}

/** @param {object} message */
function post(message) {
  if (channel) channel.postMessage(message);
}

/** @param {MessageEvent} event */
function onChannel(event) {
  const { kind, id } = event.data || {};
  if (typeof id !== 'string') return;
  if (kind === 'seen' || kind === 'alerted' || kind === 'settled') {
    settle(id);
    const offer = offers.get(id);
    if (offer) offer.beaten = true;
  } else if (kind === 'offer') {
    const rival = { rank: Number(event.data.rank) || 0, tab: String(event.data.tab) };
    // Late: it was dealt with here already.
    if (settled.has(id)) post({ kind: 'settled', id });
    const offer = offers.get(id);
    if (offer) {
      if (better(rival, { rank: rank(), tab })) offer.beaten = true;
    } else if (!settled.has(id)) {
      const best = heard.get(id);
      if (!best || better(rival, best)) heard.set(id, rival);
      if (heard.size > SETTLED_MAX) heard.delete(heard.keys().next().value);
    }
  }
}

/** Plays the sound and shows the notification this tab won. @param {Alert} alert */
function deliver(alert) {
  if (alert.sound && soundOn()) {
    chime = chime || new Audio(CHIME_URL);
    chime.currentTime = 0;
    // Refused before the person has clicked on the page: nothing to do about it.
    chime.play().catch(() => {});
  }
  const away = document.hidden || !document.hasFocus();
  if (!away || desktopState() !== 'granted') return;
  const notification = new Notification(alert.title, {
    body: alert.body,
    tag: alert.id,
    icon: 'favicon.svg',
  });
  notification.addEventListener('click', () => {
    window.focus();
    notification.close();
    jumpTo(alert.room, alert.seq);
  });
}

/**
 * Changes a room's settings; the server tells every tab (a `room` frame).
 * Shown at once here, and undone if the server refuses.
 * @param {Room} room
 * @param {{muted?: boolean, notify?: Room['notify']}} change
 */
export function changeRoomSettings(room, change) {
  if (!isReady()) {
    notifySettings.error = phrase('notify.offline');
    changed('settings');
    return;
  }
  notifySettings.error = null;
  notifySettings.asked = { room: room.name, muted: room.muted, notify: room.notify };
  Object.assign(room, change);
  send({ type: 'room_settings', room: room.name, ...change });
  changed('settings');
}

/** "Mark all as read": every room, to its latest message; the server tells every tab. */
export function readAll() {
  if (!isReady()) return;
  send({ type: 'read_all' });
}

/**
 * A refusal of a settings change: undo it and say why.
 * @param {import('./protocol.js').ErrorFrame} frame
 * @returns {boolean} whether it was one
 */
export function settingsRefused(frame) {
  const asked = notifySettings.asked;
  if (!asked || frame.cid || frame.room !== asked.room) return false;
  if (frame.code !== 'not_claimed' && frame.code !== 'bad_request' && frame.code !== 'not_found') return false;
  notifySettings.asked = null;
  const room = state.rooms.get(asked.room);
  if (room) Object.assign(room, { muted: asked.muted, notify: asked.notify });
  notifySettings.error = frame.code === 'not_claimed'
    ? phrase('notify.not_claimed')
    : phrase('notify.refused', { why: refusalPhrase(frame) });
  changed('settings');
  return true;
}

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const dialog = /** @type {HTMLDialogElement} */ (byId('notify-dialog'));
const opener = byId('room-notify');

export function openNotifySettings() {
  notifySettings.error = null;
  if (!dialog.open) dialog.showModal();
  changed('settings');
  afterRender(() => byId('room-muted').focus());
}

export function setUpNotify() {
  if (channel) channel.addEventListener('message', onChannel);
  opener.addEventListener('click', openNotifySettings);
  byId('room-muted').addEventListener('change', (event) => {
    const input = /** @type {HTMLInputElement} */ (event.target);
    changeRoomSettings(activeRoom(), { muted: input.checked });
  });
  byId('room-level').addEventListener('change', (event) => {
    const input = /** @type {HTMLInputElement} */ (event.target);
    if (input.checked) changeRoomSettings(activeRoom(), { notify: /** @type {Room['notify']} */ (input.value) });
  });
  byId('room-settings').addEventListener('submit', (event) => event.preventDefault());
  byId('read-all').addEventListener('click', readAll);
  byId('sound-on').addEventListener('change', (event) => {
    setSound(/** @type {HTMLInputElement} */ (event.target).checked);
  });
  byId('desktop-enable').addEventListener('click', askDesktop);
  dialog.addEventListener('click', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (target === dialog || target.closest('[data-close]')) dialog.close();
  });
  dialog.addEventListener('close', () => changed('settings'));
}
