//! Talking: messages, typing, and paging history.

use std::sync::Arc;
use std::time::Instant;

use super::Reply;
use crate::audience::Audience;
use crate::files::human_size;
use crate::hub::Outbound;
use crate::protocol::{ErrorCode, Frame, Refusal, ServerFrame, encode};
use crate::session::{Session, page_frame};
use crate::store::{FileRecord, NewMessage};

/// Default and largest page for a `history` request.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// `message`: queued to the store. The sender hears nothing now; its
/// acknowledgement is the stored copy, broadcast after the commit. Files it
/// shares must be the sender's finished uploads for this room; with no text,
/// the message describes them, for clients that do not show files.
pub fn message(
    session: &mut Session,
    message: String,
    cid: Option<String>,
    room: Option<String>,
    files: Vec<String>,
) -> Reply {
    let with_cid = |refusal: Refusal| refusal.with_cid(cid.clone());
    session.allow_message().map_err(with_cid)?;
    let room = session.room_for(room).map_err(with_cid)?;
    let files = if files.is_empty() {
        Vec::new()
    } else {
        let user = session.owner().map_err(with_cid)?;
        let context = &session.context;
        context
            .files
            .for_message(&files, &user, &room)
            .map_err(with_cid)?
    };
    let (message, generated) = if message.trim().is_empty() {
        (describe(&files), true)
    } else {
        (message, false)
    };
    session.stop_typing();
    session.context.store.append(NewMessage {
        room,
        username: session.username.to_string(),
        message,
        cid,
        files,
        generated,
        conn: session.id,
    });
    Ok(None)
}

/// "shared photo.jpg (2.1 MB)", or "shared 3 files (12 MB): a.jpg, …".
fn describe(files: &[Arc<FileRecord>]) -> String {
    let total: u64 = files.iter().map(|file| file.size).sum();
    let names: Vec<&str> = files.iter().map(|file| file.name.as_str()).collect();
    match names.as_slice() {
        [one] => format!("shared {one} ({})", human_size(total)),
        many => format!(
            "shared {} files ({}): {}",
            many.len(),
            human_size(total),
            many.join(", ")
        ),
    }
}

/// `typing`: passed on to the room's other members, not too often.
pub fn typing(session: &mut Session, active: bool, room: Option<String>) -> Reply {
    let room = session.room_for(room)?;
    if !active || room != session.typing.room() {
        session.stop_typing();
    }
    if active && session.typing.start(room, Instant::now()) {
        session.announce_typing(true);
    }
    Ok(None)
}

/// `history`: a page of older messages, or with `since` a resume.
pub async fn history(
    session: &mut Session,
    before: Option<u64>,
    limit: Option<u32>,
    room: Option<String>,
    since: Option<u64>,
) -> Reply {
    let room = session.room_for(room)?;
    let store = &session.context.store;
    let page = match since {
        Some(since) => {
            let cap = session.context.settings.resume_cap;
            Ok(store.replay(&room, Some(since), cap).0)
        }
        None => {
            let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize;
            store.page(&room, before.unwrap_or(u64::MAX), limit).await
        }
    };
    match page {
        Ok(page) => Ok(Some(page_frame(&room, &page))),
        Err(err) => {
            log::warn!("conn {}: cannot page history: {err:#}", session.id);
            Err(Refusal::new(
                ErrorCode::Unavailable,
                "history is unavailable right now",
            ))
        }
    }
}

/// `ping`: browsers cannot see WebSocket pings, so they ask for a `pong`.
/// It goes through this connection's queue, behind everything queued for it
/// before the ping was read: so a `pong` also says "you have caught up".
pub fn ping(session: &mut Session) -> Reply {
    let pong = Outbound::Event(Frame::from(encode(&ServerFrame::Pong)));
    session
        .context
        .hub
        .send(&Audience::Connection(session.id), pong);
    Ok(None)
}
