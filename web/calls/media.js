// What this tab sends in a call: the microphone, the camera and the shared
// screen, from the devices the person picked, within the server's limits.
// The tracks live in `calls.local`; peer.js puts them on its senders.

import { calls } from './state.js';

/** A camera as a call wants it: enough for a tile, light on the Wi-Fi. */
const CAMERA = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24, max: 30 } };

/**
 * The microphone's track, from the picked device.
 * @returns {Promise<MediaStreamTrack>}
 */
export async function openMic() {
  const audio = {
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
    ...(calls.local.mic ? { deviceId: { exact: calls.local.mic } } : {}),
  };
  const stream = await navigator.mediaDevices.getUserMedia({ audio });
  return stream.getAudioTracks()[0];
}

/**
 * The camera's track, from the picked device.
 * @returns {Promise<MediaStreamTrack>}
 */
export async function openCamera() {
  const video = { ...CAMERA, ...(calls.local.camera ? { deviceId: { exact: calls.local.camera } } : {}) };
  const stream = await navigator.mediaDevices.getUserMedia({ video });
  const track = stream.getVideoTracks()[0];
  track.contentHint = 'motion';
  return track;
}

/**
 * The screen (or window, or tab) the person picks, and its sound if the
 * browser offers it, at the server's frame rate. Text must stay sharp, so
 * the encoder is told the content is detail.
 * @returns {Promise<MediaStream>}
 */
export async function openScreen() {
  const fps = calls.limits?.screen_fps || 15;
  const stream = await navigator.mediaDevices.getDisplayMedia({
    video: { frameRate: { ideal: fps, max: fps } },
    audio: true,
  });
  for (const track of stream.getVideoTracks()) track.contentHint = 'detail';
  return stream;
}

/** The local stream (mic and camera), made on first use. */
export function localStream() {
  if (!calls.local.stream) calls.local.stream = new MediaStream();
  return calls.local.stream;
}

/**
 * Puts `track` in the local stream as its only track of its kind, stopping
 * the one it replaces.
 * @param {MediaStreamTrack | null} track
 * @param {'audio' | 'video'} kind
 */
export function setLocalTrack(track, kind) {
  const stream = localStream();
  for (const old of stream.getTracks()) {
    if (old.kind === kind) {
      old.stop();
      stream.removeTrack(old);
    }
  }
  if (track) stream.addTrack(track);
}

/** Stops everything this tab captures. */
export function stopAll() {
  for (const stream of [calls.local.stream, calls.local.screenStream]) {
    for (const track of stream?.getTracks() || []) track.stop();
  }
  calls.local.stream = null;
  calls.local.screenStream = null;
}

/** Lists the microphones and cameras (their names show once the browser allowed one). */
export async function listDevices() {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  calls.devices.mics = devices.filter((device) => device.kind === 'audioinput');
  calls.devices.cameras = devices.filter((device) => device.kind === 'videoinput');
}

/**
 * Why the browser would not give a device, as a catalog key.
 * @param {unknown} error
 * @param {'mic' | 'camera' | 'screen'} what
 */
export function deviceError(error, what) {
  const name = error instanceof Error ? error.name : '';
  const keys = DEVICE_ERRORS[what];
  if (name === 'NotAllowedError' || name === 'SecurityError') return keys.denied;
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return keys.missing;
  return keys.failed;
}

/** The words for each device's refusals, spelled out so the catalogs' check finds them. */
const DEVICE_ERRORS = {
  mic: { denied: 'calls.errors.mic_denied', missing: 'calls.errors.mic_missing', failed: 'calls.errors.mic_failed' },
  camera: {
    denied: 'calls.errors.camera_denied', missing: 'calls.errors.camera_missing', failed: 'calls.errors.camera_failed',
  },
  screen: {
    denied: 'calls.errors.screen_denied', missing: 'calls.errors.screen_missing', failed: 'calls.errors.screen_failed',
  },
};
