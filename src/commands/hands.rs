//! Raising a hand: a queue per room, for a classroom. Anyone who may read
//! a room raises and lowers their own hand there; the room hears the queue
//! in order, and the host lowers hands too (`commands/host/announce.rs`).

use super::Reply;
use super::host::send_hands;
use crate::session::Session;

/// `hand`: raises or lowers this user's hand in the room.
pub fn hand(session: &mut Session, up: bool, room: Option<String>) -> Reply {
    let room = session.room_for(room)?;
    if let Some(queue) = session.context.host.hand(&room, &session.username, up) {
        send_hands(session, &room, &queue);
    }
    Ok(None)
}
