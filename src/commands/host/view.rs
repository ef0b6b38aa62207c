//! What the host sees, sent to every host connection; and host actions as
//! they show in rooms: messages from `system` carrying a typed event.

use crate::audience::Audience;
use crate::hub::Outbound;
use crate::protocol::{
    HostBan, HostBot, HostMute, HostPin, HostRoom, HostView, LOBBY, ServerFrame, SystemEvent,
    encode,
};
use crate::session::{Context, Session};
use crate::store::{Entry, Kind, NewMessage};

/// Every room with its members and rules, and who is muted or banned.
/// Members are listed for private rooms and direct messages too, but
/// nothing of what is said there.
pub fn host_view(context: &Context) -> HostView {
    let host = &context.host;
    let rooms = context
        .rooms
        .every_room()
        .into_iter()
        .map(|room| {
            let rules = host.room_rules(&room.id);
            let pinned = host.pin_of(&room.id).map(|pin| {
                let (read, of) = context.rooms.read_count(&room.id, pin.seq);
                HostPin {
                    seq: pin.seq,
                    read,
                    of,
                }
            });
            let hands = host.hands_of(&room.id);
            let (members, online) = if room.id == LOBBY {
                (Vec::new(), Vec::new())
            } else {
                (
                    context.identity.names_of(&room.members),
                    context.hub.online_names(&room.members),
                )
            };
            HostRoom {
                name: if room.kind == Kind::Direct {
                    String::new()
                } else {
                    room.name
                },
                room: room.id,
                kind: room.kind.as_str(),
                members,
                online,
                slow: rules.slow,
                read_only: rules.read_only,
                locked: rules.locked,
                closed: rules.closed,
                keep: rules.keep,
                pinned,
                hands,
            }
        })
        .collect();
    let (mutes, bans) = host.mutes_and_bans();
    HostView {
        rooms,
        mutes: mutes
            .into_iter()
            .map(|mute| HostMute {
                username: mute.name,
                until: mute.until,
            })
            .collect(),
        bans: bans
            .into_iter()
            .map(|ban| HostBan {
                id: ban.id,
                username: ban.name,
                until: ban.until,
                reason: ban.reason,
                browsers: ban.browsers.len(),
            })
            .collect(),
        bots: host
            .bots()
            .into_iter()
            .map(|bot| HostBot {
                id: bot.id,
                name: bot.name,
                rooms: bot.rooms,
            })
            .collect(),
    }
}

/// Tells the hosts of a read mark that moved from `before` to `after` in
/// `room`, if it passed the room's pinned announcement: its read count
/// changed.
pub fn read_moved(context: &Context, room: &str, before: u64, after: u64) {
    if let Some(pin) = context.host.pin_of(room)
        && before < pin.seq
        && pin.seq <= after
    {
        show_hosts(context);
    }
}

/// Sends the host's view to every host connection.
pub fn show_hosts(context: &Context) {
    let hosts = context.host.host_connections();
    if hosts.is_empty() {
        return;
    }
    let view = host_view(context);
    let item = Outbound::event(encode(&ServerFrame::HostState(&view)));
    for conn in hosts {
        context.hub.send(&Audience::Connection(conn), item.clone());
    }
}

/// Shows `event` in `room`: a message from `system`, in the room's log like
/// any other, so history, a resume and an export have it too.
pub fn post_event(session: &Session, room: &str, event: SystemEvent) {
    let message = NewMessage::system(room, session.id, event);
    session.context.store.append(Entry::Message(message));
}
