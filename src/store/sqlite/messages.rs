//! Messages in and out of SQLite: a new message, and messages read back in
//! their current state, with their files and reactions.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};

use super::search;
use crate::protocol::{ChatMessage, FileInfo, Reaction};
use crate::store::log::add_reaction;
use crate::store::log::{Mentions, NewMessage, Outcome, Stored, TOMBSTONE, Text, has_links};
use crate::store::records::{FileRecord, Page};

const MESSAGE_COLUMNS: &str = "room, seq, id, username, body, ts, cid, generated, html, version, \
     edited, deleted, reply_to, mentions, big, user_id, system, removed, bot";
pub const FILE_COLUMNS: &str =
    "id, sha256, name, size, mime, width, height, thumb, room, uploader, created";
/// A message row, before its files and reactions are attached.
struct Row_ {
    message: ChatMessage,
    author: Option<String>,
    mentioned_users: Vec<String>,
}

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Row_> {
    let mentions: Option<String> = row.get(13)?;
    let mentions = Mentions::parse(mentions.as_deref());
    let deleted: bool = row.get(11)?;
    let body: String = row.get(4)?;
    Ok(Row_ {
        message: ChatMessage {
            room: row.get(0)?,
            seq: row.get::<_, i64>(1)? as u64,
            id: row.get(2)?,
            username: row.get(3)?,
            message: if deleted { TOMBSTONE.to_owned() } else { body },
            timestamp: row.get(5)?,
            cid: row.get(6)?,
            generated: row.get(7)?,
            html: row.get(8)?,
            version: row.get::<_, i64>(9)? as u64,
            edited: row.get(10)?,
            deleted,
            reply_to: row.get::<_, Option<i64>>(12)?.map(|seq| seq as u64),
            mentions: mentions.names,
            everyone: mentions.everyone,
            here: mentions.here,
            big: row.get(14)?,
            reactions: Vec::new(),
            files: Vec::new(),
            system: crate::store::log::parse_system(row.get::<_, Option<String>>(16)?.as_deref()),
            removed: row.get(17)?,
            bot: row.get(18)?,
        },
        author: row.get(15)?,
        mentioned_users: mentions.users,
    })
}

/// A file row, read with [`FILE_COLUMNS`] starting at column `at`.
pub fn file_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<FileRecord> {
    Ok(FileRecord {
        id: row.get(at)?,
        sha256: row.get(at + 1)?,
        name: row.get(at + 2)?,
        size: row.get::<_, i64>(at + 3)? as u64,
        mime: row.get(at + 4)?,
        width: row.get(at + 5)?,
        height: row.get(at + 6)?,
        thumb: row.get(at + 7)?,
        room: row.get(at + 8)?,
        uploader: row.get(at + 9)?,
        created: row.get(at + 10)?,
    })
}

/// Stores a new message as `seq` of its room, unless its user stored its
/// `cid` before.
pub fn insert(
    conn: &Connection,
    message: &NewMessage,
    next_seq: impl FnOnce() -> u64,
    now: i64,
    index: bool,
) -> rusqlite::Result<Outcome> {
    let sender = &message.sender;
    if let Some(cid) = &sender.cid {
        let existing: Option<i64> = conn
            .prepare_cached(
                "SELECT seq FROM messages WHERE room = ?1 AND username = ?2 AND cid = ?3",
            )?
            .query_row(params![sender.room, sender.username, cid], |row| row.get(0))
            .optional()?;
        if let Some(seq) = existing
            && let Some(stored) = load(conn, &sender.room, seq as u64)?
        {
            return Ok(Outcome::Duplicate {
                conn: sender.conn,
                frame: stored.frame.clone(),
            });
        }
    }
    if let Some(target) = message.reply_to
        && load(conn, &sender.room, target)?.is_none()
    {
        return Ok(crate::store::log::refused_not_found(sender, target));
    }
    let seq = next_seq();
    let text = &message.text;
    // A host action is not something anyone said: not searched for.
    let search_id = if index && message.system.is_none() {
        let names = message.files.iter().map(|file| file.name.as_str());
        Some(search::add(
            conn,
            &search::indexed_text(&text.source, names),
        )?)
    } else {
        None
    };
    let mut insert = conn.prepare_cached(&format!(
        "INSERT INTO messages ({MESSAGE_COLUMNS}, search_id, links, shares_files)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, 0, ?11, ?12, ?13, ?14, ?15, 0,
                 ?16, ?17, ?18, ?19)"
    ))?;
    let id = uuid::Uuid::new_v4().to_string();
    insert.execute(params![
        sender.room,
        seq as i64,
        id,
        sender.username,
        text.source,
        now,
        sender.cid,
        message.generated,
        text.html,
        seq as i64,
        message.reply_to.map(|seq| seq as i64),
        Mentions::of(text),
        text.big,
        sender.user_id,
        crate::store::log::system_column(message.system.as_ref()),
        message.bot,
        search_id,
        has_links(text),
        !message.files.is_empty(),
    ])?;
    let mut share = conn.prepare_cached(
        "INSERT INTO message_files (room, seq, position, file_id) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (position, file) in message.files.iter().enumerate() {
        share.execute(params![sender.room, seq as i64, position as i64, file.id])?;
    }
    let state = message.stored(id, seq, now);
    Ok(Outcome::Logged {
        room: sender.room.clone(),
        seq,
        frame: state.frame.clone(),
        state,
    })
}

/// Message `seq` of `room` in its current state, if it exists.
pub fn load(conn: &Connection, room: &str, seq: u64) -> rusqlite::Result<Option<Arc<Stored>>> {
    let page = read(
        conn,
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = ?1 AND seq = ?2"),
        &[&room, &(seq as i64)],
    )?;
    Ok(page.into_iter().next())
}

/// The messages named by `keys` (room, seq), in their current state, in
/// that order; any that no longer exist are left out.
pub fn load_all(conn: &Connection, keys: &[(String, u64)]) -> rusqlite::Result<Vec<Arc<Stored>>> {
    let mut found = Vec::with_capacity(keys.len());
    for (room, seq) in keys {
        found.extend(load(conn, room, *seq)?);
    }
    Ok(found)
}

/// Up to `limit` messages of `room` with `seq < before`, oldest first.
pub fn read_page(
    conn: &Connection,
    room: &str,
    before: u64,
    limit: usize,
) -> rusqlite::Result<Page> {
    // SQLite integers are signed; seqs never come near the top bit.
    let before = before.min(i64::MAX as u64) as i64;
    let mut messages = read(
        conn,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE room = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
        ),
        &[&room, &before, &(limit as i64)],
    )?;
    messages.reverse();
    let has_more = match messages.first() {
        Some(first) => older_exists(conn, room, first.seq())?,
        None => false,
    };
    Ok(Page {
        messages,
        has_more,
        has_newer: None,
    })
}

/// Up to `limit` messages of `room` with `seq > after`, oldest first, and
/// whether newer ones follow.
pub fn read_after(
    conn: &Connection,
    room: &str,
    after: u64,
    limit: usize,
) -> rusqlite::Result<Page> {
    let after = after.min(i64::MAX as u64) as i64;
    let mut messages = read(
        conn,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE room = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
        ),
        &[&room, &after, &(limit as i64 + 1)],
    )?;
    let has_newer = messages.len() > limit;
    messages.truncate(limit);
    let has_more = match messages.first() {
        Some(first) => older_exists(conn, room, first.seq())?,
        None => false,
    };
    Ok(Page {
        messages,
        has_more,
        has_newer: Some(has_newer),
    })
}

/// The first message of `room` sent at or after `at` (ms).
pub fn first_at(conn: &Connection, room: &str, at: i64) -> rusqlite::Result<Option<u64>> {
    conn.prepare_cached(
        "SELECT seq FROM messages WHERE room = ?1 AND ts >= ?2 ORDER BY ts LIMIT 1",
    )?
    .query_row(params![room, at], |row| row.get::<_, i64>(0))
    .optional()
    .map(|seq| seq.map(|seq| seq as u64))
}

/// The newest `limit` messages of `room` changed after `since`, oldest first.
pub fn changed_since(
    conn: &Connection,
    room: &str,
    since: u64,
    limit: usize,
) -> rusqlite::Result<Page> {
    let since = since.min(i64::MAX as u64) as i64;
    let mut messages = read(
        conn,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE room = ?1 AND version > ?2 ORDER BY seq DESC LIMIT ?3"
        ),
        &[&room, &since, &(limit as i64 + 1)],
    )?;
    let has_more = messages.len() > limit;
    messages.truncate(limit);
    messages.reverse();
    Ok(Page {
        messages,
        has_more,
        has_newer: None,
    })
}

pub fn older_exists(conn: &Connection, room: &str, seq: u64) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM messages WHERE room = ?1 AND seq < ?2)")?
        .query_row(params![room, seq as i64], |row| row.get(0))
}

/// Messages by `sql` (which selects [`MESSAGE_COLUMNS`] of one room), with
/// their files and reactions.
fn read(conn: &Connection, sql: &str, args: &[&dyn ToSql]) -> rusqlite::Result<Vec<Arc<Stored>>> {
    let rows: Vec<Row_> = conn
        .prepare_cached(sql)?
        .query_map(args, message_from_row)?
        .collect::<Result<_, _>>()?;
    let (Some(low), Some(high)) = (
        rows.iter().map(|r| r.message.seq).min(),
        rows.iter().map(|r| r.message.seq).max(),
    ) else {
        return Ok(Vec::new());
    };
    let room = rows[0].message.room.clone();
    let mut files = files_of(conn, &room, low, high)?;
    let mut reactions = reactions_of(conn, &room, low, high)?;
    Ok(rows
        .into_iter()
        .map(|mut row| {
            let seq = row.message.seq;
            row.message.files = files.remove(&seq).unwrap_or_default();
            row.message.reactions = reactions.remove(&seq).unwrap_or_default();
            Stored::new(row.message, row.author, row.mentioned_users)
        })
        .collect())
}

/// The files shared by the messages of `room` from seq `from` to `to`.
fn files_of(
    conn: &Connection,
    room: &str,
    from: u64,
    to: u64,
) -> rusqlite::Result<HashMap<u64, Vec<FileInfo>>> {
    let columns = FILE_COLUMNS
        .split(", ")
        .map(|column| format!("f.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut statement = conn.prepare_cached(&format!(
        "SELECT mf.seq, {columns} FROM message_files mf JOIN files f ON f.id = mf.file_id
         WHERE mf.room = ?1 AND mf.seq BETWEEN ?2 AND ?3 ORDER BY mf.seq, mf.position"
    ))?;
    let rows = statement.query_map(params![room, from as i64, to as i64], |row| {
        Ok((row.get::<_, i64>(0)? as u64, file_from_row(row, 1)?))
    })?;
    let mut files: HashMap<u64, Vec<FileInfo>> = HashMap::new();
    for row in rows {
        let (seq, file) = row?;
        files.entry(seq).or_default().push(file.info());
    }
    Ok(files)
}

/// The reactions on the messages of `room` from seq `from` to `to`: each
/// emoji in the order it was first given, with who gave it.
fn reactions_of(
    conn: &Connection,
    room: &str,
    from: u64,
    to: u64,
) -> rusqlite::Result<HashMap<u64, Vec<Reaction>>> {
    let mut statement = conn.prepare_cached(
        "SELECT seq, emoji, name FROM reactions
         WHERE room = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq, at",
    )?;
    let rows = statement.query_map(params![room, from as i64, to as i64], |row| {
        Ok((
            row.get::<_, i64>(0)? as u64,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    let mut reactions: HashMap<u64, Vec<Reaction>> = HashMap::new();
    for row in rows {
        let (seq, emoji, name) = row?;
        add_reaction(&mut reactions, seq, emoji, name);
    }
    Ok(reactions)
}

/// Files created before `cutoff` that no message shares.
pub fn unshared_files(conn: &Connection, cutoff: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT id FROM files WHERE created < ?1
         AND NOT EXISTS (SELECT 1 FROM message_files WHERE file_id = files.id)",
    )?
    .query_map(params![cutoff], |row| row.get(0))?
    .collect()
}

/// Updates the text of message `target` after an edit logged as `seq`.
pub fn set_text(
    conn: &Connection,
    room: &str,
    target: u64,
    seq: u64,
    text: &Text,
    edited: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE messages SET body = ?3, html = ?4, mentions = ?5, big = ?6, edited = ?7,
         generated = 0, version = ?8, links = ?9 WHERE room = ?1 AND seq = ?2",
    )?
    .execute(params![
        room,
        target as i64,
        text.source,
        text.html,
        Mentions::of(text),
        text.big,
        edited,
        seq as i64,
        has_links(text),
    ])?;
    search::replace(conn, room, target, &text.source)
}

/// Forgets message `target`'s text, files and reactions after a deletion
/// logged as `seq` (by the host: `removed`): a tombstone stays.
pub fn clear(
    conn: &Connection,
    room: &str,
    target: u64,
    seq: u64,
    removed: bool,
) -> rusqlite::Result<()> {
    search::remove(conn, room, target)?;
    conn.prepare_cached(
        "UPDATE messages SET body = '', html = '', mentions = NULL, big = 0, generated = 0,
         deleted = 1, version = ?3, links = 0, shares_files = 0, removed = ?4
         WHERE room = ?1 AND seq = ?2",
    )?
    .execute(params![room, target as i64, seq as i64, removed])?;
    for table in ["message_files", "reactions"] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE room = ?1 AND seq = ?2"))?
            .execute(params![room, target as i64])?;
    }
    Ok(())
}

/// Marks message `target` changed by entry `seq` (a reaction).
pub fn touch(conn: &Connection, room: &str, target: u64, seq: u64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE messages SET version = ?3 WHERE room = ?1 AND seq = ?2")?
        .execute(params![room, target as i64, seq as i64])?;
    Ok(())
}
