//! Retention in SQLite: a room's messages past their time, deleted for
//! real, with everything about them, in one transaction. (`secure_delete`
//! zeroes the freed pages, FTS5's `secure-delete` the index's; the writer
//! then folds the write-ahead log in and empties it.)

use rusqlite::{OptionalExtension, Transaction, params};

use crate::store::records::{Cutoff, Expired};

/// Deletes what is past `cutoff` in `room`, whose latest seq is `latest`.
pub fn expire(
    tx: &Transaction<'_>,
    room: &str,
    cutoff: Cutoff,
    latest: u64,
) -> rusqlite::Result<Option<Expired>> {
    let found: Option<i64> = match cutoff {
        Cutoff::Before(at) => tx
            .prepare_cached("SELECT max(seq) FROM messages WHERE room = ?1 AND ts < ?2")?
            .query_row(params![room, at], |row| row.get(0))?,
        Cutoff::KeepLast(keep) => tx
            .prepare_cached(
                "SELECT seq FROM messages WHERE room = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2",
            )?
            .query_row(params![room, i64::from(keep)], |row| row.get(0))
            .optional()?,
    };
    let floor: i64 = tx
        .prepare_cached("SELECT coalesce(max(through), 0) FROM expired WHERE room = ?1")?
        .query_row(params![room], |row| row.get(0))?;
    let Some(through) = found
        .map(|found| found.max(floor))
        .or((floor > 0).then_some(floor))
    else {
        return Ok(None);
    };
    let messages: i64 = tx
        .prepare_cached("SELECT count(*) FROM messages WHERE room = ?1 AND seq <= ?2")?
        .query_row(params![room, through], |row| row.get(0))?;
    let candidates: Vec<String> = tx
        .prepare_cached("SELECT DISTINCT file_id FROM message_files WHERE room = ?1 AND seq <= ?2")?
        .query_map(params![room, through], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    tx.prepare_cached(
        "DELETE FROM search WHERE rowid IN (
             SELECT search_id FROM messages
             WHERE room = ?1 AND seq <= ?2 AND search_id IS NOT NULL)",
    )?
    .execute(params![room, through])?;
    for sql in [
        "DELETE FROM message_files WHERE room = ?1 AND seq <= ?2",
        "DELETE FROM reactions WHERE room = ?1 AND seq <= ?2",
        // A change of an expired message goes with it, however late it came.
        "DELETE FROM changes WHERE room = ?1 AND (seq <= ?2 OR target <= ?2)",
        "DELETE FROM messages WHERE room = ?1 AND seq <= ?2",
    ] {
        tx.prepare_cached(sql)?.execute(params![room, through])?;
    }
    tx.prepare_cached(
        "INSERT INTO expired (room, through, latest) VALUES (?1, ?2, ?3)
         ON CONFLICT (room) DO UPDATE SET through = max(through, excluded.through),
             latest = max(latest, excluded.latest)",
    )?
    .execute(params![room, through, latest as i64])?;
    let mut files = Vec::new();
    for id in candidates {
        let shared: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM message_files WHERE file_id = ?1)")?
            .query_row(params![id], |row| row.get(0))?;
        if !shared {
            files.push(id);
        }
    }
    Ok(Some(Expired {
        room: room.to_owned(),
        through: through as u64,
        messages: messages as u64,
        files,
    }))
}
