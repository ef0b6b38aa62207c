// One handler per server frame, by `type`, one file each (as thelounge's
// client/js/socket-events/). Each changes the state and calls `changed()`;
// none touches the page: the renderers do that. (`delete` is a reserved
// word, so its handler is `delete_`.)

import { welcome } from './welcome.js';
import { history } from './history.js';
import { message } from './message.js';
import { edit } from './edit.js';
import { delete_ } from './delete.js';
import { react } from './react.js';
import { join } from './join.js';
import { leave } from './leave.js';
import { presence } from './presence.js';
import { rename } from './rename.js';
import { typing } from './typing.js';
import { room } from './room.js';
import { room_left } from './room_left.js';
import { invited } from './invited.js';
import { invite_link } from './invite_link.js';
import { read } from './read.js';
import { room_list } from './room_list.js';
import { roster } from './roster.js';
import { online } from './online.js';
import { who } from './who.js';
import { transfer_code } from './transfer_code.js';
import { pong } from './pong.js';
import { error } from './error.js';
import { search_results } from './search_results.js';
import { call, call_joined, call_left, call_offer, call_answer, call_declined } from './call.js';
import { host_state } from './host_state.js';
import { rules } from './rules.js';
import { removed } from './removed.js';
import { pinned } from './pinned.js';
import { unpinned } from './unpinned.js';
import { hands } from './hands.js';
import { expired } from './expired.js';
import { event } from './event.js';
import { bot_token } from './bot_token.js';

/** @type {Record<string, (frame: any) => void>} */
export const handlers = {
  welcome, history, message, edit, delete: delete_, react, join, leave, presence, rename, typing,
  room, room_left, invited, invite_link, read, room_list, roster, online, who, transfer_code, pong, error,
  search_results, host_state, rules, removed, pinned, unpinned, hands, expired, event, bot_token,
  call, call_joined, call_left, call_offer, call_answer, call_declined,
};
