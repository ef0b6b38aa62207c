//! The embedded backend: one SQLite file in WAL mode with
//! `synchronous=FULL`, so a commit is on disk before its messages are
//! acknowledged; batching makes that one fsync per batch, not per message.
//! The parts: [`schema`] (opening and migrating), [`load`] (start-up),
//! [`messages`] and [`log`] (the rooms' logs: new messages, edits,
//! deletions, reactions), and [`records`] (names, rooms, files).

pub(super) mod load;
mod log;
pub(super) mod messages;
mod records;
mod retention;
pub(super) mod schema;
mod search;

use std::collections::HashMap;

use anyhow::Context as _;
use rusqlite::Connection;

use super::Location;
use super::backend::{Backend, Searcher};
use super::log::{Entry, Outcome};
use super::records::{
    Change, Cutoff, Expired, Found, Loaded, Page, Relay, SearchError, SearchRequest,
};
use crate::clock::now_millis;

pub struct Sqlite {
    conn: Connection,
    /// The file, for searches to open beside the writer.
    file: Option<std::path::PathBuf>,
    /// Each room's latest `seq`, as committed.
    latest: HashMap<String, u64>,
    /// Whether messages are indexed.
    search: bool,
}

impl Sqlite {
    /// Opens (or creates) the history and reads back what start-up needs.
    /// With `search` off no index is kept (and what there was is emptied);
    /// on again, it is rebuilt.
    pub fn open(
        location: &Location,
        recent_capacity: usize,
        search: bool,
    ) -> anyhow::Result<(Sqlite, Loaded)> {
        let conn = match location {
            Location::File(path) => schema::open_file(path)?,
            Location::Memory => {
                Connection::open_in_memory().context("cannot open an in-memory database")?
            }
            Location::Postgres(_) => anyhow::bail!("PostgreSQL is not a SQLite file"),
        };
        schema::init_schema(&conn).context("cannot prepare the history database")?;
        search::turn(&conn, search).context("cannot prepare the search index")?;
        let loaded = load::load(&conn, recent_capacity)?;
        let latest = loaded
            .recent
            .iter()
            .map(|room| (room.room.clone(), room.latest))
            .collect();
        let file = match location {
            Location::File(path) => Some(path.clone()),
            Location::Memory | Location::Postgres(_) => None,
        };
        Ok((
            Sqlite {
                conn,
                file,
                latest,
                search,
            },
            loaded,
        ))
    }
}

impl Backend for Sqlite {
    fn apply(&mut self, batch: &[Change]) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        for change in batch {
            records::apply(&tx, change)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn append(&mut self, entries: &[Entry]) -> anyhow::Result<Vec<Outcome>> {
        // Seqs continue from what is committed; kept only if this commits.
        let mut latest: HashMap<String, u64> = HashMap::new();
        let now = now_millis();
        let tx = self.conn.transaction()?;
        let mut outcomes = Vec::with_capacity(entries.len());
        for entry in entries {
            let room = &entry.sender().room;
            let committed = self.latest.get(room).copied().unwrap_or(0);
            let seq = latest.entry(room.clone()).or_insert(committed);
            let next = || {
                *seq += 1;
                *seq
            };
            outcomes.push(match entry {
                Entry::Message(message) => messages::insert(&tx, message, next, now, self.search)?,
                Entry::Edit(edit) => log::edit(&tx, edit, next, now)?,
                Entry::Delete(delete) => log::delete(&tx, delete, next)?,
                Entry::React(react) => log::react(&tx, react, next)?,
            });
        }
        tx.commit()?;
        self.latest.extend(latest);
        Ok(outcomes)
    }

    /// Only this process writes the file: there is never anything new.
    fn catch_up(&mut self, _rooms: &[String]) -> anyhow::Result<Vec<Outcome>> {
        Ok(Vec::new())
    }

    /// No other instance shares the file: nobody to tell.
    fn relay(&mut self, _relays: &[Relay]) -> anyhow::Result<()> {
        Ok(())
    }

    fn page(&mut self, room: &str, before: u64, limit: usize) -> anyhow::Result<Page> {
        Ok(messages::read_page(&self.conn, room, before, limit)?)
    }

    fn scrub(&mut self) -> anyhow::Result<()> {
        // TRUNCATE: the log is folded in and cut to nothing, so the deleted
        // text is in neither (secure_delete zeroes the freed pages).
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn tidy(&mut self) -> anyhow::Result<bool> {
        if !self.search {
            return Ok(false);
        }
        Ok(search::merge_step(&self.conn)?)
    }

    fn search(&mut self, request: &SearchRequest) -> Result<Found, SearchError> {
        if !self.search {
            return Err(SearchError::Off);
        }
        search::search(&mut self.conn, request)
    }

    fn searcher(&self) -> anyhow::Result<Option<Box<dyn Searcher>>> {
        let Some(file) = self.file.as_ref().filter(|_| self.search) else {
            return Ok(None);
        };
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(file, flags)
            .with_context(|| format!("cannot open {} for searching", file.display()))?;
        conn.pragma_update(None, "busy_timeout", 5000)?;
        Ok(Some(Box::new(SqliteSearcher { conn })))
    }

    fn page_after(&mut self, room: &str, after: u64, limit: usize) -> anyhow::Result<Page> {
        Ok(messages::read_after(&self.conn, room, after, limit)?)
    }

    fn first_at(&mut self, room: &str, at: i64) -> anyhow::Result<Option<u64>> {
        Ok(messages::first_at(&self.conn, room, at)?)
    }

    fn changed_since(&mut self, room: &str, since: u64, limit: usize) -> anyhow::Result<Page> {
        Ok(messages::changed_since(&self.conn, room, since, limit)?)
    }

    fn unshared_files(&mut self, created_before: i64) -> anyhow::Result<Vec<String>> {
        Ok(messages::unshared_files(&self.conn, created_before)?)
    }

    fn host_state(&mut self) -> anyhow::Result<Vec<(String, String)>> {
        Ok(load::host_state(&self.conn)?)
    }

    fn expire(&mut self, room: &str, cutoff: Cutoff) -> anyhow::Result<Option<Expired>> {
        let latest = self.latest.get(room).copied().unwrap_or(0);
        let tx = self.conn.transaction()?;
        let expired = retention::expire(&tx, room, cutoff, latest)?;
        tx.commit()?;
        Ok(expired)
    }
}

/// Searches on a read-only connection of their own: in WAL mode they read
/// the last commit while the writer goes on.
struct SqliteSearcher {
    conn: Connection,
}

impl Searcher for SqliteSearcher {
    fn search(&mut self, request: &SearchRequest) -> Result<Found, SearchError> {
        search::search(&mut self.conn, request)
    }
}
