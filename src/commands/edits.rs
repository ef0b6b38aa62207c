//! Changing what was said: editing and deleting one's own messages, and
//! reactions. Each is an entry in the room's log, checked and applied by
//! the store (the message exists, it is the sender's, the edit window, the
//! cap on reactions), under the same rate limits as messages.

use super::Reply;
use super::chat::{render, sender};
use crate::protocol::{ErrorCode, Refusal};
use crate::session::Session;
use crate::store::{Entry, NewDelete, NewEdit, NewReaction};
use crate::text::emoji;

/// `edit`: the message is rendered again; everyone in the room hears the
/// change.
pub fn edit(
    session: &mut Session,
    target: u64,
    message: String,
    cid: Option<String>,
    room: Option<String>,
) -> Reply {
    let with_cid = |refusal: Refusal| refusal.with_cid(cid.clone());
    session.allow_message().map_err(with_cid)?;
    let room = session.room_for(room).map_err(with_cid)?;
    session.owner().map_err(with_cid)?;
    session.check_post(&room, false).map_err(with_cid)?;
    let text = render(&session.context, &room, &message);
    let window = session
        .context
        .settings
        .edit_window
        .map(|window| window.as_millis() as i64);
    let sender = sender(session, room, cid);
    session.context.store.append(Entry::Edit(NewEdit {
        sender,
        target,
        text,
        window,
    }));
    Ok(None)
}

/// `delete`: a tombstone stays; the text and files are gone.
pub fn delete(
    session: &mut Session,
    target: u64,
    cid: Option<String>,
    room: Option<String>,
) -> Reply {
    let with_cid = |refusal: Refusal| refusal.with_cid(cid.clone());
    session.allow_message().map_err(with_cid)?;
    let room = session.room_for(room).map_err(with_cid)?;
    session.owner().map_err(with_cid)?;
    let sender = sender(session, room, cid);
    session.context.store.append(Entry::Delete(NewDelete {
        sender,
        target,
        by_host: false,
    }));
    Ok(None)
}

/// `react`: adds or takes back one emoji; one person counts once, whichever
/// tab they use.
pub fn react(
    session: &mut Session,
    target: u64,
    emoji: String,
    on: bool,
    cid: Option<String>,
    room: Option<String>,
) -> Reply {
    let with_cid = |refusal: Refusal| refusal.with_cid(cid.clone());
    session.allow_message().map_err(with_cid)?;
    let room = session.room_for(room).map_err(with_cid)?;
    if let Some(event) = &session.context.event {
        event.check_post().map_err(with_cid)?;
    }
    let host = &session.context.host;
    host.check_mute(
        session.user_id.as_ref(),
        &session.username,
        session.as_host(),
    )
    .map_err(with_cid)?;
    let emoji = emoji::as_emoji(emoji.trim()).ok_or_else(|| {
        with_cid(Refusal::new(
            ErrorCode::InvalidEmoji,
            "a reaction is one emoji",
        ))
    })?;
    let sender = sender(session, room, cid);
    session.context.store.append(Entry::React(NewReaction {
        sender,
        target,
        emoji: emoji.to_owned(),
        on,
    }));
    Ok(None)
}
