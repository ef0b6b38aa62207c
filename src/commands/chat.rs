//! Talking: messages, typing, and paging history.

use std::sync::Arc;
use std::time::Instant;

use super::Reply;
use crate::audience::Audience;
use crate::files::human_size;
use crate::hub::Outbound;
use crate::metrics;
use crate::protocol::{ErrorCode, LOBBY, Refusal, ServerFrame, encode};
use crate::session::{Context, Session, page_frame};
use crate::store::{Entry, FileRecord, NewMessage, Sender, Text};

/// Most online members an `@here` counts as mentioned, for their badges.
const MAX_HERE: usize = 1000;
/// Default and largest page for a `history` request.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// `message`: rendered once here (markdown, emoji, mentions) and queued to
/// the store. The sender hears nothing now; its acknowledgement is the
/// stored copy, broadcast after the commit. Files it shares must be the
/// sender's finished uploads for this room; with no text, the message
/// describes them, for clients that do not show files.
pub fn message(session: &mut Session, frame: NewFrame) -> Reply {
    let NewFrame {
        message,
        cid,
        room,
        files,
        reply_to,
    } = frame;
    let with_cid = |refusal: Refusal| refusal.with_cid(cid.clone());
    session.allow_message().map_err(with_cid)?;
    let room = session.room_for(room).map_err(with_cid)?;
    session.check_post(&room, true).map_err(with_cid)?;
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
    let (text, generated) = if message.trim().is_empty() {
        let described = describe(&files);
        (
            Text {
                html: render(&session.context, &room, &described).html,
                source: described,
                ..Text::default()
            },
            true,
        )
    } else {
        (render(&session.context, &room, &message), false)
    };
    session.stop_typing();
    let sender = sender(session, room, cid);
    metrics::get().messages_received.inc();
    session.context.store.append(Entry::Message(NewMessage {
        sender,
        text,
        files,
        generated,
        reply_to,
        system: None,
        bot: false,
    }));
    Ok(None)
}

/// A `history` frame's fields: one of `since` (a resume), `around` (a jump
/// to a message), `at` (a jump to a date), `after` (paging forward from a
/// jump), or `before` (paging back).
pub struct HistoryFrame {
    pub before: Option<u64>,
    pub after: Option<u64>,
    pub limit: Option<u32>,
    pub room: Option<String>,
    pub since: Option<u64>,
    pub around: Option<u64>,
    pub at: Option<i64>,
}

/// A `message` frame's fields.
pub struct NewFrame {
    pub message: String,
    pub cid: Option<String>,
    pub room: Option<String>,
    pub files: Vec<String>,
    pub reply_to: Option<u64>,
}

/// Who sends an entry to `room`, as the store records it.
pub fn sender(session: &Session, room: String, cid: Option<String>) -> Sender {
    Sender {
        room,
        username: session.username.to_string(),
        user_id: session.user_id.as_ref().map(|user| user.to_string()),
        cid,
        conn: session.id,
    }
}

/// `source` rendered for `room`: its HTML, and whom it mentions (by name,
/// and the owners whose badges count it).
pub fn render(context: &Context, room: &str, source: &str) -> Text {
    let members = (room != LOBBY).then(|| context.rooms.members(room));
    let member_names = members
        .as_ref()
        .map(|members| context.identity.names_of(members))
        .unwrap_or_default();
    let resolve = |word: &str| -> Option<String> {
        match &members {
            // Everyone is in the lobby: anyone online, and every owner.
            None => context
                .hub
                .find_online(word)
                .map(|name| name.to_string())
                .or_else(|| context.identity.owned_name(word)),
            Some(_) => member_names
                .iter()
                .find(|name| name.eq_ignore_ascii_case(word))
                .cloned(),
        }
    };
    let rendered = crate::text::render(source, &resolve);
    let mut mentioned_users: Vec<String> = rendered
        .mentions
        .iter()
        .filter_map(|name| context.identity.user_of(name))
        .map(|user| user.to_string())
        .collect();
    if rendered.here {
        let online = context.hub.online_users(members.as_deref(), MAX_HERE);
        mentioned_users.extend(online.iter().map(|user| user.to_string()));
    }
    mentioned_users.sort();
    mentioned_users.dedup();
    Text {
        source: source.to_owned(),
        html: rendered.html,
        big: rendered.big,
        mentions: rendered.mentions,
        everyone: rendered.everyone,
        here: rendered.here,
        mentioned_users,
    }
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
pub async fn history(session: &mut Session, request: HistoryFrame) -> Reply {
    let room = session.room_for(request.room)?;
    let store = &session.context.store;
    let limit = request.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize;
    let page = if let Some(since) = request.since {
        let cap = session.context.settings.resume_cap;
        let replayed = store.replay(&room, Some(since), cap).await;
        if let Ok((page, _)) = &replayed {
            metrics::get()
                .resume_messages
                .observe(page.messages.len() as f64);
        }
        replayed.map(|(page, _)| page)
    } else if let Some(seq) = request.around {
        store.around(&room, seq, limit).await
    } else if let Some(at) = request.at {
        store.at(&room, at, limit).await
    } else if let Some(after) = request.after {
        store.after(&room, after, limit).await
    } else {
        store
            .page(&room, request.before.unwrap_or(u64::MAX), limit)
            .await
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
    let pong = Outbound::event(encode(&ServerFrame::Pong));
    session
        .context
        .hub
        .send(&Audience::Connection(session.id), pong);
    Ok(None)
}
