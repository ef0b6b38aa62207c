// The call frames: `call` (a room's call as it is now), `call_joined`,
// `call_left`, `call_offer`, `call_answer`, `call_declined`; and what a
// new `welcome` means for calls. Each changes `calls` (calls/state.js) and
// hands SDP to the session (calls/peer.js); render/call.js draws the rest.

import { changed, state } from '../state.js';
import { roomFor } from '../rooms.js';
import { calls, callIn, inCall } from '../calls/state.js';
import { answered, offered } from '../calls/peer.js';
import { endCall, joined, ring, stopRinging } from '../calls/actions.js';

/** @param {import('../calls/state.js').CallFrame} frame */
export function call(frame) {
  const before = calls.byRoom.get(frame.room);
  if (frame.participants.length > 0) calls.byRoom.set(frame.room, frame);
  else calls.byRoom.delete(frame.room);
  // Remote media of those who left is gone.
  if (inCall(frame.room)) {
    const here = new Set(frame.participants.map((p) => p.id));
    for (const id of calls.received.keys()) if (!here.has(id)) calls.received.delete(id);
  }
  ringIfCalled(frame, before);
  hungUp(frame, before);
  changed('call');
}

/**
 * In a direct message the call is the two of you: when the other hangs up,
 * it is over here too.
 * @param {import('../calls/state.js').CallFrame} frame
 * @param {import('../calls/state.js').CallFrame | undefined} before
 */
function hungUp(frame, before) {
  if (!inCall(frame.room) || roomFor(frame.room).kind !== 'dm' || !before) return;
  const left = before.participants.find((p) => p.id !== calls.mine?.id &&
    !frame.participants.some((now) => now.id === p.id));
  const alone = frame.participants.every((p) => p.id === calls.mine?.id);
  if (left && alone) endCall('hung_up', left.username);
}

/**
 * A direct message's call rings while it goes on, we are in it nowhere
 * (no tab of ours), and we have not declined or missed it.
 * @param {import('../calls/state.js').CallFrame} frame
 * @param {import('../calls/state.js').CallFrame | undefined} before
 */
function ringIfCalled(frame, before) {
  const room = state.rooms.get(frame.room);
  const meIn = frame.participants.some((p) => p.username === state.me);
  const wanted = room?.kind === 'dm' && frame.participants.length > 0 && !meIn &&
    !inCall(frame.room) && !calls.unanswered.has(frame.call);
  if (wanted) {
    ring(frame.room);
  } else if (calls.ringing === frame.room) {
    // Answered on another tab or device, or the caller gave up.
    if (!meIn && before && frame.participants.length === 0) calls.unanswered.add(before.call);
    stopRinging();
  }
}

/** @param {{room: string, id: number}} frame */
export function call_joined(frame) {
  joined(frame.room, frame.id);
}

/** @param {{room: string, reason: string}} frame */
export function call_left(frame) {
  if (!inCall(frame.room)) return;
  // `left` is our own asking (or a call_leave crossing a join): nothing to say.
  if (frame.reason === 'left') return;
  endCall(frame.reason);
}

/** @param {{room: string, sdp: string}} frame */
export function call_offer(frame) {
  if (inCall(frame.room)) offered(frame.room, frame.sdp);
}

/** @param {{room: string, sdp: string}} frame */
export function call_answer(frame) {
  if (inCall(frame.room)) answered(frame.sdp);
}

/** @param {{room: string, username: string}} frame */
export function call_declined(frame) {
  const call = callIn(frame.room);
  if (frame.username === state.me) {
    // Declined on another tab: stop ringing here too.
    if (call) calls.unanswered.add(call.call);
    if (calls.ringing === frame.room) stopRinging();
    return;
  }
  // A direct message: the only other person said no.
  if (inCall(frame.room) && roomFor(frame.room).kind === 'dm' && (call?.participants.length || 0) <= 1) {
    endCall('declined', frame.username);
  }
}

/**
 * A new connection: the server forgot any call this tab was in, and tells
 * us afresh of the calls going on.
 * @param {{limits?: {calls?: import('../calls/state.js').CallLimits}}} frame
 */
export function callsWelcomed(frame) {
  calls.limits = frame.limits?.calls || null;
  calls.byRoom.clear();
  if (calls.mine) endCall('connection');
  stopRinging();
  changed('call');
}
