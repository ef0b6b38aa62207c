// What the host does: each action is a `host` frame carrying the host
// secret (and a cid, so its refusal finds its way back here). Entering
// host mode happens on every welcome, before anything else is sent, so the
// host's messages pass read-only rooms and slow mode from the first one.
// Also wires the host's dialog.

import { changed, onChange, state } from '../state.js';
import { send } from '../connection.js';
import { dismissPin, host, isHost, keepOf } from './state.js';
import { hostEls } from './elements.js';

let sent = 0;

/**
 * Sends a host action; the dialog says when it is done, unless `quiet`
 * (a `hello` that only asks for the host's view again).
 * @param {Record<string, unknown>} fields `action` and its fields
 * @param {{quiet?: boolean}} [options]
 */
export function sendHost(fields, { quiet = false } = {}) {
  if (!host.secret) return;
  sent += 1;
  const cid = `host-${sent}-${Date.now().toString(36)}`;
  if (!quiet) host.pending = cid;
  // The answer shows beside what was asked: the bots' own line, or the dialog's.
  host.statusAt = fields.action === 'create_bot' || fields.action === 'revoke_bot' ? 'bots' : '';
  send({ type: 'host', secret: host.secret, cid, ...fields });
  changed('host');
}

/** Deletes any message of `room`, as the host. @param {string} room @param {number} seq */
export function hostDelete(room, seq) {
  sendHost({ action: 'delete', room, target: seq });
}

/**
 * Downloads the host's export: the request carries the host secret in a
 * header, so it is fetched and handed to the browser as a file.
 */
async function downloadExport() {
  const params = new URLSearchParams({ format: hostEls.exportFormat.value });
  if (hostEls.exportRoom.value) params.set('room', hostEls.exportRoom.value);
  host.status = '';
  host.statusAt = '';
  changed('host');
  try {
    const response = await fetch(`api/export?${params}`, {
      headers: { 'Lanchat-Host': host.secret }, cache: 'no-store',
    });
    if (!response.ok) throw new Error(String(response.status));
    const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') || '')?.[1] || 'lanchat-export';
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    host.status = 'done';
    host.statusError = false;
  } catch {
    host.status = 'export_failed';
    host.statusError = true;
  }
  changed('host');
}

/** Raises or lowers our hand in the room on screen. */
export function toggleHand() {
  const mine = (host.hands.get(state.active) || []).some((name) => name === state.me);
  send({ type: 'hand', up: !mine, room: state.active });
}

/** The duration the dialog's list says, in minutes; undefined for good. */
function minutes() {
  const value = Number(hostEls.duration.value);
  return value > 0 ? value : undefined;
}

/** Kick, mute or ban the name in the dialog. @param {string} what */
function actOnName(what) {
  const username = hostEls.name.value.trim();
  if (!username) {
    host.status = 'need_name';
    host.statusAt = '';
    host.statusError = true;
    changed('host');
    hostEls.name.focus();
    return;
  }
  const reason = hostEls.reason.value.trim();
  if (what === 'kick') sendHost({ action: 'kick', username, reason });
  else if (what === 'mute') sendHost({ action: 'mute', username, minutes: minutes() });
  else if (what === 'ban') sendHost({ action: 'ban', username, reason, minutes: minutes() });
}

/** A rule control in the rooms list changed. @param {HTMLInputElement | HTMLSelectElement} control */
function changeRule(control) {
  const room = control.dataset.room || '';
  const rule = control.dataset.rule || '';
  const value = rule === 'slow' ? Number(control.value)
    : rule === 'keep' ? keepOf(control.value)
      : /** @type {HTMLInputElement} */ (control).checked;
  sendHost({ action: 'rules', room, [rule]: value });
}

export function openHostDialog() {
  if (!isHost()) return;
  host.dialogOpen = true;
  host.status = '';
  // Rooms and members change without the host: see them as they are now.
  sendHost({ action: 'hello' }, { quiet: true });
  changed('host');
}

/** Wires the host's button and dialog, and enters host mode on every welcome. */
export function setUpHost() {
  onChange((what) => {
    if (what !== 'welcome') return;
    host.removed = null;
    // The server tells them again after each welcome.
    host.rules.clear();
    host.pins.clear();
    host.hands.clear();
    if (host.secret) {
      if (host.mode !== 'on') host.mode = 'asking';
      sendHost({ action: 'hello' }, { quiet: true });
    }
  });
  hostEls.open.addEventListener('click', openHostDialog);
  hostEls.handToggle.addEventListener('click', toggleHand);
  hostEls.pins.addEventListener('click', (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest('button[data-pin]');
    if (!(button instanceof HTMLElement)) return;
    const room = button.dataset.room || '';
    if (button.dataset.pin === 'dismiss') dismissPin(room);
    else sendHost({ action: 'unpin', room });
  });
  hostEls.handsList.addEventListener('click', (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest('button[data-lower]');
    if (button instanceof HTMLElement) {
      sendHost({ action: 'lower_hand', room: state.active, username: button.dataset.lower });
    }
  });
  hostEls.endEvent.addEventListener('click', () => {
    if (!host.confirmEnd) {
      host.confirmEnd = true;
      changed('host');
      return;
    }
    host.confirmEnd = false;
    sendHost({ action: 'end_event' });
  });
  hostEls.eventOver.addEventListener('click', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (target === hostEls.eventOver || target.closest('[data-close]')) hostEls.eventOver.close();
  });
  hostEls.eventOver.addEventListener('close', () => {
    host.eventOverSeen = true;
    changed('host');
  });
  hostEls.bots.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = hostEls.botName.value.trim();
    const rooms = [...hostEls.botRooms.querySelectorAll('input:checked')]
      .map((box) => /** @type {HTMLInputElement} */ (box).value);
    if (!name) {
      hostEls.botName.focus();
      return;
    }
    if (rooms.length === 0) {
      host.status = 'need_room';
      host.statusAt = 'bots';
      host.statusError = true;
      changed('host');
      return;
    }
    host.botToken = null;
    sendHost({ action: 'create_bot', name, rooms });
    hostEls.botName.value = '';
  });
  hostEls.botList.addEventListener('click', (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest('button[data-revoke]');
    if (button instanceof HTMLElement) sendHost({ action: 'revoke_bot', bot: button.dataset.revoke });
  });
  for (const field of [hostEls.botToken, hostEls.botCurl]) {
    field.addEventListener('focus', () => field.select());
  }
  hostEls.exportForm.addEventListener('submit', (event) => {
    event.preventDefault();
    downloadExport();
  });
  hostEls.announce.addEventListener('submit', (event) => {
    event.preventDefault();
    const message = hostEls.announceText.value.trim();
    if (!message) return;
    sendHost({ action: 'announce', room: hostEls.announceRoom.value, message });
    hostEls.announceText.value = '';
  });
  hostEls.dialog.addEventListener('click', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (target === hostEls.dialog || target.closest('[data-close]')) {
      hostEls.dialog.close();
      return;
    }
    const button = target.closest('button[data-host-act]');
    if (button instanceof HTMLElement) {
      actOnName(button.dataset.hostAct || '');
      return;
    }
    const lift = target.closest('button[data-lift]');
    if (lift instanceof HTMLElement) {
      if (lift.dataset.lift === 'mute') sendHost({ action: 'unmute', username: lift.dataset.name });
      else sendHost({ action: 'unban', ban: lift.dataset.ban });
    }
  });
  hostEls.dialog.addEventListener('change', (event) => {
    const control = event.target;
    if ((control instanceof HTMLInputElement || control instanceof HTMLSelectElement) && control.dataset.rule) {
      changeRule(control);
    }
  });
  hostEls.people.addEventListener('submit', (event) => {
    event.preventDefault();
    actOnName('mute');
  });
  hostEls.dialog.addEventListener('close', () => {
    host.dialogOpen = false;
    host.confirmEnd = false;
    // A token is shown once.
    host.botToken = null;
    changed('host');
    hostEls.open.focus();
  });
  // A page that is not connected cannot act as the host.
  onChange((what) => {
    if (what === 'connection' && state.connection !== 'connected' && host.pending) {
      host.pending = '';
      changed('host');
    }
  });
}
