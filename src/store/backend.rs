//! The interface between the store and a database.
//!
//! The store's writer thread owns one backend and calls it with whole
//! batches, so a backend never sees concurrent calls and may block. SQLite
//! ([`super::sqlite`]) is the embedded one. PostgreSQL
//! ([`super::postgres`]) is shared by several instances: it allocates each
//! room's next `seq` inside the transaction that inserts the message, so the
//! sequence stays gap-free whoever writes, and reports what the others
//! logged through [`Backend::catch_up`].

use super::log::{Entry, Outcome};
use super::records::{Change, Cutoff, Expired, Found, Page, Relay, SearchError, SearchRequest};

pub trait Backend: Send + 'static {
    /// Applies changes to names and rooms in one transaction. Called before
    /// the messages of the same batch: a message to a room must not be on
    /// disk without the room.
    fn apply(&mut self, changes: &[Change]) -> anyhow::Result<()>;

    /// Adds `entries` to their rooms' logs in one transaction, all or
    /// nothing, and says what became of each, in order: logged with the next
    /// `seq` of its room (the message's new state with it), a duplicate of
    /// what its user already committed under the same `cid` (within this
    /// batch too), or refused (no such message, not the author...). Nothing
    /// counts as committed until this returns.
    fn append(&mut self, entries: &[Entry]) -> anyhow::Result<Vec<Outcome>>;

    /// The entries of `rooms` that other instances logged since this one
    /// last reported, in seq order, as outcomes for the fan-out. A backend
    /// that only this process writes has none.
    fn catch_up(&mut self, rooms: &[String]) -> anyhow::Result<Vec<Outcome>>;

    /// Sends `relays` to the other instances sharing the database, after
    /// the changes applied before. With no other instances, a no-op.
    fn relay(&mut self, relays: &[Relay]) -> anyhow::Result<()>;

    /// Up to `limit` messages of `room` with `seq < before`, oldest first,
    /// in their current state.
    fn page(&mut self, room: &str, before: u64, limit: usize) -> anyhow::Result<Page>;

    /// Up to `limit` messages of `room` with `seq > after`, oldest first.
    fn page_after(&mut self, room: &str, after: u64, limit: usize) -> anyhow::Result<Page>;

    /// The seq of the first message of `room` at or after `at` (ms).
    fn first_at(&mut self, room: &str, at: i64) -> anyhow::Result<Option<u64>>;

    /// The messages of `room` changed after `since` (version > since), in
    /// their current state, oldest first: the newest `limit` of them.
    fn changed_since(&mut self, room: &str, since: u64, limit: usize) -> anyhow::Result<Page>;

    /// The ids of files made before `created_before` (ms since the epoch)
    /// that no message shares: uploads nobody posted, or whose messages
    /// are gone.
    fn unshared_files(&mut self, created_before: i64) -> anyhow::Result<Vec<String>>;

    /// Deletes `room`'s messages past `cutoff` and everything about them
    /// (reactions, files' links, log entries, search entries), in one
    /// transaction, keeping the room's latest seq; says what went. `None`
    /// if nothing had expired.
    fn expire(&mut self, room: &str, cutoff: Cutoff) -> anyhow::Result<Option<Expired>>;

    /// Every host rule, as (key, JSON value): read again every few
    /// seconds, so a rule changed elsewhere (another instance, `lanchat
    /// host-link`) holds here too.
    fn host_state(&mut self) -> anyhow::Result<Vec<(String, String)>>;

    /// Runs a search on the writer's own connection (when the backend has
    /// no [`Searcher`] of its own).
    fn search(&mut self, request: &SearchRequest) -> Result<Found, SearchError>;

    /// Makes sure text just deleted by the host is gone from the disk too,
    /// not only from the tables: SQLite folds its write-ahead log into the
    /// file and empties it. (PostgreSQL keeps old row versions until they
    /// are vacuumed and reused.)
    fn scrub(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    /// One short step of upkeep the backend put off while busy (SQLite
    /// merges its search index's segments); the writer calls it while
    /// nothing is queued. Returns whether there is more to do.
    fn tidy(&mut self) -> anyhow::Result<bool> {
        Ok(false)
    }

    /// A searcher that reads beside the writer, on a thread of its own, so a
    /// search never holds up a commit; `None` if searches must share the
    /// writer's connection.
    fn searcher(&self) -> anyhow::Result<Option<Box<dyn Searcher>>>;
}

/// Searches, on a connection of their own.
pub trait Searcher: Send + 'static {
    fn search(&mut self, request: &SearchRequest) -> Result<Found, SearchError>;
}
