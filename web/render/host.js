// The host's part of the page: the top bar's Host button (in host mode),
// the host's dialog (people to kick, mute or ban; who is muted or banned;
// every room with its members and rules), a removal by the host, and the
// room's rules above the composer, which a read-only or closed room locks.

import { LOBBY } from '../protocol.js';
import { state } from '../state.js';
import { t } from '../i18n.js';
import { host, isHost, rulesOf } from '../host/state.js';
import { hostEls } from '../host/elements.js';
import { els, renderList, roomIcon, setText } from '../dom.js';
import { moment } from './system.js';

/** Slow modes the host can pick, in seconds. */
const SLOW_CHOICES = [0, 10, 30, 60, 300];

export function renderHost() {
  hostEls.open.hidden = !isHost();
  renderRemoved();
  renderRoomRules();
  renderDialog();
}

/** Why the host removed this page, and what happens next. */
function renderRemoved() {
  const removal = host.removed;
  hostEls.removed.hidden = !removal;
  if (!removal) return;
  const kind = removal.banned ? 'banned' : 'kicked';
  const lines = [removal.reason
    ? t(`host.removed.${kind}_reason`, { reason: removal.reason })
    : t(`host.removed.${kind}`)];
  if (removal.banned && removal.until) lines.push(t('host.removed.banned_until', { time: moment(removal.until) }));
  if (!removal.banned) lines.push(t('host.removed.kicked_back'));
  setText(hostEls.removed, lines.join(' '));
}

/** The active room's rules over the composer; read-only (but for the host) and closed lock it. */
function renderRoomRules() {
  const rules = rulesOf(state.active);
  const lines = [];
  if (rules.closed) lines.push(t('host.rules.closed'));
  else if (rules.read_only) lines.push(isHost() ? t('host.rules.read_only_host') : t('host.rules.read_only'));
  if (!rules.closed && rules.slow > 0 && !isHost()) lines.push(t('host.rules.slow', { count: rules.slow }));
  if (rules.locked && !rules.closed) lines.push(t('host.rules.locked'));
  hostEls.roomRules.hidden = lines.length === 0;
  setText(hostEls.roomRules, lines.join(' '));
  const locked = rules.closed || (rules.read_only && !isHost());
  els.input.disabled = locked;
  els.composer.classList.toggle('locked', locked);
}

function renderDialog() {
  const open = host.dialogOpen && isHost();
  if (open && !hostEls.dialog.open) {
    hostEls.dialog.showModal();
    hostEls.name.focus();
  } else if (!open && hostEls.dialog.open) {
    hostEls.dialog.close();
  }
  if (!open) return;
  const status = host.status === '' ? '' : host.status === 'done' ? t('host.done')
    : host.status === 'need_name' ? t('host.people.need_name') : t(`host.refused.${host.status}`);
  setText(hostEls.status, status);
  hostEls.status.classList.toggle('error', host.statusError && status !== '');
  const names = state.users.filter((name) => name !== state.me);
  renderList(hostEls.names, names, (name) => {
    const option = document.createElement('option');
    option.value = name;
    return option;
  });
  const view = host.view || { rooms: [], mutes: [], bans: [] };
  renderLifts(hostEls.mutes, view.mutes.map((mute) => ({
    key: `m:${mute.username}`,
    name: mute.username,
    detail: mute.until ? t('host.people.until', { time: moment(mute.until) }) : t('host.people.for_good'),
    label: t('host.people.unmute', { name: mute.username }),
    data: { lift: 'mute', name: mute.username },
  })), t('host.people.none_muted'));
  renderLifts(hostEls.bans, view.bans.map((ban) => ({
    key: `b:${ban.id}`,
    name: ban.username,
    detail: [ban.until ? t('host.people.until', { time: moment(ban.until) }) : t('host.people.for_good'),
      t('host.people.browsers', { count: ban.browsers }), ban.reason].filter(Boolean).join(' · '),
    label: t('host.people.unban', { name: ban.username }),
    data: { lift: 'ban', ban: ban.id },
  })), t('host.people.none_banned'));
  const rooms = new Map(view.rooms.map((room) => [room.room, room]));
  renderList(hostEls.rooms, [...rooms.keys()], makeRoom, (row, key) => {
    const room = rooms.get(key);
    if (room) fillRoom(row, room);
  });
}

/**
 * A list of mutes or bans, each with a button that lifts it.
 * @param {HTMLElement} list
 * @param {{key: string, name: string, detail: string, label: string, data: Record<string, string>}[]} items
 * @param {string} empty what an empty list says
 */
function renderLifts(list, items, empty) {
  const keys = items.length ? items.map((item) => item.key) : ['empty'];
  const byKey = new Map(items.map((item) => [item.key, item]));
  renderList(list, keys, () => document.createElement('li'), (row, key) => {
    const item = byKey.get(key);
    const shown = JSON.stringify(item || empty);
    if (row.dataset.shown === shown) return;
    row.dataset.shown = shown;
    row.replaceChildren();
    if (!item) {
      row.className = 'host-empty';
      row.textContent = empty;
      return;
    }
    row.className = 'host-item';
    const who = document.createElement('span');
    who.className = 'host-item-text';
    const name = document.createElement('strong');
    name.textContent = item.name;
    const detail = document.createElement('span');
    detail.className = 'muted';
    detail.textContent = item.detail;
    who.append(name, ' ', detail);
    const lift = document.createElement('button');
    lift.type = 'button';
    lift.className = 'button small';
    lift.textContent = item.label;
    Object.assign(lift.dataset, item.data);
    row.append(who, lift);
  });
}

/** @param {string} key */
function makeRoom(key) {
  const row = document.createElement('li');
  row.className = 'host-room';
  row.dataset.room = key;
  return row;
}

/** One room: what it is, who is in it, and its rules. @param {HTMLElement} row @param {import('../host/state.js').HostRoom} room */
function fillRoom(row, room) {
  const shown = JSON.stringify([room, t('host.rooms.heading')]);
  if (row.dataset.shown === shown) return;
  row.dataset.shown = shown;
  const focused = row.contains(document.activeElement) ? document.activeElement?.id : '';
  row.replaceChildren();
  const head = document.createElement('p');
  head.className = 'host-room-name';
  const who = document.createElement('p');
  who.className = 'muted host-room-who';
  if (room.kind === 'dm') {
    head.textContent = t('host.rooms.dm', { names: room.members.join(' · ') });
  } else {
    head.append(roomIcon(room.kind), room.name);
    who.textContent = room.room === LOBBY
      ? t('host.rooms.lobby')
      : `${t('host.rooms.members', { count: room.members.length })} · ${t('host.rooms.online', { count: room.online.length })}`;
  }
  row.append(head);
  if (who.textContent) row.append(who);
  if (room.kind === 'dm') return;
  const controls = document.createElement('div');
  controls.className = 'host-rules';
  const id = (rule) => `host-${rule}-${room.room.replace(/[^a-z0-9_-]/gi, '_')}`;
  const slow = document.createElement('select');
  slow.id = id('slow');
  slow.dataset.room = room.room;
  slow.dataset.rule = 'slow';
  const choices = SLOW_CHOICES.includes(room.slow) ? SLOW_CHOICES : [...SLOW_CHOICES, room.slow].sort((a, b) => a - b);
  for (const seconds of choices) {
    const option = document.createElement('option');
    option.value = String(seconds);
    option.textContent = seconds === 0 ? t('host.rooms.slow_off')
      : seconds % 60 === 0 ? t('host.rooms.slow_minutes', { count: seconds / 60 })
        : t('host.rooms.slow_seconds', { count: seconds });
    option.selected = seconds === room.slow;
    slow.append(option);
  }
  const slowLabel = document.createElement('label');
  slowLabel.htmlFor = slow.id;
  slowLabel.textContent = t('host.rooms.slow');
  const slowField = document.createElement('div');
  slowField.className = 'host-slow';
  slowField.append(slowLabel, slow);
  controls.append(slowField);
  const rules = room.room === LOBBY ? ['read_only'] : ['read_only', 'locked', 'closed'];
  for (const rule of rules) {
    const label = document.createElement('label');
    label.className = 'check';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.id = id(rule);
    box.dataset.room = room.room;
    box.dataset.rule = rule;
    box.checked = Boolean(room[/** @type {'read_only' | 'locked' | 'closed'} */ (rule)]);
    label.append(box, ' ', t(`host.rooms.${rule}`));
    controls.append(label);
  }
  row.append(controls);
  if (focused) document.getElementById(focused)?.focus();
}
