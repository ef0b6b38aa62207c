// Calls' part of the store: the calls going on in our rooms (from the
// server's `call` frames), the one this tab is in, what it sends, what it
// receives, who is speaking, and what the call panel says. Handlers and
// actions change it, then call `changed()` (state.js); render/call.js draws
// it. Nothing here touches the DOM or the network.

/**
 * @typedef {object} Participant
 * @property {number} id        stands for them in the media: streams `p<id>.main`, `p<id>.screen`
 * @property {string} username
 * @property {boolean} audio    microphone on
 * @property {boolean} video    camera on
 * @property {boolean} screen   sharing their screen
 *
 * A room's call, as the server's `call` frame says it.
 * @typedef {object} CallFrame
 * @property {string} room
 * @property {string} call      its id; the history's events carry it too
 * @property {number} started   ms since the epoch
 * @property {string} started_by
 * @property {Participant[]} participants  empty: it is over
 *
 * What calls allow here (`welcome`'s `limits.calls`).
 * @typedef {{cameras: number, camera_kbps: number, screen_kbps: number, screen_fps: number}} CallLimits
 *
 * The call this tab is in.
 * @typedef {object} MyCall
 * @property {string} room
 * @property {number} id        our participant id, once joined (0 while asking)
 * @property {'joining' | 'connecting' | 'connected' | 'reconnecting'} phase
 * @property {number} since     when we joined (ms), for "no answer"
 *
 * Why our last call ended, shown in its room until closed.
 * @typedef {{room: string, reason: string, name?: string}} Ended
 */

/** What a remote participant's media gives us, by stream: camera and mic, screen. */
/** @typedef {{main: MediaStream | null, screen: MediaStream | null}} Received */

export const calls = {
  /** What calls allow; null when the server has calls off. @type {CallLimits | null} */
  limits: null,
  /** The calls going on in our rooms, by room id. @type {Map<string, CallFrame>} */
  byRoom: new Map(),
  /** The call this tab is in, or null. @type {MyCall | null} */
  mine: null,
  /** What this tab asked of the server and waits to hear about (for refusals). @type {{kind: string, room: string} | null} */
  pending: null,
  /** What we send, and from which device ('' = the browser's choice). */
  local: {
    audio: true,
    video: false,
    screen: false,
    mic: '',
    camera: '',
    /** @type {MediaStream | null} microphone and camera */
    stream: null,
    /** @type {MediaStream | null} the shared screen (and its sound) */
    screenStream: null,
  },
  /** The devices to pick from, once the browser lists them. @type {{mics: MediaDeviceInfo[], cameras: MediaDeviceInfo[]}} */
  devices: { mics: [], cameras: [] },
  /** Whether the device picker is open. */
  picking: false,
  /** What others send us, by participant id. @type {Map<number, Received>} */
  received: new Map(),
  /** Participant ids speaking now, and 0 for us. @type {Set<number>} */
  speaking: new Set(),
  /** The DM call ringing here (its room), or ''. */
  ringing: '',
  /** Calls we declined or missed, by call id, so they ring once. @type {Set<string>} */
  unanswered: new Set(),
  /** Why our last call ended, until closed. @type {Ended | null} */
  ended: null,
  /** Something to say in the call panel (a refusal, a device problem), by key and params. @type {{key: string, params?: Record<string, string | number>} | null} */
  notice: null,
  /** Set when the page is not a secure context: the trust page's address, if the server has one. */
  trustUrl: '',
};

/** The call going on in `room`, if any. @param {string} room */
export function callIn(room) {
  const call = calls.byRoom.get(room);
  return call && call.participants.length > 0 ? call : undefined;
}

/** Whether this tab is in `room`'s call. @param {string} room */
export function inCall(room) {
  return calls.mine !== null && calls.mine.room === room;
}

/** Our participant entry in the call we are in, if the server lists it. */
export function myParticipant() {
  const mine = calls.mine;
  if (!mine) return undefined;
  return callIn(mine.room)?.participants.find((p) => p.id === mine.id);
}

/** A touch screen without a mouse: a phone or a tablet. */
export const touchOnly = window.matchMedia('(pointer: coarse) and (hover: none)');

/** Whether this browser can share a screen: computers can, phones cannot. */
export function canShareScreen() {
  return typeof navigator.mediaDevices?.getDisplayMedia === 'function' && !touchOnly.matches;
}

/** Whether this page may use the camera and microphone at all. */
export function mediaAllowedHere() {
  return window.isSecureContext && typeof navigator.mediaDevices?.getUserMedia === 'function';
}
