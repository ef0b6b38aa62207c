// The call's WebRTC session with the server's SFU: one RTCPeerConnection
// for everything this tab sends and receives in its call.
//
// It offers once, with one `sendonly` m-line per role (microphone, camera,
// screen, the screen's sound), telling the server which mid is which, so
// turning the camera or a share on or off is `replaceTrack`, never a new
// offer. From then on only the server offers (more tracks to receive, or
// fewer), and this side answers. Signalling steps run one at a time, in the
// order they came. Who a received track is comes from its stream's id,
// `p<participant>.main` or `p<participant>.screen`. No STUN or TURN: the
// server is on the LAN and gives its addresses in its answer.

import { send } from '../connection.js';
import { changed } from '../state.js';
import { calls } from './state.js';

/** How often who is speaking is read from the session's statistics. */
const SPEAKING_POLL_MS = 300;
/** An audio level (0 to 1) above this is someone speaking. */
const SPEAKING_LEVEL = 0.02;

/** @typedef {'mic' | 'camera' | 'screen' | 'screen_audio'} Role */

/** @type {RTCPeerConnection | null} */
let pc = null;
/** Our sending m-lines, by role. @type {Partial<Record<Role, RTCRtpTransceiver>>} */
let sending = {};
/** What each received m-line carries: whose, and which stream. @type {Map<string, {id: number, stream: 'main' | 'screen', kind: string}>} */
const receiving = new Map();
/** The signalling steps, one after another. */
let steps = Promise.resolve();
/** @type {number | undefined} */
let speakingTimer;

/**
 * Opens the session for the call in `room` and sends our offer, carrying
 * whatever tracks are already on.
 * @param {string} room
 * @param {{onFailed: () => void}} hooks
 */
export function openPeer(room, { onFailed }) {
  closePeer();
  const connection = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  pc = connection;
  const limits = calls.limits;
  // Muted means not sending: nothing at all goes out, not even silence.
  const { local } = calls;
  const mic = local.audio ? local.stream?.getAudioTracks()[0] : undefined;
  const camera = local.video ? local.stream?.getVideoTracks()[0] : undefined;
  const screen = local.screen ? local.screenStream?.getVideoTracks()[0] : undefined;
  const screenAudio = local.screen ? local.screenStream?.getAudioTracks()[0] : undefined;
  sending = {
    mic: connection.addTransceiver(mic || 'audio', { direction: 'sendonly' }),
    camera: connection.addTransceiver(camera || 'video', {
      direction: 'sendonly',
      sendEncodings: [{ maxBitrate: (limits?.camera_kbps || 600) * 1000 }],
    }),
    screen: connection.addTransceiver(screen || 'video', {
      direction: 'sendonly',
      sendEncodings: [{
        maxBitrate: (limits?.screen_kbps || 1500) * 1000,
        maxFramerate: limits?.screen_fps || 15,
      }],
    }),
    screen_audio: connection.addTransceiver(screenAudio || 'audio', { direction: 'sendonly' }),
  };
  connection.addEventListener('icecandidate', (event) => {
    if (event.candidate?.candidate) {
      send({ type: 'call_candidate', room, candidate: event.candidate.candidate });
    }
  });
  connection.addEventListener('track', (event) => received(event));
  connection.addEventListener('connectionstatechange', () => {
    if (pc !== connection || !calls.mine) return;
    const state = connection.connectionState;
    if (state === 'failed') {
      onFailed();
      return;
    }
    calls.mine.phase = state === 'connected' ? 'connected'
      : state === 'disconnected' ? 'reconnecting' : calls.mine.phase;
    changed('call');
  });
  step(async () => {
    await connection.setLocalDescription(await connection.createOffer());
    /** @type {Record<string, Role>} */
    const tracks = {};
    for (const [role, transceiver] of Object.entries(sending)) {
      if (transceiver?.mid) tracks[transceiver.mid] = /** @type {Role} */ (role);
    }
    send({ type: 'call_offer', room, sdp: connection.localDescription?.sdp || '', tracks });
  });
  speakingTimer = window.setInterval(readSpeaking, SPEAKING_POLL_MS);
}

/** Ends the session; what we captured is stopped elsewhere (media.js). */
export function closePeer() {
  clearInterval(speakingTimer);
  speakingTimer = undefined;
  pc?.close();
  pc = null;
  sending = {};
  receiving.clear();
  steps = Promise.resolve();
}

/** The server's answer to our offer. @param {string} sdp */
export function answered(sdp) {
  const connection = pc;
  step(async () => {
    if (connection === pc) await connection?.setRemoteDescription({ type: 'answer', sdp });
  });
}

/** The server's offer: answered at once. @param {string} room @param {string} sdp */
export function offered(room, sdp) {
  const connection = pc;
  step(async () => {
    if (!connection || connection !== pc) return;
    await connection.setRemoteDescription({ type: 'offer', sdp });
    await connection.setLocalDescription(await connection.createAnswer());
    send({ type: 'call_answer', room, sdp: connection.localDescription?.sdp || '' });
  });
}

/**
 * Sends `track` (or nothing) as `role`, without a new offer.
 * @param {Role} role @param {MediaStreamTrack | null} track
 */
export async function sendTrack(role, track) {
  await sending[role]?.sender.replaceTrack(track);
}

/** The session's statistics, or null outside a call (for tests, too). */
export function peerStats() {
  return pc ? pc.getStats() : Promise.resolve(null);
}

/** @param {() => Promise<void>} work */
function step(work) {
  steps = steps.then(work).catch((error) => {
    console.warn('call signalling failed', error);
  });
}

/** A track from the server: whose it is, and into which of their streams. @param {RTCTrackEvent} event */
function received(event) {
  const stream = event.streams[0];
  const match = /^p(\d+)\.(main|screen)$/.exec(stream?.id || '');
  if (!match) return;
  const id = Number(match[1]);
  const which = /** @type {'main' | 'screen'} */ (match[2]);
  const entry = calls.received.get(id) || { main: null, screen: null };
  entry[which] = stream;
  calls.received.set(id, entry);
  if (event.transceiver.mid) receiving.set(event.transceiver.mid, { id, stream: which, kind: event.track.kind });
  changed('call');
}

/** Who is speaking: each received microphone's level, and ours. */
async function readSpeaking() {
  if (!pc) return;
  const report = await pc.getStats();
  /** @type {Set<number>} */
  const speaking = new Set();
  const mic = calls.local.stream?.getAudioTracks()[0]?.id;
  report.forEach((stats) => {
    if (stats.kind !== 'audio' || !(stats.audioLevel > SPEAKING_LEVEL)) return;
    if (stats.type === 'media-source' && calls.local.audio && stats.trackIdentifier === mic) speaking.add(0);
    if (stats.type === 'inbound-rtp') {
      const from = receiving.get(stats.mid);
      if (from?.stream === 'main') speaking.add(from.id);
    }
  });
  const same = speaking.size === calls.speaking.size && [...speaking].every((id) => calls.speaking.has(id));
  if (same) return;
  calls.speaking = speaking;
  changed('speaking');
}
