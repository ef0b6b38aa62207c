// The call on the page, drawn from `calls` (calls/state.js): the call
// buttons in a room's head; the stage above the messages (a grid of tiles,
// who is speaking, a shared screen large with the people beside it, the
// controls and the device picker); what it says when a call is going on
// that we are not in, when ours ended, or when this page cannot have a
// camera at all; a slim bar to get back to our call from another room; and
// the ring of a direct message's call. The parts are made once, in the
// page's language, and filled on every render. Buttons carry `data-call`;
// calls/actions.js acts on them.

import { LOBBY } from '../protocol.js';
import { state } from '../state.js';
import { activeRoom, roomFor, roomLabel } from '../rooms.js';
import { t } from '../i18n.js';
import { els, initial, nameHue, renderList, setText, svgIcon } from '../dom.js';
import { calls, callIn, canShareScreen, inCall } from '../calls/state.js';

/** @typedef {import('../calls/state.js').Participant} Participant */

const ICON = {
  phone: 'M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1Z',
  video: 'M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11Z',
  videoOff: 'M21 6.5l-4 4V7a1 1 0 0 0-1-1H9.8L21 17.2ZM3.3 2 2 3.3 4.7 6H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12c.2 0 .4-.1.5-.2l3.2 3.2 1.3-1.3Z',
  mic: 'M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3Zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1A7 7 0 0 0 19 11Z',
  micOff: 'M19 11h-1.7c0 .74-.16 1.43-.43 2.05l1.23 1.23A6.9 6.9 0 0 0 19 11Zm-4 .16V5a3 3 0 0 0-6 0v.18ZM4.27 3 3 4.27l6 6V11a3 3 0 0 0 4.02 2.83l1.66 1.66A5 5 0 0 1 7 11H5a7 7 0 0 0 6 6.9V21h2v-3.1a6.9 6.9 0 0 0 2.54-.9L19.73 21 21 19.73Z',
  screen: 'M20 18a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2H4a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2H0v2h24v-2Zm-8-3.5V12H8l4-4 4 4h-4v2.5Z',
  gear: 'M19.4 13a7.5 7.5 0 0 0 0-2l2.1-1.6-2-3.5-2.5 1a7.4 7.4 0 0 0-1.7-1L15 3h-4l-.4 2.6a7.4 7.4 0 0 0-1.7 1l-2.5-1-2 3.5L6.6 11a7.5 7.5 0 0 0 0 2l-2.1 1.6 2 3.5 2.5-1a7.4 7.4 0 0 0 1.7 1L11 21h4l.4-2.6a7.4 7.4 0 0 0 1.7-1l2.5 1 2-3.5ZM13 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7Z',
  hangUp: 'M12 9c-1.6 0-3.15.25-4.6.72v3.1a1 1 0 0 1-.56.9 11.5 11.5 0 0 0-2.66 1.85 1 1 0 0 1-1.4 0L.3 13.1a1 1 0 0 1 0-1.42C3.3 8.8 7.5 7 12 7s8.7 1.8 11.7 4.7a1 1 0 0 1 0 1.41l-2.48 2.48a1 1 0 0 1-1.4 0 11.3 11.3 0 0 0-2.67-1.85 1 1 0 0 1-.56-.9v-3.1A15 15 0 0 0 12 9Z',
};

/** @param {string} path @param {number} [size] */
function icon(path, size = 20) {
  const svg = svgIcon(path);
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  return svg;
}

/**
 * A button that calls/actions.js acts on.
 * @param {string} action @param {string} className @param {string} [path]
 */
function button(action, className, path) {
  const element = document.createElement('button');
  element.type = 'button';
  element.className = className;
  element.dataset.call = action;
  if (path) element.append(icon(path));
  return element;
}

/** @param {string} tag @param {string} className */
function make(tag, className) {
  const element = document.createElement(tag);
  element.className = className;
  return element;
}

/** The parts, made on the first render. @type {ReturnType<typeof mount> | null} */
let ui = null;

function mount() {
  const head = make('div', 'call-buttons');
  const voice = button('voice', 'icon-button call-start', ICON.phone);
  const video = button('video', 'icon-button call-start', ICON.video);
  const join = button('join', 'button small call-join', ICON.phone);
  const joinText = document.createElement('span');
  join.append(joinText);
  head.append(voice, video, join);
  document.querySelector('.room-actions')?.prepend(head);

  const stage = make('section', 'call-stage');
  stage.id = 'call';
  const status = make('p', 'call-status');
  status.setAttribute('role', 'status');
  // The shared screen (the presenter view), and a tile per person beside it.
  const body = make('div', 'call-body');
  const screens = make('ul', 'call-screens');
  const grid = make('ul', 'call-grid');
  body.append(screens, grid);
  const notice = make('p', 'call-notice');
  notice.setAttribute('role', 'alert');
  const controls = make('div', 'call-controls');
  const mic = button('mic', 'call-control', ICON.mic);
  const camera = button('camera', 'call-control', ICON.video);
  const screen = button('screen', 'call-control', ICON.screen);
  const devices = button('devices', 'call-control', ICON.gear);
  devices.setAttribute('aria-haspopup', 'true');
  const leave = button('leave', 'call-control call-leave', ICON.hangUp);
  const phoneNote = make('p', 'call-phone-note');
  controls.append(mic, camera, screen, devices, leave);
  const picker = make('div', 'call-devices');
  const micLabel = make('label', 'call-device');
  const micSelect = document.createElement('select');
  micSelect.dataset.callDevice = 'mic';
  const micText = document.createElement('span');
  micLabel.append(micText, micSelect);
  const cameraLabel = make('label', 'call-device');
  const cameraSelect = document.createElement('select');
  cameraSelect.dataset.callDevice = 'camera';
  const cameraText = document.createElement('span');
  cameraLabel.append(cameraText, cameraSelect);
  picker.append(micLabel, cameraLabel);

  // What the stage says instead of a call: ended, insecure, or one to join.
  const card = make('div', 'call-card');
  const cardTitle = make('p', 'call-card-title');
  const cardText = make('p', 'call-card-text');
  const cardLink = document.createElement('a');
  cardLink.className = 'call-card-link';
  const cardActions = make('div', 'call-card-actions');
  const again = button('again', 'button primary');
  const joinHere = button('join', 'button primary');
  const close = button('dismiss', 'button');
  cardActions.append(again, joinHere, close);
  card.append(cardTitle, cardText, cardLink, cardActions);

  stage.append(status, body, notice, controls, phoneNote, picker, card);
  els.messages.before(stage);

  const elsewhere = make('div', 'call-elsewhere');
  const elsewhereText = document.createElement('span');
  const back = button('back', 'link-button');
  const elsewhereLeave = button('leave', 'button small danger');
  elsewhere.append(icon(ICON.phone, 16), elsewhereText, back, elsewhereLeave);
  stage.before(elsewhere);

  const ring = make('div', 'call-ring');
  ring.setAttribute('role', 'alertdialog');
  ring.setAttribute('aria-live', 'assertive');
  const ringAvatar = make('span', 'avatar call-ring-avatar');
  const ringText = make('p', 'call-ring-text');
  const ringActions = make('div', 'call-ring-actions');
  const decline = button('decline', 'button danger', ICON.hangUp);
  const declineText = document.createElement('span');
  decline.append(declineText);
  const accept = button('accept', 'button accept', ICON.phone);
  const acceptText = document.createElement('span');
  accept.append(acceptText);
  ringActions.append(decline, accept);
  ring.append(ringAvatar, ringText, ringActions);
  ring.setAttribute('aria-labelledby', 'call-ring-text');
  ringText.id = 'call-ring-text';
  els.app.append(ring);

  return {
    head, voice, video, join, joinText, stage, status, body, screens, grid, notice, controls, mic, camera, screen,
    devices, leave, phoneNote, picker, micText, micSelect, cameraText, cameraSelect, card, cardTitle,
    cardText, cardLink, cardActions, again, joinHere, close, elsewhere, elsewhereText, back,
    elsewhereLeave, ring, ringAvatar, ringText, decline, declineText, accept, acceptText,
  };
}

export function renderCall() {
  if (state.screen !== 'app') return;
  ui = ui || mount();
  const room = activeRoom();
  renderHead(ui, room);
  renderStage(ui, room);
  renderElsewhere(ui, room);
  renderRing(ui);
}

/** @param {NonNullable<typeof ui>} ui @param {import('../state.js').Room} room */
function renderHead(ui, room) {
  const offered = calls.limits !== null && room.name !== LOBBY;
  const going = callIn(room.name);
  const here = inCall(room.name);
  ui.head.hidden = !offered || here;
  ui.voice.hidden = Boolean(going);
  ui.video.hidden = Boolean(going);
  ui.join.hidden = !going;
  const ready = state.connection === 'connected';
  for (const control of [ui.voice, ui.video, ui.join]) control.disabled = !ready;
  label(ui.voice, t('calls.start_voice'));
  label(ui.video, t('calls.start_video'));
  setText(ui.joinText, t('calls.join_count', { count: going?.participants.length || 0 }));
}

/** Sets a control's accessible name and tooltip. @param {HTMLElement} element @param {string} text */
function label(element, text) {
  if (element.getAttribute('aria-label') !== text) {
    element.setAttribute('aria-label', text);
    element.title = text;
  }
}

/** @param {NonNullable<typeof ui>} ui @param {import('../state.js').Room} room */
function renderStage(ui, room) {
  const here = inCall(room.name);
  const going = callIn(room.name);
  const ended = calls.ended?.room === room.name ? calls.ended : null;
  const showCard = !here && (ended !== null || (going !== undefined && calls.limits !== null));
  ui.stage.hidden = !here && !showCard;
  ui.stage.classList.toggle('in-call', here);
  ui.stage.setAttribute('aria-label', t('calls.stage_label', { room: roomLabel(room) }));
  for (const part of [ui.status, ui.body, ui.controls, ui.picker]) part.hidden = !here;
  ui.card.hidden = here || !showCard;
  const notice = calls.notice && (here || ended) ? t(calls.notice.key, calls.notice.params) : '';
  ui.notice.hidden = notice === '';
  setText(ui.notice, notice);
  ui.phoneNote.hidden = !here || canShareScreen();
  setText(ui.phoneNote, t('calls.phone_no_screen'));
  if (here && going) renderInCall(ui, room, going);
  else if (here) renderTiles(ui, []);
  if (!here && ended) renderEnded(ui, room, ended);
  else if (!here && going) renderJoinCard(ui, going);
}

/**
 * Our call: status, tiles, controls.
 * @param {NonNullable<typeof ui>} ui @param {import('../state.js').Room} room
 * @param {import('../calls/state.js').CallFrame} call
 */
function renderInCall(ui, room, call) {
  const mine = calls.mine;
  const others = call.participants.filter((p) => p.id !== mine?.id);
  let status = t('calls.status.in_call', { count: call.participants.length });
  if (mine?.phase === 'joining' || mine?.phase === 'connecting') status = t('calls.status.connecting');
  if (mine?.phase === 'reconnecting') status = t('calls.status.reconnecting');
  if (mine?.phase !== 'joining' && others.length === 0) {
    status = room.kind === 'dm' ? t('calls.status.calling', { name: room.peer }) : t('calls.status.waiting');
  }
  setText(ui.status, status);
  renderTiles(ui, call.participants);
  const { local } = calls;
  control(ui.mic, local.audio ? ICON.mic : ICON.micOff, t(local.audio ? 'calls.mute' : 'calls.unmute'), !local.audio);
  control(ui.camera, local.video ? ICON.video : ICON.videoOff,
    t(local.video ? 'calls.camera_off' : 'calls.camera_on'), !local.video);
  const presenter = call.participants.find((p) => p.screen && p.id !== mine?.id);
  control(ui.screen, ICON.screen, t(local.screen ? 'calls.stop_sharing' : 'calls.share_screen'), false);
  ui.screen.setAttribute('aria-pressed', String(local.screen));
  ui.screen.hidden = !canShareScreen();
  ui.screen.disabled = presenter !== undefined && !local.screen;
  if (ui.screen.disabled) label(ui.screen, t('calls.someone_presenting', { name: presenter?.username || '' }));
  control(ui.devices, ICON.gear, t('calls.devices'), false);
  ui.devices.setAttribute('aria-expanded', String(calls.picking));
  control(ui.leave, ICON.hangUp, t('calls.leave'), false);
  ui.picker.hidden = !calls.picking;
  setText(ui.micText, t('calls.microphone'));
  setText(ui.cameraText, t('calls.camera'));
  fillDevices(ui.micSelect, calls.devices.mics, calls.local.mic, 'calls.default_mic');
  fillDevices(ui.cameraSelect, calls.devices.cameras, calls.local.camera, 'calls.default_camera');
}

/**
 * A control's icon, words and state.
 * @param {HTMLButtonElement} element @param {string} path @param {string} text @param {boolean} off
 */
function control(element, path, text, off) {
  label(element, text);
  element.classList.toggle('off', off);
  if (element.dataset.icon !== path) {
    element.dataset.icon = path;
    element.replaceChildren(icon(path));
  }
}

/**
 * @param {HTMLSelectElement} select @param {MediaDeviceInfo[]} devices
 * @param {string} chosen @param {string} fallbackKey
 */
function fillDevices(select, devices, chosen, fallbackKey) {
  const options = [['', t(fallbackKey)], ...devices.map((device, at) => [
    device.deviceId, device.label || t('calls.device_number', { count: at + 1 }),
  ])];
  const shown = JSON.stringify(options);
  if (select.dataset.shown !== shown) {
    select.dataset.shown = shown;
    select.replaceChildren(...options.map(([value, text]) => {
      const option = document.createElement('option');
      option.value = value;
      option.textContent = text;
      return option;
    }));
  }
  if (select.value !== chosen) select.value = chosen;
}

/**
 * One tile per participant; with a screen shared, it large, and the
 * people beside it (the presenter view).
 * @param {NonNullable<typeof ui>} ui @param {Participant[]} participants
 */
function renderTiles(ui, participants) {
  const mine = calls.mine;
  const sharing = participants.filter((p) => (p.id === mine?.id ? calls.local.screen : p.screen));
  ui.stage.classList.toggle('presenting', sharing.length > 0);
  ui.screens.hidden = sharing.length === 0;
  const byId = new Map(participants.map((p) => [p.id, p]));
  /** @param {HTMLElement} tile @param {string} key */
  const fill = (tile, key) => {
    const participant = byId.get(Number(key.slice(1)));
    if (participant) fillTile(tile, participant, key.startsWith('s'));
  };
  renderList(ui.screens, sharing.map((p) => `s${p.id}`), makeTile, fill);
  renderList(ui.grid, participants.map((p) => `p${p.id}`), makeTile, fill);
}

/** @param {string} key */
function makeTile(key) {
  const tile = make('li', key.startsWith('s') ? 'tile screen' : 'tile');
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true;
  const avatar = make('span', 'avatar tile-avatar');
  avatar.setAttribute('aria-hidden', 'true');
  const name = make('span', 'tile-name');
  const muted = make('span', 'tile-muted');
  muted.append(icon(ICON.micOff, 16));
  const audio = document.createElement('audio');
  audio.autoplay = true;
  tile.append(video, avatar, name, muted, audio);
  return tile;
}

/**
 * @param {HTMLElement} tile @param {Participant} participant @param {boolean} screen
 */
function fillTile(tile, participant, screen) {
  const me = participant.id === calls.mine?.id;
  const [video, avatar, name, muted, audio] = /** @type {[HTMLVideoElement, HTMLElement, HTMLElement, HTMLElement, HTMLAudioElement]} */ (
    [...tile.children]);
  const received = calls.received.get(participant.id);
  /** @type {MediaStream | null} */
  let picture;
  /** @type {MediaStream | null} */
  let sound = null;
  let showsVideo;
  if (screen) {
    picture = me ? calls.local.screenStream : received?.screen || null;
    // A shared tab's or game's sound plays from the screen's stream.
    sound = me ? null : picture;
    showsVideo = picture !== null;
    setText(name, me ? t('calls.you_present') : t('calls.presenting', { name: participant.username }));
  } else {
    picture = me ? calls.local.stream : received?.main || null;
    sound = me ? null : picture;
    showsVideo = picture !== null && (me ? calls.local.video : participant.video);
    setText(name, me ? t('calls.you', { name: participant.username }) : participant.username);
  }
  if (video.srcObject !== picture) video.srcObject = picture;
  if (audio.srcObject !== sound) audio.srcObject = sound;
  video.hidden = !showsVideo;
  video.classList.toggle('mirrored', me && !screen);
  avatar.hidden = showsVideo;
  setText(avatar, initial(participant.username));
  tile.style.setProperty('--hue', String(nameHue(participant.username)));
  const audible = me ? calls.local.audio : participant.audio;
  muted.hidden = screen || audible;
  muted.setAttribute('aria-label', t('calls.mic_off_of', { name: participant.username }));
  muted.setAttribute('role', 'img');
  const speaking = !screen && calls.speaking.has(me ? 0 : participant.id);
  tile.classList.toggle('speaking', speaking);
  tile.dataset.participant = String(participant.id);
  tile.dataset.username = participant.username;
}

/**
 * What the stage says once our call ended (or could not start here).
 * @param {NonNullable<typeof ui>} ui @param {import('../state.js').Room} room
 * @param {import('../calls/state.js').Ended} ended
 */
function renderEnded(ui, room, ended) {
  ui.card.dataset.reason = ended.reason;
  const insecure = ended.reason === 'insecure';
  setText(ui.cardTitle, t(insecure ? 'calls.insecure.title' : 'calls.ended.title'));
  setText(ui.cardText, insecure
    ? t(calls.trustUrl ? 'calls.insecure.body' : 'calls.insecure.no_tls')
    : t(`calls.ended.${ended.reason}`, { name: ended.name || room.peer || '' }));
  ui.cardLink.hidden = !(insecure && calls.trustUrl);
  if (calls.trustUrl && ui.cardLink.href !== calls.trustUrl) ui.cardLink.href = calls.trustUrl;
  setText(ui.cardLink, t('calls.insecure.link'));
  const going = callIn(room.name);
  ui.again.hidden = insecure || going !== undefined || state.connection !== 'connected';
  setText(ui.again, t(room.kind === 'dm' ? 'calls.call_again' : 'calls.start_again'));
  ui.joinHere.hidden = insecure || going === undefined || state.connection !== 'connected';
  setText(ui.joinHere, t('calls.rejoin'));
  ui.close.hidden = false;
  setText(ui.close, t('calls.close'));
}

/**
 * A call going on in this room that this tab is not in.
 * @param {NonNullable<typeof ui>} ui @param {import('../calls/state.js').CallFrame} call
 */
function renderJoinCard(ui, call) {
  ui.card.dataset.reason = 'going';
  const names = call.participants.map((p) => p.username);
  const meThere = names.includes(state.me);
  setText(ui.cardTitle, t('calls.going.title'));
  let who = t('calls.going.one', { name: names[0] || '' });
  if (names.length > 1) who = t('calls.going.many', { name: names[0], count: names.length - 1 });
  setText(ui.cardText, meThere ? t('calls.going.elsewhere') : who);
  ui.cardLink.hidden = true;
  ui.again.hidden = true;
  ui.joinHere.hidden = state.connection !== 'connected';
  setText(ui.joinHere, t(meThere ? 'calls.join_here' : 'calls.join'));
  ui.close.hidden = true;
}

/** The bar back to our call, from another room. @param {NonNullable<typeof ui>} ui @param {import('../state.js').Room} room */
function renderElsewhere(ui, room) {
  const mine = calls.mine;
  const away = mine !== null && mine.room !== room.name;
  ui.elsewhere.hidden = !away;
  if (!away || !mine) return;
  const where = roomFor(mine.room);
  setText(ui.elsewhereText, where.kind === 'dm'
    ? t('calls.elsewhere.dm', { name: where.peer })
    : t('calls.elsewhere.room', { room: roomLabel(where) }));
  setText(ui.back, t('calls.elsewhere.back'));
  setText(ui.elsewhereLeave, t('calls.leave'));
}

/** A direct message's call ringing here. @param {NonNullable<typeof ui>} ui */
function renderRing(ui) {
  const room = calls.ringing;
  ui.ring.hidden = room === '';
  if (!room) return;
  const caller = callIn(room)?.started_by || roomFor(room).peer;
  setText(ui.ringText, t('calls.ring.text', { name: caller }));
  setText(ui.ringAvatar, initial(caller));
  ui.ringAvatar.style.setProperty('--hue', String(nameHue(caller)));
  setText(ui.declineText, t('calls.ring.decline'));
  setText(ui.acceptText, t('calls.ring.accept'));
}
