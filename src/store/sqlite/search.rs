//! The search index and searches against it.
//!
//! An FTS5 table with the trigram tokenizer holds each message's text (and
//! the names of the files it shares), so any substring of three characters
//! or more is found, in any language. It is written in the same
//! transaction as the message and kept right through edits and deletions:
//! a deleted message is never found again. Terms shorter than three
//! characters are matched by scanning what the rest found (or the rooms'
//! messages, when nothing else narrows them), and every search is cut off
//! after [`TIME_LIMIT`], so none can stall the server.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};

use super::messages::load_all;
use crate::store::records::{Cursor, FileRecord, Found, SearchError, SearchRequest};

/// Matches counted at most, for "10,000+ results".
pub const TOTAL_CAP: u64 = 10_000;
/// The longest a search may run.
const TIME_LIMIT: Duration = Duration::from_millis(250);
/// How often (in SQLite virtual machine steps) the clock is checked.
const CHECK_EVERY: i32 = 2000;

/// What a message puts in the index: its text and its files' names.
pub fn indexed_text<'a>(source: &str, files: impl IntoIterator<Item = &'a FileRecord>) -> String {
    let mut text = source.to_owned();
    for file in files {
        text.push('\n');
        text.push_str(&file.name);
    }
    text
}

/// Adds a message's text; returns its row in the index.
pub fn add(conn: &Connection, room: &str, seq: u64, text: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT INTO search (body, room, seq) VALUES (?1, ?2, ?3)")?
        .execute(params![text, room, seq as i64])?;
    Ok(conn.last_insert_rowid())
}

/// What stored message `seq` puts in the index, given its text `source`.
fn stored_text(conn: &Connection, room: &str, seq: u64, source: &str) -> rusqlite::Result<String> {
    let names: Vec<String> = conn
        .prepare_cached(
            "SELECT f.name FROM message_files mf JOIN files f ON f.id = mf.file_id
             WHERE mf.room = ?1 AND mf.seq = ?2 ORDER BY mf.position",
        )?
        .query_map(params![room, seq as i64], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut text = source.to_owned();
    for name in names {
        text.push('\n');
        text.push_str(&name);
    }
    Ok(text)
}

/// Replaces message `seq`'s text in the index (after an edit).
pub fn replace(conn: &Connection, room: &str, seq: u64, source: &str) -> rusqlite::Result<()> {
    let text = stored_text(conn, room, seq, source)?;
    conn.prepare_cached(
        "UPDATE search SET body = ?3
         WHERE rowid = (SELECT search_id FROM messages WHERE room = ?1 AND seq = ?2)",
    )?
    .execute(params![room, seq as i64, text])?;
    Ok(())
}

/// Takes message `seq` out of the index (after a deletion).
pub fn remove(conn: &Connection, room: &str, seq: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "DELETE FROM search
         WHERE rowid = (SELECT search_id FROM messages WHERE room = ?1 AND seq = ?2)",
    )?
    .execute(params![room, seq as i64])?;
    conn.prepare_cached("UPDATE messages SET search_id = NULL WHERE room = ?1 AND seq = ?2")?
        .execute(params![room, seq as i64])?;
    Ok(())
}

/// Runs `request`: the newest matches first, in their current state.
pub fn search(conn: &mut Connection, request: &SearchRequest) -> Result<Found, SearchError> {
    let query = &request.query;
    let rooms = &request.rooms;
    if rooms.is_empty() {
        // `in:` a room one cannot read: nothing, and nothing counted.
        return Ok(Found::default());
    }
    let mut sql = String::new();
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    // Results come in the index's order, newest stored first. With words
    // to match, the index drives (CROSS JOIN keeps the planner from
    // scanning every message to probe it); with filters only, the
    // messages do.
    let fts = query.fts();
    let (text_column, order) = if let Some(fts) = &fts {
        sql.push_str(
            "FROM search s CROSS JOIN messages m ON m.search_id = s.rowid
             WHERE search MATCH ?",
        );
        args.push(Box::new(fts.clone()));
        ("s.body", "s.rowid")
    } else {
        sql.push_str("FROM messages m WHERE m.search_id IS NOT NULL");
        ("m.body", "m.search_id")
    };
    sql.push_str(&format!(
        " AND m.deleted = 0 AND m.room IN ({})",
        vec!["?"; rooms.len()].join(", ")
    ));
    args.extend(
        rooms
            .iter()
            .map(|room| Box::new(room.clone()) as Box<dyn ToSql>),
    );
    for term in query.short_terms() {
        sql.push_str(&format!(" AND {text_column} LIKE ? ESCAPE '\\'"));
        args.push(Box::new(format!("%{}%", escape_like(term))));
    }
    if let Some(from) = &query.from {
        match &request.from_user {
            Some(user) => {
                sql.push_str(" AND (m.user_id = ? OR m.username = ? COLLATE NOCASE)");
                args.push(Box::new(user.clone()));
            }
            None => sql.push_str(" AND m.username = ? COLLATE NOCASE"),
        }
        args.push(Box::new(from.clone()));
    }
    if let Some(before) = query.before {
        sql.push_str(" AND m.ts < ?");
        args.push(Box::new(before));
    }
    if let Some(after) = query.after {
        sql.push_str(" AND m.ts >= ?");
        args.push(Box::new(after));
    }
    if query.has_file {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM message_files f WHERE f.room = m.room AND f.seq = m.seq)",
        );
    }
    if query.has_link {
        sql.push_str(" AND m.html LIKE '%<a href=%'");
    }
    if query.mentions_me {
        match &request.user {
            Some(user) => {
                sql.push_str(
                    " AND (instr(m.mentions, ?) > 0 OR instr(m.mentions, '\"everyone\":true') > 0)",
                );
                args.push(Box::new(format!("\"{user}\"")));
            }
            None => sql.push_str(" AND 0"),
        }
    }
    let counting = format!("SELECT count(*) FROM (SELECT 1 {sql} LIMIT {})", TOTAL_CAP);
    let total_args = args.len();
    if let Some(cursor) = request.before {
        sql.push_str(&format!(" AND {order} < ?"));
        args.push(Box::new(cursor.0));
    }
    let listing = format!(
        "SELECT m.room, m.seq, {order} {sql} ORDER BY {order} DESC LIMIT {}",
        request.limit + 1
    );
    within_time(conn, |conn| {
        let total: i64 = conn
            .prepare(&counting)?
            .query_row(params_from_iter(&args[..total_args]), |row| row.get(0))?;
        let mut found: Vec<(String, u64, i64)> = conn
            .prepare(&listing)?
            .query_map(params_from_iter(&args), |row| {
                Ok((row.get(0)?, row.get::<_, i64>(1)? as u64, row.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        let next = (found.len() > request.limit).then(|| {
            found.truncate(request.limit);
            Cursor(found.last().expect("a full page").2)
        });
        let keys: Vec<(String, u64)> = found
            .into_iter()
            .map(|(room, seq, _)| (room, seq))
            .collect();
        Ok(Found {
            messages: load_all(conn, &keys)?,
            total: total as u64,
            next,
        })
    })
}

/// Runs `work`, interrupting it if it takes longer than [`TIME_LIMIT`].
fn within_time(
    conn: &mut Connection,
    work: impl FnOnce(&Connection) -> rusqlite::Result<Found>,
) -> Result<Found, SearchError> {
    let deadline = Instant::now() + TIME_LIMIT;
    conn.progress_handler(CHECK_EVERY, Some(move || Instant::now() > deadline))
        .map_err(|err| SearchError::Store(err.into()))?;
    let result = work(conn);
    conn.progress_handler(CHECK_EVERY, None::<fn() -> bool>)
        .map_err(|err| SearchError::Store(err.into()))?;
    result.map_err(|err| match err {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            SearchError::TooBroad
        }
        other => SearchError::Store(other.into()),
    })
}

/// `text` for a LIKE pattern, with `%`, `_` and `\` taken literally.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Turns the index on or off, as `--no-search` says. Off, it is emptied
/// (so nothing searchable stays behind); on after being off, it is rebuilt
/// from the messages.
pub fn turn(conn: &Connection, on: bool) -> rusqlite::Result<()> {
    let was_on: bool = conn
        .query_row("SELECT value FROM meta WHERE key = 'search'", [], |row| {
            row.get::<_, String>(0)
        })
        .optional()?
        .is_none_or(|value| value == "on");
    if on == was_on {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(
        "DELETE FROM search;
         UPDATE messages SET search_id = NULL WHERE search_id IS NOT NULL;",
    )?;
    if on {
        build(&tx)?;
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('search', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [if on { "on" } else { "off" }],
    )?;
    tx.commit()
}

/// Fills the index from the messages table (the migration that adds it).
pub fn build(conn: &Connection) -> rusqlite::Result<()> {
    let rows: Vec<(String, i64, String)> = conn
        .prepare("SELECT room, seq, body FROM messages WHERE deleted = 0 ORDER BY ts, room, seq")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (room, seq, body) in rows {
        let text = stored_text(conn, &room, seq as u64, &body)?;
        let id = add(conn, &room, seq as u64, &text)?;
        conn.prepare_cached("UPDATE messages SET search_id = ?3 WHERE room = ?1 AND seq = ?2")?
            .execute(params![room, seq, id])?;
    }
    Ok(())
}
