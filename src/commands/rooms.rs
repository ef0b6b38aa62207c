//! Rooms: creating, joining, leaving, inviting, direct messages, read
//! marks, and the list of public rooms.
//!
//! Membership changes are announced as `room` frames to every member, so
//! each sees the new member list (and a newcomer the room).

use super::Reply;
use crate::audience::Audience;
use crate::hub::Outbound;
use crate::identity::new_secret;
use crate::ids::UserId;
use crate::protocol::{ErrorCode, PublicRoom, Refusal, ServerFrame, encode};
use crate::rooms::Membership;
use crate::session::{Session, announce_room, room_refusal};

/// `create_room`: the creator is its first member.
pub fn create(session: &mut Session, room: &str, private: bool) -> Reply {
    let user = session.owner()?;
    let created = session.context.rooms.create(&user, room, private);
    announce_members(session, created.map_err(room_refusal)?)
}

/// `join_room`: a public room, or a private one with an invitation or the
/// invite link's secret, unless the host locked or closed it.
pub fn join(session: &mut Session, room: &str, invite: Option<&str>) -> Reply {
    let user = session.owner()?;
    if !session.context.rooms.is_member(&user, room.trim()) {
        session.context.host.check_join(room.trim())?;
    }
    let joined = session.context.rooms.join(&user, room, invite);
    announce_members(session, joined.map_err(room_refusal)?)
}

/// `leave_room`: every tab of the leaver hears `room_left`; those who stay
/// see the shorter member list.
pub fn leave(session: &mut Session, room: &str) -> Reply {
    let user = session.owner()?;
    let context = &session.context;
    context.rooms.leave(&user, room).map_err(room_refusal)?;
    context.calls.member_left(room, &user);
    send_to(session, &user, encode(&ServerFrame::RoomLeft { room }));
    for member in context.rooms.members(room) {
        announce_room(context, room, &member);
    }
    Ok(None)
}

/// `invite`: the invitee hears `invited` (once, however often asked).
pub fn invite(session: &mut Session, room: &str, username: &str) -> Reply {
    let user = session.owner()?;
    if session.context.rooms.is_member(&user, room) {
        session.context.host.check_join(room)?;
    }
    let invitee = owned_user(session, username)?;
    let new = session
        .context
        .rooms
        .invite(&user, room, &invitee)
        .map_err(room_refusal)?;
    if new {
        let name = session.context.rooms.name_of(room).unwrap_or_default();
        let invited = ServerFrame::Invited {
            room,
            name: &name,
            by: &session.username,
        };
        send_to(session, &invitee, encode(&invited));
    }
    Ok(None)
}

/// `invite_link`: a fresh secret for the room's link; older links stop
/// working.
pub fn invite_link(session: &mut Session, room: &str) -> Reply {
    let user = session.owner()?;
    if session.context.rooms.is_member(&user, room) {
        session.context.host.check_join(room)?;
    }
    let secret = new_secret();
    session
        .context
        .rooms
        .invite_link(&user, room, &secret)
        .map_err(room_refusal)?;
    Ok(Some(encode(&ServerFrame::InviteLink {
        room,
        secret: &secret,
    })))
}

/// `dm`: opens (creating on first use) the direct-message room with an
/// owned name; both sides hear of it.
pub fn direct(session: &mut Session, username: &str) -> Reply {
    let user = session.owner()?;
    let peer = owned_user(session, username)?;
    if peer == user {
        return Err(Refusal::new(ErrorCode::Forbidden, "that is you").detail("self"));
    }
    let context = &session.context;
    let membership = context.rooms.direct(&user, &peer);
    for member in [&user, &peer] {
        announce_room(context, &membership.room, member);
    }
    Ok(None)
}

/// `read`: moves this user's read mark (never back, never past the end);
/// every tab of the user hears the new mark.
pub fn read(session: &mut Session, room: &str, seq: u64) -> Reply {
    let user = session.owner()?;
    let context = &session.context;
    let latest = context.store.latest_seq(room);
    let before = context
        .rooms
        .membership(room, &user)
        .map_or(0, |mine| mine.last_read);
    let mark = context
        .rooms
        .mark_read(&user, room, seq.min(latest))
        .map_err(room_refusal)?;
    super::host::read_moved(context, room, before, mark);
    send_to(session, &user, read_frame(session, &user, room, mark));
    Ok(None)
}

/// The `read` frame telling `user`'s tabs its mark in `room` is `mark`.
pub(super) fn read_frame(session: &Session, user: &UserId, room: &str, mark: u64) -> String {
    let direct = room.starts_with("dm:");
    let (unread, mentions) = session
        .context
        .store
        .unread(room, mark, Some(&**user), direct);
    encode(&ServerFrame::Read {
        room,
        seq: mark,
        unread,
        mentions,
    })
}

/// `list_rooms`: the public rooms and how many belong to each; not those
/// the host closed.
pub fn list(session: &mut Session) -> Reply {
    let host = &session.context.host;
    let mut rooms = session.context.rooms.public_rooms();
    rooms.retain(|(room, _)| !host.room_rules(room).closed);
    Ok(Some(encode(&ServerFrame::RoomList {
        rooms: rooms
            .iter()
            .map(|(room, members)| PublicRoom {
                room,
                members: *members,
            })
            .collect(),
    })))
}

/// Every member sees the room's new member list.
fn announce_members(session: &Session, membership: Membership) -> Reply {
    for member in &membership.members {
        announce_room(&session.context, &membership.room, member);
    }
    Ok(None)
}

/// The user who owns `name`.
fn owned_user(session: &Session, name: &str) -> Result<UserId, Refusal> {
    let name = name.trim();
    session.context.identity.user_of(name).ok_or_else(|| {
        Refusal::new(
            ErrorCode::NotFound,
            format!("nobody owns the name \"{name}\""),
        )
        .detail("no_owner")
        .param("name", name)
    })
}

/// Sends `frame` to every tab of `user`.
pub(super) fn send_to(session: &Session, user: &UserId, frame: String) {
    let item = Outbound::event(frame);
    session.context.hub.send(&Audience::user(user), item);
}
