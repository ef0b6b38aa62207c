//! Searching what one can read now: the lobby, and the rooms and direct
//! messages one is a member of. Nothing else is searched, or counted.

use std::time::Instant;

use super::Reply;
use crate::ids::UserId;
use crate::metrics;
use crate::protocol::{ErrorCode, LOBBY, Refusal, SearchResult, ServerFrame, encode};
use crate::search::{Query, snippet};
use crate::session::Session;
use crate::store::{Cursor, Kind, SearchError, SearchRequest};

/// Default and largest page of results.
const DEFAULT_RESULTS: u32 = 20;
const MAX_RESULTS: u32 = 50;

/// `search`: newest matches first, each with its snippet; `before` continues
/// from a `next` cursor. Rate-limited like messages.
pub async fn search(
    session: &mut Session,
    text: &str,
    before: Option<String>,
    limit: Option<u32>,
    offset: Option<i32>,
) -> Reply {
    session.allow_message()?;
    let query = Query::parse(text, offset.unwrap_or(0).clamp(-14 * 60, 14 * 60))
        .map_err(|err| err.refusal())?;
    let before = match before {
        Some(cursor) => Some(Cursor::decode(&cursor).ok_or_else(|| {
            Refusal::new(
                ErrorCode::BadRequest,
                "before is not a cursor from search results",
            )
            .detail("bad_cursor")
        })?),
        None => None,
    };
    let context = &session.context;
    let rooms: Vec<String> = readable(session)
        .into_iter()
        .filter(|(_, names)| match &query.room {
            Some(wanted) => names.iter().any(|name| name == wanted),
            None => true,
        })
        .map(|(room, _)| room)
        .collect();
    let terms = query.terms.clone();
    let from_user = query
        .from
        .as_deref()
        .and_then(|name| context.identity.user_of(name))
        .map(|user| user.to_string());
    let request = SearchRequest {
        query,
        rooms,
        user: session.user_id.as_ref().map(|user| user.to_string()),
        from_user,
        before,
        limit: limit.unwrap_or(DEFAULT_RESULTS).clamp(1, MAX_RESULTS) as usize,
    };
    let started = Instant::now();
    let found = context
        .store
        .search(request)
        .await
        .map_err(|err| match err {
            SearchError::Off => {
                Refusal::new(ErrorCode::Unavailable, err.to_string()).detail("search_off")
            }
            SearchError::Store(err) => {
                log::warn!("conn {}: search failed: {err:#}", session.id);
                Refusal::new(ErrorCode::Unavailable, "search is unavailable right now")
            }
        })?;
    metrics::get()
        .search_seconds
        .observe(metrics::seconds_since(started));
    let results = found
        .messages
        .iter()
        .map(|stored| SearchResult {
            message: &stored.message,
            snippet: snippet::snippet(&stored.message.message, &terms),
        })
        .collect();
    Ok(Some(encode(&ServerFrame::SearchResults {
        query: text,
        results,
        total: found.total,
        partial: found.partial,
        next: found.next.map(|cursor| cursor.encode()),
    })))
}

/// The rooms `session` can read now, each with what `in:` may call it (in
/// lowercase): its id, its name, and for a direct message the other
/// person's name (bare and with `@`).
fn readable(session: &Session) -> Vec<(String, Vec<String>)> {
    let mut rooms = vec![(LOBBY.to_owned(), vec![LOBBY.to_owned()])];
    let Some(user) = &session.user_id else {
        return rooms;
    };
    let identity = &session.context.identity;
    for membership in session.context.rooms.memberships(user) {
        if membership.room == LOBBY {
            continue;
        }
        let mut names = vec![membership.room.clone()];
        if membership.kind == Kind::Direct {
            let others: Vec<UserId> = membership
                .members
                .iter()
                .filter(|member| *member != user)
                .cloned()
                .collect();
            for peer in identity.names_of(&others) {
                let peer = peer.to_lowercase();
                names.push(format!("@{peer}"));
                names.push(peer);
            }
        } else {
            names.push(membership.name.to_lowercase());
        }
        rooms.push((membership.room, names));
    }
    rooms
}
