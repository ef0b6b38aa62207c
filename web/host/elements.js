// The host's elements in the page: the top bar's button, the host's
// dialog, the line a removal shows, and the room's rules above the
// composer (see index.html).

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

export const hostEls = {
  open: byId('host-open'),
  dialog: /** @type {HTMLDialogElement} */ (byId('host-dialog')),
  people: /** @type {HTMLFormElement} */ (byId('host-people')),
  name: /** @type {HTMLInputElement} */ (byId('host-name')),
  names: byId('host-names'),
  reason: /** @type {HTMLInputElement} */ (byId('host-reason')),
  duration: /** @type {HTMLSelectElement} */ (byId('host-duration')),
  status: byId('host-status'),
  mutes: byId('host-mutes'),
  bans: byId('host-bans'),
  rooms: byId('host-rooms'),
  removed: byId('host-removed'),
  roomRules: byId('room-rules'),
  announce: /** @type {HTMLFormElement} */ (byId('host-announce')),
  announceRoom: /** @type {HTMLSelectElement} */ (byId('host-announce-room')),
  announceText: /** @type {HTMLTextAreaElement} */ (byId('host-announce-text')),
  pins: byId('pins'),
  hands: byId('hands'),
  handsList: byId('hands-list'),
  handToggle: byId('hand-toggle'),
  handToggleText: byId('hand-toggle-text'),
  exportForm: /** @type {HTMLFormElement} */ (byId('host-export')),
  exportRoom: /** @type {HTMLSelectElement} */ (byId('host-export-room')),
  exportFormat: /** @type {HTMLSelectElement} */ (byId('host-export-format')),
  myArchive: byId('my-archive'),
  eventBar: byId('event-bar'),
  eventSection: byId('host-event'),
  endEvent: byId('host-end-event'),
  eventOver: /** @type {HTMLDialogElement} */ (byId('event-over')),
  eventOverText: byId('event-over-text'),
  bots: /** @type {HTMLFormElement} */ (byId('host-bots')),
  botName: /** @type {HTMLInputElement} */ (byId('host-bot-name')),
  botRooms: byId('host-bot-rooms'),
  botStatus: byId('host-bot-status'),
  botMade: byId('host-bot-made'),
  botMadeText: byId('host-bot-made-text'),
  botToken: /** @type {HTMLInputElement} */ (byId('host-bot-token')),
  botCurl: /** @type {HTMLTextAreaElement} */ (byId('host-bot-curl')),
  botList: byId('host-bot-list'),
};
