//! The embedded backend: one SQLite file in WAL mode with
//! `synchronous=FULL`, so a commit is on disk before its messages are
//! acknowledged; batching makes that one fsync per batch, not per message.

mod load;
mod schema;

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension, params};

use super::Location;
use super::backend::Backend;
use super::records::{Change, Loaded, NewMessage, Outcome, Page, RoomChange, Stored};
use crate::clock::now_millis;
use crate::protocol::ChatMessage;

pub struct Sqlite {
    conn: Connection,
    /// Each room's latest `seq`, as committed.
    latest: HashMap<String, u64>,
}

impl Sqlite {
    /// Opens (or creates) the history and reads back what start-up needs.
    pub fn open(location: &Location, recent_capacity: usize) -> anyhow::Result<(Sqlite, Loaded)> {
        let conn = match location {
            Location::File(path) => schema::open_file(path)?,
            Location::Memory => {
                Connection::open_in_memory().context("cannot open an in-memory database")?
            }
        };
        schema::init_schema(&conn).context("cannot prepare the history database")?;
        let loaded = load::load(&conn, recent_capacity)?;
        let latest = loaded
            .recent
            .iter()
            .filter_map(|(room, messages)| Some((room.clone(), messages.last()?.seq())))
            .collect();
        Ok((Sqlite { conn, latest }, loaded))
    }

    /// Inserts a batch in one transaction, giving each new message the next
    /// seq of its room. `latest` is updated only if the batch commits.
    fn insert_all(&mut self, appends: &[NewMessage]) -> rusqlite::Result<Vec<Outcome>> {
        let mut latest = HashMap::new();
        for append in appends {
            latest
                .entry(append.room.clone())
                .or_insert_with(|| self.latest.get(&append.room).copied().unwrap_or(0));
        }
        let now = now_millis();
        let tx = self.conn.transaction()?;
        let mut outcomes = Vec::with_capacity(appends.len());
        {
            let mut find = tx.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE room = ?1 AND username = ?2 AND cid = ?3"
            ))?;
            let mut insert = tx.prepare_cached(&format!(
                "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ))?;
            for append in appends {
                if let Some(cid) = &append.cid {
                    let existing = find
                        .query_row(params![append.room, append.username, cid], message_from_row)
                        .optional()?;
                    if let Some(message) = existing {
                        outcomes.push(Outcome::Duplicate {
                            conn: append.conn,
                            stored: Stored::new(message),
                        });
                        continue;
                    }
                }
                let seq = latest.get_mut(&append.room).expect("seeded above");
                *seq += 1;
                let message = ChatMessage {
                    id: uuid::Uuid::new_v4().to_string(),
                    seq: *seq,
                    room: append.room.clone(),
                    username: append.username.clone(),
                    message: append.message.clone(),
                    timestamp: now,
                    cid: append.cid.clone(),
                };
                insert.execute(params![
                    message.room,
                    message.seq as i64,
                    message.id,
                    message.username,
                    message.message,
                    message.timestamp,
                    message.cid,
                ])?;
                outcomes.push(Outcome::Stored(Stored::new(message)));
            }
        }
        tx.commit()?;
        self.latest.extend(latest);
        Ok(outcomes)
    }
}

impl Backend for Sqlite {
    fn apply(&mut self, changes: &[Change]) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        for change in changes {
            match change {
                Change::SaveClaim(claim) => {
                    tx.prepare_cached(
                        "INSERT INTO claims (name_key, user_id, name, token_hash, last_seen)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (name_key) DO UPDATE SET
                             user_id = excluded.user_id, name = excluded.name,
                             token_hash = excluded.token_hash, last_seen = excluded.last_seen",
                    )?
                    .execute(params![
                        claim.name.to_lowercase(),
                        claim.user_id,
                        claim.name,
                        &claim.token_hash[..],
                        claim.last_seen
                    ])?;
                }
                Change::DeleteClaim(name) => {
                    tx.prepare_cached("DELETE FROM claims WHERE name_key = ?1")?
                        .execute(params![name.to_lowercase()])?;
                }
                Change::Room(change) => apply_room_change(&tx, change)?,
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn append(&mut self, appends: &[NewMessage]) -> anyhow::Result<Vec<Outcome>> {
        Ok(self.insert_all(appends)?)
    }

    fn page(&mut self, room: &str, before: u64, limit: usize) -> anyhow::Result<Page> {
        Ok(read_page(&self.conn, room, before, limit)?)
    }
}

const MESSAGE_COLUMNS: &str = "room, seq, id, username, body, ts, cid";

fn message_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ChatMessage> {
    Ok(ChatMessage {
        room: row.get(0)?,
        seq: row.get::<_, i64>(1)? as u64,
        id: row.get(2)?,
        username: row.get(3)?,
        message: row.get(4)?,
        timestamp: row.get(5)?,
        cid: row.get(6)?,
    })
}

fn read_page(conn: &Connection, room: &str, before: u64, limit: usize) -> rusqlite::Result<Page> {
    // SQLite integers are signed; seqs never come near the top bit.
    let before = before.min(i64::MAX as u64) as i64;
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE room = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
    ))?;
    let mut messages: Vec<Arc<Stored>> = statement
        .query_map(params![room, before, limit as i64], message_from_row)?
        .map(|row| row.map(Stored::new))
        .collect::<Result<_, _>>()?;
    messages.reverse();
    Ok(Page {
        has_more: messages.first().is_some_and(|m| m.seq() > 1),
        messages,
    })
}

fn apply_room_change(tx: &rusqlite::Transaction<'_>, change: &RoomChange) -> rusqlite::Result<()> {
    match change {
        RoomChange::Create {
            room,
            name,
            kind,
            created,
        } => {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO rooms (room, name, kind, created) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![room, name, kind.as_str(), created])?;
        }
        RoomChange::Join { room, user } => {
            tx.prepare_cached("INSERT OR IGNORE INTO members (room, user_id) VALUES (?1, ?2)")?
                .execute(params![room, user])?;
            tx.prepare_cached("DELETE FROM invites WHERE room = ?1 AND user_id = ?2")?
                .execute(params![room, user])?;
        }
        RoomChange::Leave { room, user } => {
            tx.prepare_cached("DELETE FROM members WHERE room = ?1 AND user_id = ?2")?
                .execute(params![room, user])?;
        }
        RoomChange::Invite { room, user } => {
            tx.prepare_cached("INSERT OR IGNORE INTO invites (room, user_id) VALUES (?1, ?2)")?
                .execute(params![room, user])?;
        }
        RoomChange::InviteLink { room, hash } => {
            tx.prepare_cached("UPDATE rooms SET invite_hash = ?2 WHERE room = ?1")?
                .execute(params![room, &hash[..]])?;
        }
        RoomChange::Read { room, user, seq } => {
            tx.prepare_cached(
                "UPDATE members SET last_read = max(last_read, ?3) WHERE room = ?1 AND user_id = ?2",
            )?
            .execute(params![room, user, *seq as i64])?;
        }
    }
    Ok(())
}
