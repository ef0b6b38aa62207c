// The rooms this user belongs to, and each room's timeline: finding and
// making rooms, adding messages and notices in seq order (each once, the
// newest state of each), typing, read marks with the unread and mention
// counts, and asking the server for what a room is missing.

import { LOBBY, PAGE_SIZE } from './protocol.js';
import { changed, state } from './state.js';
import { isReady, send } from './connection.js';
import { settleOutbox } from './outbox.js';
import { replaceIfNewer } from './changes.js';

/** @typedef {import('./state.js').Room} Room */

/** @param {string} name @returns {Room} */
function newRoom(name) {
  return {
    name,
    title: name,
    kind: name.startsWith('dm:') ? 'dm' : 'public',
    peer: '',
    members: [],
    seq: 0,
    lastRead: 0,
    readSent: 0,
    loaded: false,
    request: '',
    hasNewer: false,
    jump: null,
    unread: 0,
    mentions: 0,
    muted: false,
    notify: 'all',
    timeline: [],
    seqs: new Set(),
    lastSeq: 0,
    oldestSeq: 0,
    hasOlder: false,
    typing: new Map(),
    atBottom: true,
    scrollTop: 0,
  };
}

/** The room called `name`, made on first sight. @param {string} name @returns {Room} */
export function roomFor(name) {
  let room = state.rooms.get(name);
  if (!room) {
    room = newRoom(name);
    state.rooms.set(name, room);
  }
  return room;
}

export function lobbyRoom() {
  return roomFor(LOBBY);
}

/** @returns {Room} the room on screen */
export function activeRoom() {
  return state.rooms.get(state.active) || lobbyRoom();
}

/** What to call a room: its name, or the other person of a direct message. @param {Room} room */
export function roomLabel(room) {
  return room.kind === 'dm' ? room.peer || room.title : room.title || room.name;
}

/**
 * Messages after our read mark. Not `seq - lastRead`: edits and reactions
 * take seqs too, and the server counts messages only.
 * @param {Room} room
 */
export function unreadOf(room) {
  return room.unread;
}

/** @param {import('./protocol.js').RoomSummary} summary */
export function upsertRoom(summary) {
  const room = roomFor(summary.room);
  room.kind = summary.kind;
  room.title = summary.name || summary.room;
  room.peer = summary.peer || '';
  room.members = summary.members.slice();
  room.seq = Math.max(room.seq, summary.seq);
  room.lastRead = Math.max(summary.last_read, Math.min(room.readSent, summary.seq));
  // A read mark of ours the summary had not heard of yet leaves nothing unread.
  const readPast = room.lastRead > summary.last_read && room.lastRead >= summary.seq;
  room.unread = readPast ? 0 : summary.unread;
  room.mentions = readPast ? 0 : summary.mentions || 0;
  room.muted = summary.muted ?? room.muted;
  room.notify = summary.notify ?? room.notify;
  return room;
}

/**
 * Brings the rooms in line with the welcome: new ones appear, ones we left
 * meanwhile go, counts and members are the server's.
 * @param {import('./protocol.js').WelcomeFrame} frame
 */
export function syncRooms(frame) {
  const lobby = lobbyRoom();
  lobby.seq = Math.max(lobby.seq, frame.seq);
  // Only owned names have rooms; the list is left out when it is empty.
  const summaries = frame.rooms || [];
  const listed = new Set(summaries.map((summary) => summary.room));
  for (const name of [...state.rooms.keys()]) {
    if (name !== LOBBY && !listed.has(name)) state.rooms.delete(name);
  }
  for (const summary of summaries) upsertRoom(summary);
  // Without an owned name there are no read marks: nothing counts as unread.
  if (!state.claimed) {
    lobby.lastRead = lobby.seq;
    lobby.unread = 0;
    lobby.mentions = 0;
  }
}

/**
 * Whether the server's history is not the one we showed (a new database,
 * or a restarted --memory server) and seqs mean something else now.
 * @param {import('./protocol.js').WelcomeFrame} frame
 */
export function historyWasReset(frame) {
  if (state.historyId && frame.history_id !== state.historyId) return true;
  if (frame.seq < lobbyRoom().lastSeq) return true;
  return (frame.rooms || []).some((summary) => {
    const room = state.rooms.get(summary.room);
    return room !== undefined && summary.seq < room.lastSeq;
  });
}

/** Forgets every timeline (the server's history was reset). */
export function resetRooms() {
  for (const room of state.rooms.values()) {
    resetTimeline(room);
    room.loaded = false;
    room.seq = 0;
    room.lastRead = 0;
    room.readSent = 0;
    room.unread = 0;
    room.mentions = 0;
  }
}

/** @param {Room} room */
export function resetTimeline(room) {
  room.timeline = [];
  room.seqs.clear();
  room.lastSeq = 0;
  room.oldestSeq = 0;
  room.hasOlder = false;
  changed('timeline');
}

/**
 * Adds a message, in seq order; one already shown is replaced by a newer
 * state of it (a resume replays what changed, edited, deleted or reacted to).
 * @param {Room} room
 * @param {import('./protocol.js').MessageFrame} frame
 * @returns {boolean} whether it was new
 */
export function addMessage(room, frame) {
  settleOutbox(frame);
  if (room.seqs.has(frame.seq)) {
    replaceIfNewer(room, frame);
    room.lastSeq = Math.max(room.lastSeq, frame.version ?? frame.seq);
    return false;
  }
  room.seqs.add(frame.seq);
  const entry = { kind: /** @type {const} */ ('message'), key: `m${frame.seq}`, frame };
  // Usually the newest (live) or the oldest (a page back); find its place.
  let index = room.timeline.length;
  if (frame.seq < room.lastSeq) {
    while (index > 0) {
      const before = room.timeline[index - 1];
      if (before.kind === 'message' && before.frame.seq < frame.seq) break;
      index -= 1;
    }
  }
  room.timeline.splice(index, 0, entry);
  // A replayed message's version is the latest change the page now has.
  room.lastSeq = Math.max(room.lastSeq, frame.version ?? frame.seq);
  room.oldestSeq = room.oldestSeq === 0 ? frame.seq : Math.min(room.oldestSeq, frame.seq);
  room.seq = Math.max(room.seq, frame.version ?? frame.seq);
  changed('timeline');
  return true;
}

/**
 * A line in the timeline that is not a message: joins, leaves, renames,
 * errors, as words said when it is shown.
 * @param {Room} room
 * @param {import('./i18n.js').Phrase} text
 * @param {number} timestamp
 * @param {string} tone
 */
export function addNotice(room, text, timestamp, tone) {
  state.noticeCount += 1;
  room.timeline.push({ kind: 'notice', key: `n${state.noticeCount}`, text, timestamp, tone });
  changed('timeline');
}

/** An error notice in the room on screen. @param {import('./i18n.js').Phrase} text */
export function noticeHere(text) {
  addNotice(activeRoom(), text, Date.now(), 'error');
}

/** @param {Room} room @param {string} username */
export function stopTypingOf(room, username) {
  clearTimeout(room.typing.get(username));
  room.typing.delete(username);
  changed('typing');
}

/** @param {Room} room */
export function clearTyping(room) {
  for (const timer of room.typing.values()) clearTimeout(timer);
  room.typing.clear();
  changed('typing');
}

/**
 * Sends our read mark for `room` up to `seq`, once.
 * @param {Room} room
 * @param {number} seq
 */
export function markRead(room, seq) {
  if (seq <= room.lastRead || seq <= room.readSent) return;
  // An owner's mark is the server's: sent once connected again.
  if (state.claimed && !isReady()) return;
  room.lastRead = seq;
  // Read to the end: nothing is unread. Short of it, the server's `read` says.
  if (seq >= room.seq) {
    room.unread = 0;
    room.mentions = 0;
  }
  if (state.claimed) {
    room.readSent = seq;
    send({ type: 'read', room: room.name, seq });
  }
  changed('read');
}

/**
 * The room on screen is read when the tab is visible and its end is in view
 * (the room's own end: not that of a page of the past a jump showed).
 */
export function markReadIfSeen() {
  const room = activeRoom();
  if (document.hidden || state.screen !== 'app' || !room.loaded || !state.view.atBottom) return;
  if (room.hasNewer || room.request === 'around') return;
  markRead(room, room.lastSeq);
}

/** Pages back through the room on screen. */
export function requestOlder() {
  const room = activeRoom();
  if (!room.hasOlder || room.request || !isReady()) return;
  room.request = 'older';
  send({ type: 'history', room: room.name, before: room.oldestSeq, limit: PAGE_SIZE });
  changed('history');
}

/**
 * Fetches what a room is missing: the messages after the last one shown
 * (a resume), or its latest page. The lobby's come with the welcome.
 * @param {Room} room
 */
export function requestRoom(room) {
  if (room.request || !isReady() || room.name === LOBBY) return;
  if (room.loaded) {
    room.request = 'since';
    send({ type: 'history', room: room.name, since: room.lastSeq });
  } else {
    room.request = 'latest';
    send({ type: 'history', room: room.name, limit: PAGE_SIZE });
  }
  changed('history');
}

/** Whether we share a room or a direct message with `name`. @param {string} name */
export function sharesRoom(name) {
  for (const room of state.rooms.values()) {
    if (room.name !== LOBBY && room.members.includes(name)) return true;
  }
  return false;
}
