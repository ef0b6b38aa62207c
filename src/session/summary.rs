//! Rooms as one member sees them: what `welcome` lists and `room` frames
//! carry.

use crate::audience::Audience;
use crate::hub::Outbound;
use crate::ids::UserId;
use crate::protocol::{Frame, LOBBY, RoomSummary, ServerFrame, encode};
use crate::rooms::Membership;
use crate::store::Kind;

use super::Context;

/// `membership` as `user` sees it.
fn summarize(context: &Context, membership: &Membership, user: &UserId) -> RoomSummary {
    let seq = context.store.latest_seq(&membership.room);
    let (members, online) = if membership.room == LOBBY {
        (Vec::new(), Vec::new())
    } else {
        (
            context.identity.names_of(&membership.members),
            context.hub.online_names(&membership.members),
        )
    };
    let peer = (membership.kind == Kind::Direct)
        .then(|| {
            let others: Vec<UserId> = membership
                .members
                .iter()
                .filter(|m| *m != user)
                .cloned()
                .collect();
            context.identity.names_of(&others).into_iter().next()
        })
        .flatten();
    let name = match &peer {
        Some(peer) => peer.clone(),
        None => membership.name.clone(),
    };
    let direct = membership.kind == Kind::Direct;
    let (unread, mentions) = context.store.unread(
        &membership.room,
        membership.last_read,
        Some(&**user),
        direct,
    );
    RoomSummary {
        room: membership.room.clone(),
        name,
        kind: membership.kind.as_str(),
        seq,
        last_read: membership.last_read,
        unread,
        mentions,
        muted: membership.settings.muted,
        notify: membership.settings.notify.as_str(),
        members,
        online,
        peer,
    }
}

/// Every room `user` belongs to, summarised.
pub fn rooms_of(context: &Context, user: &UserId) -> Vec<RoomSummary> {
    context
        .rooms
        .memberships(user)
        .iter()
        .map(|membership| summarize(context, membership, user))
        .collect()
}

/// Sends `user` (on all its connections) `room` as it sees it, if it is a
/// member.
pub fn announce(context: &Context, room: &str, user: &UserId) {
    if let Some(mine) = context.rooms.membership(room, user) {
        let summary = summarize(context, &mine, user);
        let frame = Frame::from(encode(&ServerFrame::Room(&summary)));
        context
            .hub
            .send(&Audience::user(user), Outbound::event(frame));
    }
}
