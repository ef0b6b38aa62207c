// What the person does about calls: start one (voice or video), answer or
// decline a ring, join, leave, mute, turn the camera on or off, share the
// screen, pick devices; and how this tab's call ends (left, refused, lost,
// the connection gone). Each changes `calls` and sends what the server must
// hear; peer.js carries the media.

import { isReady, send } from '../connection.js';
import { changed, onChange, state } from '../state.js';
import { roomFor } from '../rooms.js';
import { navigate } from '../navigation.js';
import { desktopState } from '../notify.js';
import { t } from '../i18n.js';
import { calls, callIn, canShareScreen, inCall, mediaAllowedHere } from './state.js';
import {
  deviceError, listDevices, openCamera, openMic, openScreen, setLocalTrack, stopAll,
} from './media.js';
import { closePeer, openPeer, sendTrack } from './peer.js';

/** A call with this many in it already is joined with the microphone off. */
const JOIN_MUTED_FROM = 6;
/** How long a direct message's call rings, and waits for an answer. */
export const RING_MS = 45_000;
/** How often the ring sounds while it rings. */
const RING_EVERY_MS = 3_000;
const RING_SOUND = 'chime.wav';

/** @type {HTMLAudioElement | null} */
let ringSound = null;
/** @type {number | undefined} */
let ringTimer;
/** @type {number | undefined} */
let ringEnds;
/** @type {number | undefined} */
let answerTimer;
/** @type {Notification | null} */
let ringNotification = null;

/**
 * Starts a call in `room`, or joins the one going on, with the camera on
 * for a video call.
 * @param {string} room @param {{video?: boolean}} [options]
 */
export async function startCall(room, { video = false } = {}) {
  await enter(room, 'call_start', video);
}

/** Joins the call going on in `room`. @param {string} room */
export async function joinCall(room) {
  await enter(room, 'call_join', false);
}

/**
 * Gets the microphone (and camera) before asking the server, so the first
 * offer carries them.
 * @param {string} room @param {'call_start' | 'call_join'} type @param {boolean} video
 */
async function enter(room, type, video) {
  stopRinging();
  if (!mediaAllowedHere()) {
    showInsecure(room);
    return;
  }
  if (calls.mine) leaveCall();
  calls.ended = null;
  calls.notice = null;
  calls.mine = { room, id: 0, phase: 'joining', since: Date.now() };
  changed('call');
  const crowded = (callIn(room)?.participants.length || 0) >= JOIN_MUTED_FROM;
  calls.local.audio = !crowded;
  calls.local.video = video;
  calls.local.screen = false;
  try {
    setLocalTrack(await openMic(), 'audio');
  } catch (error) {
    calls.local.audio = false;
    calls.notice = { key: deviceError(error, 'mic') };
  }
  if (video) {
    try {
      setLocalTrack(await openCamera(), 'video');
    } catch (error) {
      calls.local.video = false;
      calls.notice = { key: deviceError(error, 'camera') };
    }
  }
  listDevices().then(() => changed('call'), () => {});
  // Asked after the devices: the person may have left meanwhile.
  if (calls.mine?.room !== room) return;
  calls.pending = { kind: type, room };
  send({ type, room });
  changed('call');
}

/** The server put us in the call as participant `id`: offer. @param {string} room @param {number} id */
export function joined(room, id) {
  if (!calls.mine || calls.mine.room !== room) {
    // Asked for by a tab state that is gone (a leave crossed it): leave.
    send({ type: 'call_leave', room });
    return;
  }
  calls.pending = null;
  calls.mine.id = id;
  calls.mine.phase = 'connecting';
  openPeer(room, { onFailed: () => endCall('lost') });
  tellMedia();
  clearTimeout(answerTimer);
  if (roomFor(room).kind === 'dm') answerTimer = window.setTimeout(() => noAnswer(room), RING_MS);
  changed('call');
}

/** Tells the server what we send now. */
function tellMedia() {
  const mine = calls.mine;
  if (!mine || mine.id === 0) return;
  const { audio, video, screen } = calls.local;
  send({ type: 'call_media', room: mine.room, audio, video, screen });
}

/** Leaves our call, by choice. */
export function leaveCall() {
  const mine = calls.mine;
  if (!mine) return;
  if (isReady()) send({ type: 'call_leave', room: mine.room });
  finish();
}

/**
 * Our call ended without us choosing: says why in its room.
 * @param {string} reason  a key under calls.ended
 * @param {string} [name]  who declined or did not answer
 */
export function endCall(reason, name) {
  const mine = calls.mine;
  if (!mine) return;
  if (isReady() && reason !== 'connection') send({ type: 'call_leave', room: mine.room });
  calls.ended = { room: mine.room, reason, ...(name ? { name } : {}) };
  finish();
}

function finish() {
  clearTimeout(answerTimer);
  closePeer();
  stopAll();
  calls.mine = null;
  calls.pending = null;
  calls.received.clear();
  calls.speaking = new Set();
  calls.picking = false;
  calls.local.screen = false;
  changed('call');
}

/** A direct message's call nobody answered. @param {string} room */
function noAnswer(room) {
  const call = callIn(room);
  if (!inCall(room) || !call || call.participants.length > 1) return;
  endCall('no_answer', roomFor(room).peer);
}

/** Mutes or unmutes the microphone. */
export async function toggleMic() {
  const on = !calls.local.audio;
  let mic = calls.local.stream?.getAudioTracks()[0] || null;
  if (on && (!mic || mic.readyState === 'ended')) {
    try {
      mic = await openMic();
      setLocalTrack(mic, 'audio');
    } catch (error) {
      calls.notice = { key: deviceError(error, 'mic') };
      changed('call');
      return;
    }
  }
  calls.local.audio = on;
  await sendTrack('mic', on ? mic : null);
  tellMedia();
  changed('call');
}

/** Turns the camera on or off. */
export async function toggleCamera() {
  if (calls.local.video) {
    cameraOff();
    tellMedia();
    return;
  }
  try {
    const camera = await openCamera();
    setLocalTrack(camera, 'video');
    calls.local.video = true;
    calls.notice = null;
    await sendTrack('camera', camera);
  } catch (error) {
    calls.notice = { key: deviceError(error, 'camera') };
  }
  tellMedia();
  changed('call');
}

function cameraOff() {
  calls.local.video = false;
  setLocalTrack(null, 'video');
  sendTrack('camera', null);
  changed('call');
}

/** Starts or stops sharing the screen. */
export async function toggleScreen() {
  if (calls.local.screen) {
    stopSharing();
    return;
  }
  if (!canShareScreen()) return;
  let stream;
  try {
    stream = await openScreen();
  } catch (error) {
    // Closing the browser's picker is not a problem to report.
    if (!(error instanceof Error && error.name === 'NotAllowedError')) {
      calls.notice = { key: deviceError(error, 'screen') };
      changed('call');
    }
    return;
  }
  if (!calls.mine) {
    for (const track of stream.getTracks()) track.stop();
    return;
  }
  calls.local.screenStream = stream;
  calls.local.screen = true;
  calls.notice = null;
  const [video] = stream.getVideoTracks();
  // The browser's own "Stop sharing" ends the track.
  video?.addEventListener('ended', () => {
    if (calls.local.screenStream === stream) stopSharing();
  });
  await sendTrack('screen', video || null);
  await sendTrack('screen_audio', stream.getAudioTracks()[0] || null);
  tellMedia();
  changed('call');
}

function stopSharing() {
  for (const track of calls.local.screenStream?.getTracks() || []) track.stop();
  calls.local.screenStream = null;
  calls.local.screen = false;
  sendTrack('screen', null);
  sendTrack('screen_audio', null);
  tellMedia();
  changed('call');
}

/**
 * Uses another microphone or camera from now on.
 * @param {'mic' | 'camera'} kind @param {string} deviceId
 */
export async function pickDevice(kind, deviceId) {
  calls.local[kind] = deviceId;
  const on = kind === 'mic' ? calls.local.audio : calls.local.video;
  if (!calls.mine || !on) return;
  try {
    const track = kind === 'mic' ? await openMic() : await openCamera();
    setLocalTrack(track, track.kind === 'audio' ? 'audio' : 'video');
    await sendTrack(kind, track);
  } catch (error) {
    calls.notice = { key: deviceError(error, kind) };
  }
  changed('call');
}

/** Opens or closes the device picker. */
export function togglePicker() {
  calls.picking = !calls.picking;
  if (calls.picking) listDevices().then(() => changed('call'), () => {});
  changed('call');
}

/**
 * The server refused what we asked: put things back and say why. Returns
 * whether the refusal was about calls.
 * @param {import('../protocol.js').ErrorFrame} frame
 */
export function callRefused(frame) {
  if (frame.code === 'cameras_full') {
    cameraOff();
    calls.notice = { key: 'calls.errors.cameras_full', params: { count: calls.limits?.cameras || 0 } };
    changed('call');
    return true;
  }
  if (frame.code === 'screen_taken') {
    stopSharing();
    calls.notice = { key: 'calls.errors.screen_taken' };
    changed('call');
    return true;
  }
  const pending = calls.pending;
  if (!pending || frame.room !== pending.room) return false;
  calls.pending = null;
  const reason = frame.code === 'not_found' ? 'gone' : 'refused';
  endCall(reason);
  return true;
}

/** A direct message's call rings here: sound, and a notification when away. @param {string} room */
export function ring(room) {
  if (calls.ringing === room) return;
  stopRinging();
  calls.ringing = room;
  const caller = callIn(room)?.started_by || roomFor(room).peer;
  const sound = () => {
    ringSound = ringSound || new Audio(RING_SOUND);
    ringSound.currentTime = 0;
    // Refused before the person has clicked on the page: the card still shows.
    ringSound.play().catch(() => {});
  };
  sound();
  ringTimer = window.setInterval(sound, RING_EVERY_MS);
  ringEnds = window.setTimeout(() => missed(room), RING_MS);
  const away = document.hidden || !document.hasFocus();
  if (away && desktopState() === 'granted') {
    ringNotification = new Notification(t('calls.ring.notification_title', { name: caller }), {
      body: t('calls.ring.notification_body'),
      tag: `call-${room}`,
      icon: 'favicon.svg',
      requireInteraction: true,
    });
    ringNotification.addEventListener('click', () => {
      window.focus();
      ringNotification?.close();
    });
  }
  changed('call');
}

/** The ring stops: answered, declined, over, or unanswered. */
export function stopRinging() {
  clearInterval(ringTimer);
  clearTimeout(ringEnds);
  ringTimer = undefined;
  ringSound?.pause();
  ringNotification?.close();
  ringNotification = null;
  if (calls.ringing) {
    calls.ringing = '';
    changed('call');
  }
}

/** Rang out: missed, and it does not ring again. @param {string} room */
function missed(room) {
  const call = callIn(room);
  if (call) calls.unanswered.add(call.call);
  stopRinging();
}

/** Answers the call ringing here: its room opens, and we join. */
function acceptRing() {
  const room = calls.ringing;
  if (!room) return;
  navigate(room);
  joinCall(room);
}

/** Declines the call ringing here. */
export function declineCall() {
  const room = calls.ringing;
  if (!room) return;
  const call = callIn(room);
  if (call) calls.unanswered.add(call.call);
  send({ type: 'call_decline', room });
  stopRinging();
}

/** Closes what the panel says about the last call. */
export function dismissEnded() {
  calls.ended = null;
  calls.notice = null;
  changed('call');
}

/** The page cannot use the camera and microphone here: say why, and where it can. @param {string} room */
function showInsecure(room) {
  calls.ended = { room, reason: 'insecure' };
  changed('call');
  fetch('/api/trust', { cache: 'no-store' })
    .then((response) => (response.ok ? response.json() : null))
    .then((info) => {
      // The trust page is on the plain port; the chat is on HTTPS.
      if (info?.trust_port && info.fingerprint) {
        calls.trustUrl = `http://${location.hostname}:${info.trust_port}/`;
        changed('call');
      }
    })
    .catch(() => {});
}

/** Wires the call's buttons, and what calls need from the rest of the page. */
export function setUpCalls() {
  document.addEventListener('click', (event) => {
    const target = /** @type {HTMLElement} */ (event.target).closest('[data-call]');
    if (!(target instanceof HTMLElement)) return;
    const room = state.active;
    switch (target.dataset.call) {
      case 'voice': startCall(room); break;
      case 'video': startCall(room, { video: true }); break;
      case 'join': joinCall(room); break;
      case 'again': startCall(calls.ended?.room || room); break;
      case 'dismiss': dismissEnded(); break;
      case 'mic': toggleMic(); break;
      case 'camera': toggleCamera(); break;
      case 'screen': toggleScreen(); break;
      case 'devices': togglePicker(); break;
      case 'leave': leaveCall(); break;
      case 'back': if (calls.mine) navigate(calls.mine.room); break;
      case 'accept': acceptRing(); break;
      case 'decline': declineCall(); break;
      default: break;
    }
  });
  document.addEventListener('change', (event) => {
    const select = /** @type {HTMLElement} */ (event.target);
    const kind = select.dataset?.callDevice;
    if ((kind === 'mic' || kind === 'camera') && select instanceof HTMLSelectElement) pickDevice(kind, select.value);
  });
  onChange(() => {
    if (state.connection === 'connected') return;
    // The connection went, and the server ended our part in the call with
    // it; what we knew of the calls going on is out of date until the next
    // welcome tells us again.
    if (calls.mine) endCall('connection');
    if (calls.ringing) stopRinging();
    if (calls.byRoom.size > 0) {
      calls.byRoom.clear();
      changed('call');
    }
  });
  navigator.mediaDevices?.addEventListener?.('devicechange', () => {
    listDevices().then(() => changed('call'), () => {});
  });
}
