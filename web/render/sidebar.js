// The sidebar: rooms (`#` public, a padlock private), invitations with
// "Join", and direct messages, each with its unread badge, and apart from
// it how many of those mention us (a direct message's all do: no need). A
// muted room shows neither, and a struck bell.

import { LOBBY } from '../protocol.js';
import { state } from '../state.js';
import { currentLanguage, t, tNodes } from '../i18n.js';
import { roomLabel } from '../rooms.js';
import { badgeOf, mentionsIn } from '../badges.js';
import { els, hiddenText, initial, nameHue, renderList, roomIcon, svgIcon } from '../dom.js';

/** A bell struck through: the room is muted. */
const MUTED_ICON = 'M20.8 19.4 4.6 3.2 3.2 4.6l3 3A6 6 0 0 0 6 9v5l-2 2v1h12.6l2.8 2.8ZM12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2Zm6-8V9a6 6 0 0 0-8.7-5.4L18 12.3Z';

/** @typedef {import('../state.js').Room} Room */

export function renderSidebar() {
  const rooms = [...state.rooms.values()];
  /** @param {Room} a @param {Room} b */
  const byName = (a, b) => {
    if (a.name === LOBBY) return -1;
    if (b.name === LOBBY) return 1;
    return roomLabel(a).localeCompare(roomLabel(b));
  };
  const channels = rooms.filter((room) => room.kind !== 'dm').sort(byName);
  const directs = rooms.filter((room) => room.kind === 'dm').sort(byName);
  const name = (room) => room.name;
  renderList(els.roomList, channels.map(name), roomItem, fillRoomItem);
  renderList(els.dmList, directs.map(name), roomItem, fillRoomItem);
  els.dmEmpty.hidden = directs.length > 0;
  const invitations = [...state.invitations]
    .sort(([a, x], [b, y]) => x.name.localeCompare(y.name) || a.localeCompare(b));
  els.invitationsBox.hidden = invitations.length === 0;
  // Keyed by room, name, inviter and language, so a row is rebuilt when one changes.
  const language = currentLanguage();
  const keys = invitations.map(([room, { name, by }]) => `${room}\n${name}\n${by}\n${language}`);
  renderList(els.invitationList, keys, (key) => {
    const [room, name, by] = key.split('\n');
    return invitationItem(room, name, by);
  });
}

/** A sidebar row for a room, filled by `fillRoomItem`. */
function roomItem() {
  const item = document.createElement('li');
  item.append(document.createElement('a'));
  return item;
}

/**
 * Brings a room's row up to date. Only the link's contents are replaced, so
 * a link that has the keyboard focus keeps it.
 * @param {HTMLElement} item
 * @param {string} name
 */
function fillRoomItem(item, name) {
  const room = state.rooms.get(name);
  const link = /** @type {HTMLAnchorElement} */ (item.firstElementChild);
  if (!room || !link) return;
  const unread = badgeOf(room);
  const online = state.users.includes(room.peer);
  // Rebuilt only when what it shows changed.
  const mentions = room.kind === 'dm' ? 0 : mentionsIn(room);
  const shown = [room.kind, roomLabel(room), unread, mentions, room.muted, online,
    room.name === state.active, currentLanguage()].join('\n');
  if (link.dataset.shown === shown) return;
  link.dataset.shown = shown;
  link.className = `room-link ${room.kind}`;
  link.classList.toggle('unread', unread > 0);
  link.classList.toggle('mentioned', mentions > 0);
  link.href = `#${room.name}`;
  link.dataset.room = room.name;
  if (room.name === state.active) link.setAttribute('aria-current', 'page');
  else link.removeAttribute('aria-current');
  /** @type {(Node | string)[]} */
  const parts = [];
  if (room.kind === 'dm') {
    link.style.setProperty('--hue', String(nameHue(room.peer)));
    const avatar = document.createElement('span');
    avatar.className = 'avatar small';
    avatar.setAttribute('aria-hidden', 'true');
    avatar.textContent = initial(room.peer);
    avatar.classList.toggle('offline', !online);
    parts.push(avatar);
  } else {
    parts.push(roomIcon(room.kind));
  }
  const label = document.createElement('span');
  label.className = 'room-label';
  label.dir = 'auto';
  label.textContent = roomLabel(room);
  parts.push(label);
  if (room.kind === 'private') parts.push(hiddenText(` ${t('sidebar.private')}`));
  if (room.muted) {
    const icon = svgIcon(MUTED_ICON);
    icon.classList.add('muted-icon');
    icon.setAttribute('aria-hidden', 'true');
    parts.push(icon, hiddenText(` ${t('sidebar.muted')}`));
  }
  if (mentions > 0) {
    const badge = document.createElement('span');
    badge.className = 'mention-badge';
    badge.textContent = `@${mentions > 99 ? '99+' : mentions}`;
    badge.append(hiddenText(` ${t('sidebar.mentions', { count: mentions })}`));
    parts.push(badge);
  }
  if (unread > 0) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = unread > 99 ? '99+' : String(unread);
    badge.append(hiddenText(` ${t('sidebar.unread', { count: unread })}`));
    parts.push(badge);
  }
  link.replaceChildren(...parts);
}

/** @param {string} room its id @param {string} name @param {string} by */
function invitationItem(room, name, by) {
  const item = document.createElement('li');
  item.className = 'invitation';
  const text = document.createElement('span');
  text.className = 'invitation-text';
  const strong = document.createElement('strong');
  strong.textContent = `#${name}`;
  text.append(...(by ? tNodes('sidebar.invitation_from', { room: strong, by }) : [strong]));
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'button small primary';
  button.textContent = t('sidebar.join');
  button.dataset.join = room;
  button.setAttribute('aria-label', t('sidebar.join_room', { room: `#${name}` }));
  item.append(text, button);
  return item;
}
