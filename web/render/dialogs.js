// The screens and dialogs: the access-key prompt, the join form, the rooms
// dialog (create a room, the public rooms), the invite dialog (by name,
// or a link) and the lightbox (a picture, whole).

import { state } from '../state.js';
import { currentLanguage, t } from '../i18n.js';
import { activeRoom, roomLabel } from '../rooms.js';
import { els, setText } from '../dom.js';

/** @param {import('../i18n.js').Phrase | null} said */
const say = (said) => (said ? t(said) : '');

export function renderDialogs() {
  const { forms, screen } = state;
  els.keyGate.hidden = screen !== 'key';
  els.join.hidden = screen !== 'join';
  els.app.hidden = screen !== 'app';
  setText(els.keyError, say(forms.keyError));
  els.keyInput.setAttribute('aria-invalid', String(forms.keyError !== null));
  setText(els.joinError, say(forms.joinError));
  els.joinName.setAttribute('aria-invalid', String(forms.joinError !== null));
  renderRoomDialog();
  renderInviteDialog();
  renderLightbox();
}

function renderLightbox() {
  const shown = state.lightbox;
  if (!shown) return;
  setText(els.lightboxName, shown.name);
  if (els.lightboxImage.getAttribute('src') !== shown.url) {
    els.lightboxImage.src = shown.url;
    els.lightboxImage.alt = shown.name;
    // Its space is known before it loads.
    els.lightboxImage.width = shown.width;
    els.lightboxImage.height = shown.height;
  }
  els.lightboxDownload.href = shown.url;
  els.lightboxDownload.download = shown.name;
  els.lightboxDownload.setAttribute('aria-label', t('files.download_named', { name: shown.name }));
}

function renderRoomDialog() {
  const { createError } = state.forms;
  setText(els.createError, say(createError));
  if (createError) els.createName.setAttribute('aria-invalid', 'true');
  else els.createName.removeAttribute('aria-invalid');
  const rooms = state.publicRooms || [];
  const shown = JSON.stringify([rooms, rooms.map(({ room }) => state.rooms.has(room)), currentLanguage()]);
  if (els.publicList.dataset.shown !== shown) {
    els.publicList.dataset.shown = shown;
    els.publicList.replaceChildren(...rooms.map(({ room, members }) => publicRoomItem(room, members)));
  }
  els.publicEmpty.hidden = rooms.length > 0;
  setText(els.publicEmpty, state.publicRooms === null ? t('rooms.looking') : t('rooms.none'));
}

/** @param {string} room @param {number} members */
function publicRoomItem(room, members) {
  const item = document.createElement('li');
  const label = document.createElement('span');
  label.className = 'public-room';
  const name = document.createElement('strong');
  name.textContent = `#${room}`;
  const count = document.createElement('span');
  count.className = 'muted';
  count.textContent = t('rooms.members', { count: members });
  label.append(name, ' ', count);
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'button small';
  const open = state.rooms.has(room);
  button.textContent = open ? t('rooms.open') : t('rooms.join');
  button.dataset.join = room;
  button.setAttribute('aria-label', t(open ? 'rooms.open_room' : 'rooms.join_room', { room: `#${room}` }));
  item.append(label, button);
  return item;
}

function renderInviteDialog() {
  const { forms } = state;
  setText(els.inviteTitle, t('invite.title', { room: `#${roomLabel(activeRoom())}` }));
  setText(els.inviteStatus, say(forms.inviteStatus));
  els.inviteStatus.classList.toggle('error', forms.inviteError);
  els.linkBox.hidden = forms.link === '';
  if (els.linkInput.value !== forms.link) els.linkInput.value = forms.link;
  setText(els.linkStatus, say(forms.linkStatus));
  setText(els.linkMake, forms.link ? t('invite.make_new_link') : t('invite.make_link'));
}
