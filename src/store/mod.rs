//! Durable state: chat history, name claims and rooms.
//!
//! - [`records`]: the values stored and handed back;
//! - [`backend`]: the interface a database implements, [`sqlite`], the
//!   embedded one (WAL, `synchronous=FULL`), and [`postgres`], one that
//!   several instances share (`--postgres`);
//! - [`tail`]: each room's newest messages in memory, already encoded;
//! - [`writer`]: the thread that commits in batches and reports outcomes.
//!
//! A [`Store`] is the handle the rest of the server uses: it queues writes
//! to the writer and answers replays from the tail without touching disk.

mod backend;
mod log;
pub mod migrate;
pub mod offline;
mod pending;
pub mod postgres;
mod records;
mod sqlite;
mod tail;
mod writer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use anyhow::Context as _;
use tokio::sync::{mpsc as async_mpsc, oneshot};

pub use backend::{Backend, Searcher};
pub use log::{Entry, NewDelete, NewEdit, NewMessage, NewReaction, Outcome, SYSTEM, Sender, Text};
pub use pending::{Mark, Subject};
pub use records::{
    Backwards, Change, ClaimRecord, Cursor, Cutoff, Expired, FileRecord, Found, Kind, Loaded,
    MemberSettings, Notify, Page, Relay, RoomChange, RoomRecord, SearchError, SearchRequest,
};

use crate::sync::lock;
use tail::Tail;
pub use writer::Logged;
use writer::{Request, Writer};

/// Where history lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Memory,
    /// A PostgreSQL database, which several instances may share.
    Postgres(Box<postgres::PgUrl>),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => write!(f, "{} (SQLite)", path.display()),
            Location::Memory => f.write_str("memory only (lost when the server stops)"),
            Location::Postgres(url) => write!(f, "{url} (PostgreSQL)"),
        }
    }
}

/// Each committed batch's outcomes, in `seq` order, for the fan-out.
pub type Committed = async_mpsc::UnboundedReceiver<Vec<Outcome>>;

/// A store just opened, with what the rest of the server rebuilds from.
pub struct Opened {
    pub store: Store,
    pub claims: Vec<ClaimRecord>,
    pub rooms: Vec<RoomRecord>,
    pub files: Vec<FileRecord>,
    /// The host's rules, as (key, JSON value).
    pub host: Vec<(String, String)>,
    pub committed: Committed,
}

/// Handle to the history store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// Requests for the writer thread. Unbounded: each session sends at most
    /// one append per frame it receives, and rate limits bound that.
    requests: Mutex<mpsc::Sender<Request>>,
    /// Read by sessions on connect; written by the writer after each commit.
    /// Never held across I/O.
    tail: Arc<Mutex<Tail>>,
    /// Changes queued and not yet committed; the writer marks them done.
    pending: Arc<pending::Pending>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Searches, when the backend reads beside the writer; else they go to
    /// the writer.
    searches: Option<Mutex<mpsc::Sender<Search>>>,
    location: Location,
    history_id: String,
}

impl Store {
    /// Opens (or creates) the history at `location` and starts the writer.
    /// `recent_capacity` is how many messages per room stay in memory; it
    /// caps what a connect or a resume replays. `instance` names this
    /// process to others sharing a PostgreSQL database.
    pub async fn open(
        location: Location,
        recent_capacity: usize,
        search: bool,
        instance: &str,
    ) -> anyhow::Result<Opened> {
        let (backend, loaded): (Box<dyn Backend>, Loaded) = match &location {
            Location::Postgres(url) => {
                let (backend, loaded) =
                    postgres::Postgres::open(url, recent_capacity, search, instance).await?;
                (Box::new(backend), loaded)
            }
            Location::File(_) | Location::Memory => {
                let (backend, loaded) = sqlite::Sqlite::open(&location, recent_capacity, search)?;
                (Box::new(backend), loaded)
            }
        };
        Store::start(backend, loaded, location, recent_capacity)
    }

    /// Starts the writer over an opened backend.
    fn start(
        backend: Box<dyn Backend>,
        loaded: Loaded,
        location: Location,
        recent_capacity: usize,
    ) -> anyhow::Result<Opened> {
        let Loaded {
            history_id,
            claims,
            rooms,
            files,
            host,
            recent,
        } = loaded;
        let tail = Arc::new(Mutex::new(Tail::new(recent_capacity, recent)));
        let searches = match backend.searcher()? {
            Some(searcher) => Some(Mutex::new(start_searcher(searcher)?)),
            None => None,
        };
        let (requests, receiver) = mpsc::channel();
        let (outcomes, committed) = async_mpsc::unbounded_channel();
        let pending = Arc::new(pending::Pending::default());
        let writer = Writer {
            backend,
            tail: tail.clone(),
            pending: pending.clone(),
            committed: Box::new(move |batch| {
                let _ = outcomes.send(batch);
            }),
        };
        let handle = std::thread::Builder::new()
            .name("lanchat-store".into())
            .spawn(move || writer.run(receiver))
            .context("cannot start the store thread")?;
        let store = Store {
            inner: Arc::new(Inner {
                requests: Mutex::new(requests),
                tail,
                pending,
                writer: Mutex::new(Some(handle)),
                searches,
                location,
                history_id,
            }),
        };
        Ok(Opened {
            store,
            claims,
            rooms,
            files,
            host,
            committed,
        })
    }

    pub fn history_id(&self) -> &str {
        &self.inner.history_id
    }

    pub fn location(&self) -> &Location {
        &self.inner.location
    }

    /// Queues a change to names, rooms or files, in order with the
    /// messages.
    pub fn save(&self, change: Change) {
        self.save_all(vec![change]);
    }

    /// Stores changes in one transaction, in order: another instance never
    /// sees some without the others.
    pub fn save_all(&self, changes: Vec<Change>) {
        self.queue_changes(changes, None);
    }

    fn queue_changes(&self, changes: Vec<Change>, committed: Option<oneshot::Sender<bool>>) {
        for change in &changes {
            self.inner.pending.queued(change.subject());
        }
        self.send(Request::Changes { changes, committed });
    }

    /// Where `subject` stands if none of this instance's changes to it is
    /// on its way to the database: a read of it may then replace what is
    /// in memory, if [`Store::unchanged`] still holds when it does.
    pub fn settled(&self, subject: &Subject) -> Option<Mark> {
        self.inner.pending.settled(subject)
    }

    /// Whether this instance has not changed `subject` since `mark`.
    pub fn unchanged(&self, subject: &Subject, mark: Mark) -> bool {
        self.inner.pending.unchanged(subject, mark)
    }

    /// Stores a change and waits until it is on disk; false if it could
    /// not be saved.
    pub async fn save_now(&self, change: Change) -> bool {
        let (committed, answer) = oneshot::channel();
        self.queue_changes(vec![change], Some(committed));
        answer.await.unwrap_or(false)
    }

    /// Files made before `created_before` (ms since the epoch) that no
    /// message shares.
    pub async fn unshared_files(&self, created_before: i64) -> anyhow::Result<Vec<String>> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::UnsharedFiles {
            created_before,
            reply,
        });
        answer.await.context("the store has stopped")?
    }

    /// Deletes `room`'s messages past `cutoff`, really: from the database
    /// (with their reactions, files' links and every log entry about them),
    /// the search index, the tail, and (SQLite) the write-ahead log.
    /// `None` if nothing had expired.
    pub async fn expire(&self, room: &str, cutoff: Cutoff) -> anyhow::Result<Option<Expired>> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Expire {
            room: room.to_owned(),
            cutoff,
            reply,
        });
        answer.await.context("the store has stopped")?
    }

    /// Every host rule as stored now, as (key, JSON value).
    pub async fn host_state(&self) -> anyhow::Result<Vec<(String, String)>> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::HostState(reply));
        answer.await.context("the store has stopped")?
    }

    /// Waits until the changes queued before this call are committed (or
    /// failed): what another instance is told after it never overtakes the
    /// changes it follows.
    pub async fn barrier(&self) {
        let (done, answer) = oneshot::channel();
        self.send(Request::Barrier(done));
        let _ = answer.await;
    }

    /// Another instance logged entries in `room`: they reach the tail and
    /// the fan-out through [`Committed`], in order with this instance's.
    pub fn catch_up(&self, room: &str) {
        self.send(Request::CatchUp(room.to_owned()));
    }

    /// Sends a frame to the connections of other instances sharing the
    /// database, after the changes queued before it.
    pub fn relay(&self, relay: Relay) {
        self.send(Request::Relay(relay));
    }

    /// Queues an entry for its room's log. Its outcome arrives through
    /// [`Committed`].
    pub fn append(&self, entry: Entry) {
        self.send(Request::Append(entry));
    }

    /// Queues an entry (which must have a cid) and waits until it is
    /// committed: where it is in its room's log (or, for a cid its user
    /// used before, where that one is); `None` if it was refused or failed.
    pub async fn append_and_wait(&self, entry: Entry) -> Option<Logged> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::AppendAwaited { entry, reply });
        answer.await.ok().flatten()
    }

    /// The room's latest `seq`, 0 when it is empty.
    pub fn latest_seq(&self, room: &str) -> u64 {
        lock(&self.inner.tail).latest_seq(room)
    }

    /// What a client needs to catch up: with `since`, the messages changed
    /// after it (new, edited, deleted, reacted to) in their current state;
    /// without, the newest messages. The newest `limit` of them, oldest
    /// first, with the room's latest seq at that moment, so a session can
    /// drop live copies of what it replayed. From memory, unless a message
    /// that left it changed since.
    pub async fn replay(
        &self,
        room: &str,
        since: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<(Page, u64)> {
        let latest = {
            let tail = lock(&self.inner.tail);
            if let Some(replayed) = tail.replay(room, since, limit) {
                return Ok(replayed);
            }
            tail.latest_seq(room)
        };
        let (reply, answer) = oneshot::channel();
        self.send(Request::ChangedSince {
            room: room.to_owned(),
            since: since.unwrap_or(0),
            limit,
            reply,
        });
        // Anything committed after `latest` reaches the session live.
        Ok((answer.await.context("the store has stopped")??, latest))
    }

    /// Messages after seq `after` in `room` (not deleted), and how many of
    /// them mention `user`; `direct` rooms mention the other person always.
    pub fn unread(&self, room: &str, after: u64, user: Option<&str>, direct: bool) -> (u64, u64) {
        lock(&self.inner.tail).unread(room, after, user, direct)
    }

    /// Up to `limit` messages with `seq < before`, oldest first.
    pub async fn page(&self, room: &str, before: u64, limit: usize) -> anyhow::Result<Page> {
        if let Some(page) = lock(&self.inner.tail).page(room, before, limit) {
            return Ok(page);
        }
        let (reply, answer) = oneshot::channel();
        self.send(Request::Page {
            room: room.to_owned(),
            before,
            limit,
            reply,
        });
        answer.await.context("the store has stopped")?
    }

    /// The page around message `seq`: up to `limit / 2` messages before
    /// it, then it and the ones after, up to `limit` in all.
    pub async fn around(&self, room: &str, seq: u64, limit: usize) -> anyhow::Result<Page> {
        let older = self.page(room, seq, limit / 2).await?;
        let wanted = limit - older.messages.len();
        let newer = self.after(room, seq.saturating_sub(1), wanted).await?;
        let mut messages = older.messages;
        messages.extend(newer.messages);
        Ok(Page {
            messages,
            has_more: older.has_more,
            has_newer: newer.has_newer,
        })
    }

    /// The oldest `limit` messages of `room` with `seq > after`: paging
    /// forward from a jump.
    pub async fn after(&self, room: &str, after: u64, limit: usize) -> anyhow::Result<Page> {
        if let Some(page) = lock(&self.inner.tail).after(room, after, limit) {
            return Ok(page);
        }
        let (reply, answer) = oneshot::channel();
        self.send(Request::PageAfter {
            room: room.to_owned(),
            after,
            limit,
            reply,
        });
        answer.await.context("the store has stopped")?
    }

    /// The page around the first message of `room` at or after `at` (ms),
    /// or the newest page if there is none yet.
    pub async fn at(&self, room: &str, at: i64, limit: usize) -> anyhow::Result<Page> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::FirstAt {
            room: room.to_owned(),
            at,
            reply,
        });
        match answer.await.context("the store has stopped")?? {
            Some(seq) => self.around(room, seq, limit).await,
            None => self.page(room, u64::MAX, limit).await,
        }
    }

    /// Runs a search: the newest matches first, in their current state.
    pub async fn search(&self, request: SearchRequest) -> Result<Found, SearchError> {
        let (reply, answer) = oneshot::channel();
        match &self.inner.searches {
            Some(searches) => {
                let _ = lock(searches).send((request, reply));
            }
            None => self.send(Request::Search { request, reply }),
        }
        answer
            .await
            .map_err(|_| SearchError::Store(anyhow::anyhow!("the store has stopped")))?
    }

    /// Commits everything queued so far and stops the writer. Blocks.
    pub fn close(&self) {
        self.send(Request::Close);
        if let Some(handle) = lock(&self.inner.writer).take() {
            let _ = handle.join();
        }
    }

    fn send(&self, request: Request) {
        // Fails only after `close`; then the request is dropped, and a page
        // request's caller sees its reply channel closed.
        let _ = lock(&self.inner.requests).send(request);
    }
}

/// A search and where its answer goes.
type Search = (SearchRequest, oneshot::Sender<Result<Found, SearchError>>);

/// Starts the thread that runs searches on the searcher's connection. It
/// ends when the store is dropped.
fn start_searcher(mut searcher: Box<dyn Searcher>) -> anyhow::Result<mpsc::Sender<Search>> {
    let (searches, receiver) = mpsc::channel::<Search>();
    std::thread::Builder::new()
        .name("lanchat-search".into())
        .spawn(move || {
            while let Ok((request, reply)) = receiver.recv() {
                let _ = reply.send(searcher.search(&request));
            }
        })
        .context("cannot start the search thread")?;
    Ok(searches)
}
