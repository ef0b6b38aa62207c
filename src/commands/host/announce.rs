//! Announcements and raised hands: the host pins an announcement in a room
//! (the lobby: for everyone), shown at the top until each reader dismisses
//! it, and sees how many have read it, from their read marks; and lowers
//! hands raised in a room.

use crate::audience::Audience;
use crate::clock::now_millis;
use crate::host::{Pin, hands_frame, pinned_frame};
use crate::hub::Outbound;
use crate::ids::{hex, random_bytes};
use crate::protocol::{ErrorCode, Frame, LOBBY, Refusal, ServerFrame, SystemEvent, encode};
use crate::session::Session;
use crate::store::{Entry, NewMessage, SYSTEM, Sender};

/// `announce`: the announcement is a message from `system` in the room's
/// log (so history, a resume and an export have it, and read marks pass
/// it), then pinned.
pub async fn announce(
    session: &mut Session,
    room: Option<String>,
    message: &str,
) -> Result<(), Refusal> {
    let room = super::rooms::existing(session, room.as_deref().unwrap_or(LOBBY))?;
    let limit = session.context.settings.max_message_chars;
    let chars = message.chars().count();
    if message.trim().is_empty() {
        return Err(Refusal::new(
            ErrorCode::Empty,
            "an announcement says something",
        ));
    }
    if chars > limit {
        return Err(Refusal::new(
            ErrorCode::TooLong,
            format!("the announcement is {chars} characters; the limit is {limit}"),
        ));
    }
    let text = crate::commands::chat::render(&session.context, &room, message);
    let html = text.html.clone();
    let sender = Sender {
        room: room.clone(),
        username: SYSTEM.to_owned(),
        user_id: None,
        cid: Some(format!("announce-{}", hex(&random_bytes::<8>()))),
        conn: session.id,
    };
    let context = &session.context;
    let entry = Entry::Message(NewMessage {
        sender,
        text,
        files: Vec::new(),
        generated: false,
        reply_to: None,
        system: Some(SystemEvent::Announcement),
        bot: false,
    });
    let Some(seq) = context
        .store
        .append_and_wait(entry)
        .await
        .map(|logged| logged.seq)
    else {
        return Err(Refusal::new(
            ErrorCode::Unavailable,
            "the server cannot save the announcement right now; try again",
        ));
    };
    let pin = Pin {
        room: room.clone(),
        seq,
        message: message.to_owned(),
        html,
        at: now_millis(),
    };
    context.host.pin(pin.clone());
    log::info!("host: pinned an announcement in {room} ({seq})");
    let frame = Frame::from(pinned_frame(&pin));
    context
        .hub
        .send(&context.rooms.audience(&room), Outbound::event(frame));
    Ok(())
}

/// `unpin`: every reader of the room stops seeing it.
pub fn unpin(session: &Session, room: &str) -> Result<(), Refusal> {
    let context = &session.context;
    if context.host.unpin(room).is_none() {
        return Err(Refusal::new(
            ErrorCode::NotFound,
            "nothing is pinned in that room",
        ));
    }
    log::info!("host: took down the announcement in {room}");
    let frame = Frame::from(encode(&ServerFrame::Unpinned { room }));
    context
        .hub
        .send(&context.rooms.audience(room), Outbound::event(frame));
    Ok(())
}

/// `lower_hand`: the host lowers someone's hand.
pub fn lower_hand(session: &Session, room: &str, username: &str) -> Result<(), Refusal> {
    let context = &session.context;
    let Some(queue) = context.host.hand(room, username.trim(), false) else {
        return Err(Refusal::new(
            ErrorCode::NotFound,
            format!("{} has no hand up there", username.trim()),
        ));
    };
    log::info!("host: lowered a hand in {room}");
    send_hands(session, room, &queue);
    Ok(())
}

/// Tells the room's audience its queue of hands.
pub fn send_hands(session: &Session, room: &str, queue: &[String]) {
    let context = &session.context;
    let frame = Frame::from(hands_frame(room, queue));
    let audience: Audience = context.rooms.audience(room);
    context.hub.send(&audience, Outbound::event(frame));
}
