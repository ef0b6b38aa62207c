//! What a member hears about their rooms: per-room notification settings,
//! and marking every room read at once.
//!
//! Both are kept on the server and announced to every tab of the user, so
//! a setting changed on the phone holds on the laptop too.

use super::Reply;
use super::rooms::{read_frame, send_to};
use crate::protocol::{ErrorCode, Refusal};
use crate::session::{Session, announce_room, room_refusal};
use crate::store::Notify;

/// `room_settings`: every tab of the user hears the room with its new
/// settings.
pub fn settings(
    session: &mut Session,
    room: &str,
    muted: Option<bool>,
    notify: Option<&str>,
) -> Reply {
    let user = session.owner()?;
    let notify = notify
        .map(|text| {
            Notify::parse(text).ok_or_else(|| {
                Refusal::new(
                    ErrorCode::BadRequest,
                    "notify is \"all\", \"mentions\" or \"nothing\"",
                )
                .detail("bad_notify")
            })
        })
        .transpose()?;
    let context = &session.context;
    context
        .rooms
        .set_settings(&user, room, muted, notify)
        .map_err(room_refusal)?;
    announce_room(context, room, &user);
    Ok(None)
}

/// `read_all`: each room with unread messages is marked read to its latest
/// message; every tab of the user hears a `read` frame per room that moved.
pub fn read_all(session: &mut Session) -> Reply {
    let user = session.owner()?;
    for membership in session.context.rooms.memberships(&user) {
        let latest = session.context.store.latest_seq(&membership.room);
        if latest <= membership.last_read {
            continue;
        }
        let mark = session
            .context
            .rooms
            .mark_read(&user, &membership.room, latest)
            .map_err(room_refusal)?;
        super::host::read_moved(
            &session.context,
            &membership.room,
            membership.last_read,
            mark,
        );
        let frame = read_frame(session, &user, &membership.room, mark);
        send_to(session, &user, frame);
    }
    Ok(None)
}
