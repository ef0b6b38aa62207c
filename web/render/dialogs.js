// The screens and dialogs: the access-key prompt, the join form, the rooms
// dialog (create a room, the public rooms), the invite dialog (by name,
// or a link) and the lightbox (a picture, whole).

import { state } from '../state.js';
import { activeRoom, roomLabel } from '../rooms.js';
import { els, plural, setText } from '../dom.js';

export function renderDialogs() {
  const { forms, screen } = state;
  els.keyGate.hidden = screen !== 'key';
  els.join.hidden = screen !== 'join';
  els.app.hidden = screen !== 'app';
  setText(els.keyError, forms.keyError);
  els.keyInput.setAttribute('aria-invalid', String(forms.keyError !== ''));
  setText(els.joinError, forms.joinError);
  els.joinName.setAttribute('aria-invalid', String(forms.joinError !== ''));
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
  els.lightboxDownload.setAttribute('aria-label', `Download ${shown.name}`);
}

function renderRoomDialog() {
  const { createError } = state.forms;
  setText(els.createError, createError);
  if (createError) els.createName.setAttribute('aria-invalid', 'true');
  else els.createName.removeAttribute('aria-invalid');
  const rooms = state.publicRooms || [];
  const shown = JSON.stringify([rooms, rooms.map(({ room }) => state.rooms.has(room))]);
  if (els.publicList.dataset.shown !== shown) {
    els.publicList.dataset.shown = shown;
    els.publicList.replaceChildren(...rooms.map(({ room, members }) => publicRoomItem(room, members)));
  }
  els.publicEmpty.hidden = rooms.length > 0;
  setText(els.publicEmpty, state.publicRooms === null ? 'Looking for rooms…'
    : 'No public rooms yet. Create one above.');
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
  count.textContent = plural(members, 'member');
  label.append(name, ' ', count);
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'button small';
  const verb = state.rooms.has(room) ? 'Open' : 'Join';
  button.textContent = verb;
  button.dataset.join = room;
  button.setAttribute('aria-label', `${verb} #${room}`);
  item.append(label, button);
  return item;
}

function renderInviteDialog() {
  const { forms } = state;
  setText(els.inviteTitle, `Invite people to #${roomLabel(activeRoom())}`);
  setText(els.inviteStatus, forms.inviteStatus);
  els.inviteStatus.classList.toggle('error', forms.inviteError);
  els.linkBox.hidden = forms.link === '';
  if (els.linkInput.value !== forms.link) els.linkInput.value = forms.link;
  setText(els.linkStatus, forms.linkStatus);
  setText(els.linkMake, forms.link ? 'Make a new link' : 'Make an invite link');
}
