//! The embedded backend: one SQLite file in WAL mode with
//! `synchronous=FULL`, so a commit is on disk before its messages are
//! acknowledged; batching makes that one fsync per batch, not per message.
//! The parts: [`schema`] (opening and migrating), [`load`] (start-up),
//! [`messages`] and [`changes`] (what each batch writes).

mod changes;
mod load;
mod messages;
mod schema;

use std::collections::HashMap;

use anyhow::Context as _;
use rusqlite::Connection;

use super::Location;
use super::backend::Backend;
use super::records::{Change, Loaded, NewMessage, Outcome, Page};

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
}

impl Backend for Sqlite {
    fn apply(&mut self, batch: &[Change]) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        for change in batch {
            changes::apply(&tx, change)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn append(&mut self, appends: &[NewMessage]) -> anyhow::Result<Vec<Outcome>> {
        let mut latest = HashMap::new();
        for append in appends {
            let seq = self.latest.get(&append.room).copied().unwrap_or(0);
            latest.entry(append.room.clone()).or_insert(seq);
        }
        let tx = self.conn.transaction()?;
        let outcomes = messages::insert(&tx, &mut latest, appends)?;
        tx.commit()?;
        self.latest.extend(latest);
        Ok(outcomes)
    }

    fn page(&mut self, room: &str, before: u64, limit: usize) -> anyhow::Result<Page> {
        Ok(messages::read_page(&self.conn, room, before, limit)?)
    }

    fn unshared_files(&mut self, created_before: i64) -> anyhow::Result<Vec<String>> {
        Ok(messages::unshared_files(&self.conn, created_before)?)
    }
}
