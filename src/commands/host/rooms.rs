//! The host in rooms: deleting any message (through the same log entry as
//! its author's delete, so every client and every resume sees it), and a
//! room's rules: slow mode, read-only, locked, closed, and how long its
//! messages are kept (`crate::retention` deletes the rest).

use super::view::post_event;
use crate::host::{RoomRules, rules_allowed, rules_frame};
use crate::hub::Outbound;
use crate::protocol::{ErrorCode, Frame, Keep, LOBBY, Refusal, SystemEvent};
use crate::session::Session;
use crate::store::{Entry, NewDelete, SYSTEM, Sender};

/// Longest slow mode: an hour.
const MAX_SLOW_SECONDS: u32 = 3600;

/// What a `rules` action changes; what is `None` stays.
pub struct RuleChange {
    pub slow: Option<u32>,
    pub read_only: Option<bool>,
    pub locked: Option<bool>,
    pub closed: Option<bool>,
    pub keep: Option<Keep>,
}

/// `delete`: any message in any room; a tombstone the host made stays.
pub fn delete(session: &Session, room: &str, target: u64) -> Result<(), Refusal> {
    let room = existing(session, room)?;
    log::info!("host: deleted message {target} of {room}");
    let sender = Sender {
        room,
        username: SYSTEM.to_owned(),
        user_id: None,
        cid: None,
        conn: session.id,
    };
    session.context.store.append(Entry::Delete(NewDelete {
        sender,
        target,
        by_host: true,
    }));
    Ok(())
}

/// `rules`: changes a room's rules and says so in the room.
pub fn rules(session: &Session, room: &str, change: RuleChange) -> Result<(), Refusal> {
    let room = existing(session, room)?;
    let host = &session.context.host;
    let old = host.room_rules(&room);
    let slow = change.slow.unwrap_or(old.slow);
    if slow > MAX_SLOW_SECONDS {
        return Err(Refusal::new(
            ErrorCode::BadRequest,
            format!("slow mode is 0 to {MAX_SLOW_SECONDS} seconds"),
        ));
    }
    let new = RoomRules {
        slow,
        read_only: change.read_only.unwrap_or(old.read_only),
        locked: change.locked.unwrap_or(old.locked),
        closed: change.closed.unwrap_or(old.closed),
        keep: change.keep.unwrap_or(old.keep),
    };
    if matches!(new.keep, Keep::Days(0) | Keep::Messages(0)) {
        return Err(Refusal::new(
            ErrorCode::BadRequest,
            "keep at least one day, or one message (or \"all\")",
        ));
    }
    if !rules_allowed(&room, &new) {
        return Err(Refusal::new(
            ErrorCode::BadRequest,
            "the lobby, where everyone is, cannot be locked or closed",
        ));
    }
    if new == old {
        return Ok(());
    }
    host.set_room_rules(&room, new);
    log::info!("host: {room} is now {new:?}");
    let context = &session.context;
    let frame = Frame::from(rules_frame(&room, new));
    context
        .hub
        .send(&context.rooms.audience(&room), Outbound::event(frame));
    let event = SystemEvent::Rules {
        slow: new.slow,
        read_only: new.read_only,
        locked: new.locked,
        closed: new.closed,
        keep: new.keep,
    };
    post_event(session, &room, event);
    Ok(())
}

/// The room, if it exists (any kind: the host may act in any room).
pub(super) fn existing(session: &Session, room: &str) -> Result<String, Refusal> {
    let room = room.trim();
    if room == LOBBY || session.context.rooms.name_of(room).is_some() {
        Ok(room.to_owned())
    } else {
        Err(Refusal::new(
            ErrorCode::NotFound,
            format!("there is no room {room}"),
        ))
    }
}
