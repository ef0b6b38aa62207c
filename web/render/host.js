// The host's part of the page: the top bar's Host button (in host mode),
// the host's dialog (an announcement to pin; people to kick, mute or ban;
// who is muted or banned; every room with its members and rules), a
// removal by the host, pinned announcements over the room (for the host,
// with how many have read them), raised hands, and the room's rules above
// the composer, which a read-only or closed room locks.

import { LOBBY } from '../protocol.js';
import { state } from '../state.js';
import { hasKey, t } from '../i18n.js';
import { host, isHost, keepValue, rulesOf, shownPins } from '../host/state.js';
import { hostEls } from '../host/elements.js';
import { els, renderList, roomIcon, setText } from '../dom.js';
import { roomLabel } from '../rooms.js';
import { moment } from './system.js';
import { setServerHtml } from './html.js';

/** Slow modes the host can pick, in seconds. */
const SLOW_CHOICES = [0, 10, 30, 60, 300];
/** How long a room may keep its messages, as the retention list offers it. */
const KEEP_CHOICES = ['all', 'days:1', 'days:7', 'days:30', 'days:365', 'messages:100', 'messages:1000'];

export function renderHost() {
  hostEls.open.hidden = !isHost();
  renderEvent();
  // Everything this name can read, for an owned name.
  hostEls.myArchive.hidden = !state.claimed;
  renderRemoved();
  renderPins();
  renderHands();
  renderRoomRules();
  renderDialog();
}

/** Event mode: the bar over the chat, and once over, the archive offered once. */
function renderEvent() {
  const event = host.event;
  hostEls.eventBar.hidden = !event;
  hostEls.eventSection.hidden = !event || Boolean(event.ended) || !isHost();
  setText(hostEls.endEvent, host.confirmEnd ? t('host.event_mode.end_confirm') : t('host.event_mode.end'));
  if (!event) return;
  const lines = [event.ends && !event.ended
    ? t('host.event_mode.bar_ends', { name: event.name, time: moment(event.ends) })
    : t('host.event_mode.bar', { name: event.name })];
  if (event.ended) {
    lines.push(event.wipe_at ? t('host.event_mode.over_wipe', { time: moment(event.wipe_at) }) : t('host.event_mode.over_keep'));
  } else if (event.keep) {
    lines.push(t('host.event_mode.keep_note'));
  } else {
    lines.push(graceWords(event.grace_ms));
  }
  setText(hostEls.eventBar, lines.join(' '));
  hostEls.eventBar.classList.toggle('over', Boolean(event.ended));
  // A name nobody owns downloads the lobby; the link is the same.
  if (event.ended && !host.eventOverSeen && !hostEls.eventOver.open) {
    setText(hostEls.eventOverText, event.wipe_at
      ? t('host.event_mode.over_wipe', { time: moment(event.wipe_at) })
      : t('host.event_mode.over_keep'));
    hostEls.eventOver.showModal();
  }
}

/** What happens at the end, with the grace in minutes or seconds. @param {number} ms */
function graceWords(ms) {
  const seconds = Math.round(ms / 1000);
  return seconds >= 120 && seconds % 60 === 0
    ? t('host.event_mode.wipe_minutes', { count: seconds / 60 })
    : t('host.event_mode.wipe_seconds', { count: seconds });
}

/** The pinned announcements over the room on screen, each with Dismiss; for the host, its read count and Take down. */
function renderPins() {
  const pins = shownPins(state.active);
  hostEls.pins.hidden = pins.length === 0;
  const counts = new Map((host.view?.rooms || []).map((room) => [room.room, room.pinned]));
  renderList(hostEls.pins, pins.map((pin) => `${pin.room}:${pin.seq}`), () => {
    const article = document.createElement('article');
    article.className = 'pin';
    return article;
  }, (article, key) => {
    const pin = pins.find((each) => `${each.room}:${each.seq}` === key);
    if (!pin) return;
    const count = counts.get(pin.room);
    const read = isHost() && count && count.seq === pin.seq ? t('host.pin.read', { read: count.read, of: count.of }) : '';
    const shown = JSON.stringify([pin, read, isHost(), t('host.pin.label')]);
    if (article.dataset.shown === shown) return;
    article.dataset.shown = shown;
    article.replaceChildren();
    const label = document.createElement('p');
    label.className = 'pin-label';
    label.textContent = pin.room === LOBBY ? t('host.pin.label') : t('host.pin.label_room', { room: roomName(pin.room) });
    const text = document.createElement('div');
    text.className = 'pin-text text rich';
    if (!setServerHtml(text, pin.html)) text.textContent = pin.message;
    const foot = document.createElement('div');
    foot.className = 'pin-foot';
    if (read) {
      const count = document.createElement('span');
      count.className = 'pin-read';
      count.textContent = read;
      foot.append(count);
    }
    if (isHost()) foot.append(pinButton(t('host.pin.take_down'), 'unpin', pin.room));
    foot.append(pinButton(t('host.pin.dismiss'), 'dismiss', pin.room));
    article.append(label, text, foot);
  });
}

/** @param {string} label @param {string} what @param {string} room */
function pinButton(label, what, room) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'link-button';
  button.textContent = label;
  button.dataset.pin = what;
  button.dataset.room = room;
  return button;
}

/** What to call a room: its name, as the sidebar does. @param {string} room */
function roomName(room) {
  const mine = state.rooms.get(room);
  return mine ? roomLabel(mine) : host.view?.rooms.find((each) => each.room === room)?.name || room;
}

/** The room's raised hands, in order (the host lowers them); our own hand's button. */
function renderHands() {
  const queue = host.hands.get(state.active) || [];
  hostEls.hands.hidden = queue.length === 0;
  const host_ = isHost();
  renderList(hostEls.handsList, queue.map((name) => `${name}:${host_}`), (key) => {
    const item = document.createElement('li');
    const name = key.slice(0, key.lastIndexOf(':'));
    const who = document.createElement('span');
    who.textContent = name;
    item.append(who);
    if (host_) {
      const lower = document.createElement('button');
      lower.type = 'button';
      lower.className = 'link-button';
      lower.dataset.lower = name;
      lower.textContent = t('host.hands.lower_someone');
      lower.setAttribute('aria-label', t('host.hands.lower_name', { name }));
      item.append(' ', lower);
    }
    return item;
  });
  const mine = queue.includes(state.me);
  hostEls.handToggle.setAttribute('aria-pressed', String(mine));
  const label = mine ? t('host.hands.lower') : t('host.hands.raise');
  setText(hostEls.handToggleText, label);
  hostEls.handToggle.title = label;
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

/** A room's retention as its rules line says it. */
const RULE_KEEP = { all: 'host.rooms.keep_all', days: 'host.rules.keep_days', messages: 'host.rules.keep_messages' };
/** A room's retention as the host's choices say it. */
const CHOICE_KEEP = { all: 'host.rooms.keep_all', days: 'host.rooms.keep_days', messages: 'host.rooms.keep_messages' };

/**
 * How long a room keeps its messages, in words: `keys.days`,
 * `keys.messages`, or `keys.all`.
 * @param {import('../host/state.js').Keep} keep
 * @param {{all: string, days: string, messages: string}} keys
 */
export function keepWords(keep, keys) {
  if (!keep || keep === 'all') return t(keys.all);
  return 'days' in keep ? t(keys.days, { count: keep.days }) : t(keys.messages, { count: keep.messages });
}

/** The active room's rules over the composer; read-only (but for the host) and closed lock it. */
function renderRoomRules() {
  const rules = rulesOf(state.active);
  const lines = [];
  const over = Boolean(host.event?.ended);
  if (over) lines.push(t('host.event_mode.read_only'));
  else if (rules.closed) lines.push(t('host.rules.closed'));
  else if (rules.read_only) lines.push(isHost() ? t('host.rules.read_only_host') : t('host.rules.read_only'));
  if (!rules.closed && rules.slow > 0 && !isHost()) lines.push(t('host.rules.slow', { count: rules.slow }));
  if (rules.locked && !rules.closed) lines.push(t('host.rules.locked'));
  if (rules.keep !== 'all') lines.push(keepWords(rules.keep, RULE_KEEP));
  hostEls.roomRules.hidden = lines.length === 0;
  setText(hostEls.roomRules, lines.join(' '));
  const locked = over || rules.closed || (rules.read_only && !isHost());
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
    : host.status === 'need_name' ? t('host.people.need_name')
    : host.status === 'need_room' ? t('host.bots.need_room')
      : host.status === 'export_failed' ? t('host.export.failed')
        : hasKey(`host.refused.${host.status}`) ? t(`host.refused.${host.status}`)
          : hasKey(`errors.${host.status}`) ? t(`errors.${host.status}`) : t('errors.unknown', { code: host.status });
  const [line, other] = host.statusAt === 'bots' ? [hostEls.botStatus, hostEls.status] : [hostEls.status, hostEls.botStatus];
  setText(line, status);
  line.classList.toggle('error', host.statusError && status !== '');
  setText(other, '');
  const names = state.users.filter((name) => name !== state.me);
  renderList(hostEls.names, names, (name) => {
    const option = document.createElement('option');
    option.value = name;
    return option;
  });
  const view = host.view || { rooms: [], mutes: [], bans: [] };
  const places = view.rooms.filter((room) => room.kind !== 'dm');
  renderList(hostEls.announceRoom, places.map((room) => room.room), (key) => {
    const option = document.createElement('option');
    option.value = key;
    return option;
  }, (option, key) => {
    const room = places.find((each) => each.room === key);
    setText(option, key === LOBBY ? t('host.announce.everyone') : `#${room?.name || key}`);
  });
  renderBots(view);
  const exportable = view.rooms.filter((room) => room.kind === 'public');
  renderList(hostEls.exportRoom, ['', ...exportable.map((room) => room.room)], (key) => {
    const option = document.createElement('option');
    option.value = key;
    return option;
  }, (option, key) => {
    setText(option, key === '' ? t('host.export.everything') : `#${exportable.find((room) => room.room === key)?.name || key}`);
  });
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
 * The bots: the rooms a new one may post in, the one just made with its
 * token (once) and a `curl` to try it, and every bot with Revoke.
 * @param {import('../host/state.js').HostView} view
 */
function renderBots(view) {
  // The lobby and public rooms: a bot never reads a private room or a direct message.
  const places = view.rooms.filter((room) => room.room === LOBBY || room.kind === 'public');
  const rooms = [...hostEls.botRooms.querySelectorAll('label')];
  const shown = JSON.stringify(places.map((room) => [room.room, room.name]));
  if (hostEls.botRooms.dataset.shown !== shown) {
    hostEls.botRooms.dataset.shown = shown;
    const checked = new Set([...hostEls.botRooms.querySelectorAll('input:checked')]
      .map((box) => /** @type {HTMLInputElement} */ (box).value));
    for (const label of rooms) label.remove();
    for (const room of places) {
      const label = document.createElement('label');
      label.className = 'check';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = room.room;
      box.checked = checked.has(room.room) || (checked.size === 0 && room.room === LOBBY);
      label.append(box, ' ', room.room === LOBBY ? '#lobby' : `#${room.name}`);
      hostEls.botRooms.append(label);
    }
  }
  const made = host.botToken;
  hostEls.botMade.hidden = !made;
  if (made) {
    setText(hostEls.botMadeText, t('host.bots.made', { name: made.name }));
    hostEls.botToken.value = made.token;
    const room = view.bots.find((bot) => bot.id === made.id)?.rooms[0] || LOBBY;
    hostEls.botCurl.value = `curl -H "Authorization: Bearer ${made.token}" --data-binary "${t('host.bots.example_text')}" ${location.origin}/api/rooms/${encodeURIComponent(room)}/messages`;
  }
  renderLifts(hostEls.botList, view.bots.map((bot) => ({
    key: `bot:${bot.id}`,
    name: bot.name,
    detail: bot.rooms.map((room) => `#${view.rooms.find((each) => each.room === room)?.name || room}`).join(' '),
    label: t('host.bots.revoke', { name: bot.name }),
    data: { revoke: bot.id },
  })), t('host.bots.none'));
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
  const shown = JSON.stringify([room.room, room.name, room.kind, room.members, room.online, room.slow,
    room.read_only, room.locked, room.closed, room.keep, t('host.rooms.heading')]);
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
  const keep = document.createElement('select');
  keep.id = id('keep');
  keep.dataset.room = room.room;
  keep.dataset.rule = 'keep';
  const current = keepValue(room.keep);
  for (const value of KEEP_CHOICES.includes(current) ? KEEP_CHOICES : [...KEEP_CHOICES, current]) {
    const option = document.createElement('option');
    option.value = value;
    const [kind, count] = value.split(':');
    option.textContent = keepWords(kind === 'all' ? 'all' : { [kind]: Number(count) }, CHOICE_KEEP);
    option.selected = value === current;
    keep.append(option);
  }
  const keepLabel = document.createElement('label');
  keepLabel.htmlFor = keep.id;
  keepLabel.textContent = t('host.rooms.keep');
  const keepField = document.createElement('div');
  keepField.className = 'host-slow';
  keepField.append(keepLabel, keep);
  controls.append(keepField);
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
