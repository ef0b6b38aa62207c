//! Messages in and out of SQLite, with the files they share.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::clock::now_millis;
use crate::protocol::{ChatMessage, FileInfo};
use crate::store::records::{FileRecord, NewMessage, Outcome, Page, Stored};

const MESSAGE_COLUMNS: &str = "room, seq, id, username, body, ts, cid, generated";
pub const FILE_COLUMNS: &str =
    "id, sha256, name, size, mime, width, height, thumb, room, uploader, created";

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<ChatMessage> {
    Ok(ChatMessage {
        room: row.get(0)?,
        seq: row.get::<_, i64>(1)? as u64,
        id: row.get(2)?,
        username: row.get(3)?,
        message: row.get(4)?,
        timestamp: row.get(5)?,
        cid: row.get(6)?,
        generated: row.get(7)?,
        files: Vec::new(),
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

/// Inserts a batch in one transaction, giving each new message the next
/// seq of its room from `latest` (updated as it goes; the caller keeps it
/// only if the transaction commits).
pub fn insert(
    tx: &Transaction<'_>,
    latest: &mut HashMap<String, u64>,
    appends: &[NewMessage],
) -> rusqlite::Result<Vec<Outcome>> {
    let now = now_millis();
    let mut outcomes = Vec::with_capacity(appends.len());
    let mut find = tx.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = ?1 AND username = ?2 AND cid = ?3"
    ))?;
    let mut insert = tx.prepare_cached(&format!(
        "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))?;
    let mut share = tx.prepare_cached(
        "INSERT INTO message_files (room, seq, position, file_id) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for append in appends {
        if let Some(cid) = &append.cid {
            let existing = find
                .query_row(params![append.room, append.username, cid], message_from_row)
                .optional()?;
            if let Some(mut message) = existing {
                message.files = files_of(tx, &message.room, message.seq, message.seq)?
                    .remove(&message.seq)
                    .unwrap_or_default();
                outcomes.push(Outcome::Duplicate {
                    conn: append.conn,
                    stored: Stored::new(message),
                });
                continue;
            }
        }
        let seq = latest.entry(append.room.clone()).or_insert(0);
        *seq += 1;
        let message = ChatMessage {
            id: uuid::Uuid::new_v4().to_string(),
            seq: *seq,
            room: append.room.clone(),
            username: append.username.clone(),
            message: append.message.clone(),
            timestamp: now,
            cid: append.cid.clone(),
            files: append.files.iter().map(|file| file.info()).collect(),
            generated: append.generated,
        };
        insert.execute(params![
            message.room,
            message.seq as i64,
            message.id,
            message.username,
            message.message,
            message.timestamp,
            message.cid,
            message.generated,
        ])?;
        for (position, file) in append.files.iter().enumerate() {
            share.execute(params![
                message.room,
                message.seq as i64,
                position as i64,
                file.id
            ])?;
        }
        outcomes.push(Outcome::Stored(Stored::new(message)));
    }
    Ok(outcomes)
}

/// Up to `limit` messages of `room` with `seq < before`, oldest first, each
/// with its files.
pub fn read_page(
    conn: &Connection,
    room: &str,
    before: u64,
    limit: usize,
) -> rusqlite::Result<Page> {
    // SQLite integers are signed; seqs never come near the top bit.
    let before = before.min(i64::MAX as u64) as i64;
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE room = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
    ))?;
    let mut messages: Vec<ChatMessage> = statement
        .query_map(params![room, before, limit as i64], message_from_row)?
        .collect::<Result<_, _>>()?;
    messages.reverse();
    if let (Some(first), Some(last)) = (messages.first(), messages.last()) {
        let mut files = files_of(conn, room, first.seq, last.seq)?;
        for message in &mut messages {
            message.files = files.remove(&message.seq).unwrap_or_default();
        }
    }
    Ok(Page {
        has_more: messages.first().is_some_and(|m| m.seq > 1),
        messages: messages.into_iter().map(Stored::new).collect(),
    })
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

/// Files created before `cutoff` that no message shares.
pub fn unshared_files(conn: &Connection, cutoff: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT id FROM files WHERE created < ?1
         AND NOT EXISTS (SELECT 1 FROM message_files WHERE file_id = files.id)",
    )?
    .query_map(params![cutoff], |row| row.get(0))?
    .collect()
}
