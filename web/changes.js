// What happens to messages after they are sent: edits, deletions and
// reactions, each an entry of the room's log with its own seq. A message
// keeps its current state and `version` (the seq of its last change), so
// an entry is applied only once, and a message that comes again (a resume,
// a page of history) replaces ours only when it is newer. Applied in log
// order, the page ends up with exactly the server's state. No DOM here.

import { changed, state } from './state.js';
import { queueChange, settleOutbox } from './outbox.js';

/** @typedef {import('./state.js').Room} Room */
/** @typedef {import('./protocol.js').MessageFrame} MessageFrame */

/** What a deleted message says, as the server words its tombstone. */
export const TOMBSTONE = 'message deleted';

/** The message `seq` of `room`, if the page has it. @param {Room} room @param {number} seq */
export function findMessage(room, seq) {
  if (!room.seqs.has(seq)) return undefined;
  const entry = room.timeline.find((item) => item.kind === 'message' && item.frame.seq === seq);
  return entry && entry.kind === 'message' ? entry : undefined;
}

/**
 * Notes an entry's seq: the room's log has come this far. A resume asks
 * for what changed after it.
 * @param {Room} room @param {number} seq
 */
function noteSeq(room, seq) {
  room.seq = Math.max(room.seq, seq);
  if (room.loaded || room.request !== '') room.lastSeq = Math.max(room.lastSeq, seq);
}

/**
 * Applies `change` to message `target`, if the page has it and has not
 * seen this change (or a later one) yet.
 * @param {{room: string, seq: number, target: number, cid?: string, username: string}} frame
 * @param {(message: MessageFrame) => MessageFrame} change
 */
function apply(frame, change) {
  settleOutbox(frame);
  const room = state.rooms.get(frame.room);
  if (!room) return;
  noteSeq(room, frame.seq);
  const entry = findMessage(room, frame.target);
  if (entry && frame.seq > (entry.frame.version ?? entry.frame.seq)) {
    entry.frame = { ...change(entry.frame), version: frame.seq };
  }
  changed('timeline');
}

/** @param {import('./protocol.js').EditFrame} frame */
export function applyEdit(frame) {
  apply(frame, (message) => ({
    ...message,
    message: frame.message,
    html: frame.html,
    edited: frame.edited,
    mentions: frame.mentions || [],
    everyone: Boolean(frame.everyone),
    here: Boolean(frame.here),
    big: Boolean(frame.big),
  }));
}

/** @param {import('./protocol.js').DeleteFrame} frame */
export function applyDelete(frame) {
  const room = state.rooms.get(frame.room);
  const before = room ? findMessage(room, frame.target) : undefined;
  // An unread message that goes is no longer unread (the server counts so too).
  if (room && before && !before.frame.deleted && frame.target > room.lastRead && frame.seq > room.seq) {
    room.unread = Math.max(0, room.unread - 1);
    if (mentionsMe(room, before.frame)) room.mentions = Math.max(0, room.mentions - 1);
  }
  apply(frame, (message) => ({
    ...message,
    message: TOMBSTONE,
    html: '',
    deleted: true,
    // The host deletes under the reserved name `system`.
    removed: frame.username === 'system',
    files: [],
    generated: false,
    reactions: [],
    mentions: [],
    everyone: false,
    here: false,
    big: false,
  }));
}

/** @param {import('./protocol.js').ReactFrame} frame */
export function applyReact(frame) {
  apply(frame, (message) => ({
    ...message,
    reactions: toggled(message.reactions || [], frame.emoji, frame.username, frame.on),
  }));
}

/**
 * The reactions with `username`'s `emoji` added or taken back: each person
 * once per emoji, an emoji nobody has left goes.
 * @param {{emoji: string, users: string[]}[]} reactions
 * @param {string} emoji @param {string} username @param {boolean} on
 */
export function toggled(reactions, emoji, username, on) {
  const result = reactions.map((reaction) => ({ emoji: reaction.emoji, users: reaction.users.slice() }));
  let reaction = result.find((item) => item.emoji === emoji);
  if (on && !reaction) {
    reaction = { emoji, users: [] };
    result.push(reaction);
  }
  if (!reaction) return result;
  reaction.users = reaction.users.filter((user) => user !== username);
  if (on) reaction.users.push(username);
  return result.filter((item) => item.users.length > 0);
}

/**
 * Puts a message from history or a resume in place of the copy shown, if
 * it is newer. Returns false when the page has no copy.
 * @param {Room} room @param {MessageFrame} frame
 */
export function replaceIfNewer(room, frame) {
  const entry = findMessage(room, frame.seq);
  if (!entry) return false;
  const version = (message) => message.version ?? message.seq;
  if (version(frame) > version(entry.frame)) {
    entry.frame = frame;
    changed('timeline');
  }
  return true;
}

/**
 * Whether `message` mentions this user, as the server counts mentions:
 * by name, `@room`, `@here`, or any message of a direct message.
 * @param {Room} room @param {MessageFrame} message
 */
export function mentionsMe(room, message) {
  if (message.deleted || state.myNames.has(message.username)) return false;
  if (room.kind === 'dm') return true;
  const me = state.me.toLowerCase();
  return Boolean(message.everyone || message.here) ||
    (message.mentions || []).some((name) => name.toLowerCase() === me);
}

/**
 * Whether this user may still edit `message`: their own, not deleted,
 * under an owned name, and within the server's edit window.
 * @param {MessageFrame} message
 */
export function canEdit(message) {
  if (!canDelete(message) || message.generated) return false;
  const window = state.limits.edit_window_ms;
  return !window || Date.now() - message.timestamp < window;
}

/** @param {MessageFrame} message */
export function canDelete(message) {
  return state.claimed && !message.deleted && state.myNames.has(message.username);
}

/** The newest message of ours in `room` that may still be edited. @param {Room} room */
export function lastEditable(room) {
  for (let index = room.timeline.length - 1; index >= 0; index -= 1) {
    const entry = room.timeline[index];
    if (entry.kind === 'message' && state.myNames.has(entry.frame.username) && !entry.frame.deleted) {
      return canEdit(entry.frame) ? entry.frame : undefined;
    }
  }
  return undefined;
}

/**
 * Our edits, deletions and reactions to message `seq` of `room` that the
 * server has not stored yet (or refused).
 * @param {string} room @param {number} seq
 * @returns {import('./state.js').OutboxEntry[]}
 */
export function pendingChanges(room, seq) {
  return state.outbox.filter((entry) => entry.kind && entry.room === room && entry.target === seq);
}

/**
 * The reactions as the page shows them: the server's, with ours that are
 * still on their way (a refused one not).
 * @param {MessageFrame} frame @param {import('./state.js').OutboxEntry[]} changes
 */
export function shownReactions(frame, changes) {
  let reactions = frame.deleted ? [] : frame.reactions || [];
  for (const entry of changes) {
    if (entry.kind === 'react' && entry.status === 'pending' && entry.emoji) {
      reactions = toggled(reactions, entry.emoji, entry.sentAs, entry.on !== false);
    }
  }
  return reactions;
}

/**
 * Adds our `emoji` to message `seq` of `room`, or takes it back if it is
 * there (as the page shows it).
 * @param {string} room @param {number} seq @param {string} emoji
 */
export function toggleReaction(room, seq, emoji) {
  const target = state.rooms.get(room);
  const entry = target ? findMessage(target, seq) : undefined;
  if (!entry || entry.frame.deleted) return;
  const shown = shownReactions(entry.frame, pendingChanges(room, seq));
  const mine = shown.some((reaction) => reaction.emoji === emoji &&
    reaction.users.some((user) => state.myNames.has(user)));
  queueChange('react', room, seq, { emoji, on: !mine });
}
