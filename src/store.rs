//! Durable state: chat history and name claims, in SQLite (WAL mode),
//! written by one thread in batches.
//!
//! Every append goes to a single writer thread. It drains whatever has queued
//! since its last commit, stores it in one transaction, and only then hands the
//! committed messages, in `seq` order, to the `on_commit` callback that fans
//! them out. So a message is broadcast only after it is durable, broadcasts
//! leave in `seq` order, and a burst of senders costs one commit, not many.
//!
//! The newest messages of each room are also kept in memory, already encoded,
//! so a connect or a resume never waits for the disk.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::oneshot;

use crate::protocol::{ChatMessage, Frame, ServerFrame, encode};
use crate::rooms::Kind;

/// Marks a SQLite file as ours ("LNCH"), so we never adopt someone else's.
const APPLICATION_ID: i64 = 0x4C4E_4348;
const SCHEMA_VERSION: i64 = 3;

/// Most appends, and most bytes of text, committed in one transaction. A
/// batch reaches every client at once, so it must stay well inside a
/// client's backlog limit (about 1000 frames or 1 MiB by default), or a
/// healthy client that is one batch behind would be cut off.
const MAX_BATCH: usize = 256;
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Where history lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Memory,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => write!(f, "{} (SQLite)", path.display()),
            Location::Memory => f.write_str("memory only (lost when the server stops)"),
        }
    }
}

/// A message to store, as a session asks for it.
#[derive(Debug)]
pub struct NewMessage {
    pub room: String,
    pub username: String,
    pub message: String,
    pub cid: Option<String>,
    /// The connection that sent it, to route its duplicate or error reply.
    pub conn: u64,
}

/// A committed message with its frame, encoded once for every recipient.
#[derive(Debug)]
pub struct Stored {
    pub message: ChatMessage,
    pub frame: Frame,
}

impl Stored {
    fn new(message: ChatMessage) -> Arc<Self> {
        let frame = Frame::from(encode(&ServerFrame::Message(&message)));
        Arc::new(Stored { message, frame })
    }

    pub fn seq(&self) -> u64 {
        self.message.seq
    }
}

/// What became of one append, reported after its batch committed (or failed).
#[derive(Debug)]
pub enum Outcome {
    /// Newly stored: broadcast it.
    Stored(Arc<Stored>),
    /// Its `cid` was already stored for this user: send the stored copy back
    /// to the sender only.
    Duplicate { conn: u64, stored: Arc<Stored> },
    /// Could not be stored; nothing was broadcast.
    Failed {
        conn: u64,
        cid: Option<String>,
        reason: String,
    },
}

/// A slice of a room's history, oldest first.
#[derive(Debug, Default)]
pub struct Page {
    pub messages: Vec<Arc<Stored>>,
    /// Older messages exist before the first one here.
    pub has_more: bool,
}

/// A claimed name as stored: only a hash of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRecord {
    /// Stable across renames; rooms refer to users by it.
    pub user_id: String,
    pub name: String,
    pub token_hash: [u8; 32],
    /// Milliseconds since the epoch.
    pub last_seen: i64,
}

/// A room as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    pub room: String,
    pub kind: Kind,
    pub invite_hash: Option<[u8; 32]>,
    /// Member user ids and their last read seq.
    pub members: Vec<(String, u64)>,
    /// User ids invited by name, not yet joined.
    pub invited: Vec<String>,
}

/// A change to rooms, stored in order with the messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomChange {
    Create {
        room: String,
        kind: Kind,
        created: i64,
    },
    Join {
        room: String,
        user: String,
    },
    Leave {
        room: String,
        user: String,
    },
    Invite {
        room: String,
        user: String,
    },
    InviteLink {
        room: String,
        hash: [u8; 32],
    },
    Read {
        room: String,
        user: String,
        seq: u64,
    },
}

enum Request {
    Append(NewMessage),
    SaveClaim(ClaimRecord),
    DeleteClaim(String),
    Room(RoomChange),
    Page {
        room: String,
        before: u64,
        limit: usize,
        reply: oneshot::Sender<anyhow::Result<Page>>,
    },
    Close,
}

/// The newest messages of each room, in `seq` order, and each room's latest
/// `seq`. Updated by the writer thread after each commit.
#[derive(Default)]
struct Recent {
    rooms: HashMap<String, VecDeque<Arc<Stored>>>,
}

impl Recent {
    fn latest_seq(&self, room: &str) -> u64 {
        self.rooms
            .get(room)
            .and_then(|messages| messages.back())
            .map_or(0, |m| m.seq())
    }
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
    recent: Mutex<Recent>,
    /// How many messages per room `recent` keeps.
    recent_capacity: usize,
    writer: Mutex<Option<JoinHandle<()>>>,
    location: Location,
    /// Claims and rooms read at start-up, each taken once.
    claims: Mutex<Option<Vec<ClaimRecord>>>,
    rooms: Mutex<Option<Vec<RoomRecord>>>,
    /// Made when the history was created. A client that sees it change knows
    /// seqs started over (a new file, or `--memory` restarted).
    history_id: String,
}

impl Store {
    /// Opens (or creates) the history and starts the writer thread.
    ///
    /// `recent_capacity` is how many messages per room stay in memory; it caps
    /// what a connect or a resume replays. `on_commit` receives every batch's
    /// outcomes in `seq` order, on the writer thread; it must not block.
    pub fn open(
        location: Location,
        recent_capacity: usize,
        on_commit: impl Fn(Vec<Outcome>) + Send + 'static,
    ) -> anyhow::Result<Store> {
        let conn = match &location {
            Location::File(path) => open_file(path)?,
            Location::Memory => {
                Connection::open_in_memory().context("cannot open an in-memory database")?
            }
        };
        init_schema(&conn).context("cannot prepare the history database")?;
        let mut recent = Recent::default();
        load_recent(&conn, recent_capacity, &mut recent).context("cannot read history")?;
        let claims = load_claims(&conn).context("cannot read name claims")?;
        let rooms = load_rooms(&conn).context("cannot read rooms")?;
        let history_id: String = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'history_id'",
                [],
                |row| row.get(0),
            )
            .context("cannot read the history id")?;
        let (requests, receiver) = mpsc::channel();
        let store = Store {
            inner: Arc::new(Inner {
                requests: Mutex::new(requests),
                recent: Mutex::new(recent),
                recent_capacity,
                writer: Mutex::new(None),
                location,
                claims: Mutex::new(Some(claims)),
                rooms: Mutex::new(Some(rooms)),
                history_id,
            }),
        };
        let writer = Writer {
            conn,
            store: store.clone(),
            on_commit: Box::new(on_commit),
        };
        let handle = std::thread::Builder::new()
            .name("lanchat-store".into())
            .spawn(move || writer.run(receiver))
            .context("cannot start the store thread")?;
        *lock(&store.inner.writer) = Some(handle);
        Ok(store)
    }

    pub fn history_id(&self) -> &str {
        &self.inner.history_id
    }

    pub fn location(&self) -> &Location {
        &self.inner.location
    }

    /// The name claims stored at start-up (empty after the first call).
    pub fn take_claims(&self) -> Vec<ClaimRecord> {
        lock(&self.inner.claims).take().unwrap_or_default()
    }

    /// The rooms stored at start-up (empty after the first call).
    pub fn take_rooms(&self) -> Vec<RoomRecord> {
        lock(&self.inner.rooms).take().unwrap_or_default()
    }

    /// Queues a change to rooms.
    pub fn save_room_change(&self, change: RoomChange) {
        self.send(Request::Room(change));
    }

    /// Queues a claim to be stored (replacing the one with its name).
    pub fn save_claim(&self, claim: ClaimRecord) {
        self.send(Request::SaveClaim(claim));
    }

    /// Queues the removal of `name`'s claim.
    pub fn delete_claim(&self, name: &str) {
        self.send(Request::DeleteClaim(name.to_owned()));
    }

    /// Queues a message. Its outcome arrives through `on_commit`.
    pub fn append(&self, message: NewMessage) {
        self.send(Request::Append(message));
    }

    /// The room's latest `seq`, 0 when it is empty.
    pub fn latest_seq(&self, room: &str) -> u64 {
        lock(&self.inner.recent).latest_seq(room)
    }

    /// Messages with `seq > since` (all when `since` is `None`), newest
    /// `limit` of them. Served from memory. Also returns the room's latest
    /// `seq` at the moment of the read, so a session can drop live copies of
    /// what it replayed.
    pub fn replay(&self, room: &str, since: Option<u64>, limit: usize) -> (Page, u64) {
        let recent = lock(&self.inner.recent);
        let latest = recent.latest_seq(room);
        let Some(messages) = recent.rooms.get(room) else {
            return (Page::default(), latest);
        };
        let after = since.unwrap_or(0);
        let newer = messages.iter().filter(|m| m.seq() > after).count();
        let take = newer.min(limit);
        let page: Vec<_> = messages
            .iter()
            .skip(messages.len() - take)
            .cloned()
            .collect();
        let first = page.first().map_or(latest + 1, |m| m.seq());
        let page = Page {
            has_more: first > after + 1,
            messages: page,
        };
        (page, latest)
    }

    /// Up to `limit` messages with `seq < before`, oldest first.
    pub async fn page(&self, room: &str, before: u64, limit: usize) -> anyhow::Result<Page> {
        if let Some(page) = self.page_from_memory(room, before, limit) {
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

    fn page_from_memory(&self, room: &str, before: u64, limit: usize) -> Option<Page> {
        let recent = lock(&self.inner.recent);
        let messages = recent.rooms.get(room)?;
        let oldest = messages.front()?.seq();
        let before = before.min(recent.latest_seq(room) + 1);
        let want_from = before.saturating_sub(limit as u64).max(1);
        if want_from < oldest {
            return None;
        }
        let page: Vec<_> = messages
            .iter()
            .filter(|m| m.seq() >= want_from && m.seq() < before)
            .cloned()
            .collect();
        Some(Page {
            has_more: want_from > 1,
            messages: page,
        })
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

/// Locks a mutex, carrying on if a panicking thread poisoned it: every
/// critical section here leaves the data consistent.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn open_file(path: &Path) -> anyhow::Result<Connection> {
    let shown = path.display();
    let existing = match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => bail!("{shown} is a directory, not a history file"),
        Ok(meta) => meta.len() > 0,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => false,
        Err(err) => return Err(err).with_context(|| format!("cannot read {shown}")),
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .with_context(|| format!("cannot open history file {shown}"))?;
    if existing {
        // Read-only checks first: nothing is written to a file until we know
        // it is ours.
        let application_id: i64 = conn
            .query_row("PRAGMA application_id", [], |row| row.get(0))
            .with_context(|| format!("{shown} is not a lanchat history file (not SQLite)"))?;
        if application_id != APPLICATION_ID {
            let tables: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
                .with_context(|| format!("{shown} is corrupt or unreadable"))?;
            if tables > 0 {
                bail!(
                    "{shown} is a SQLite database that belongs to another program; \
                     refusing to touch it (choose another file with --db)"
                );
            }
        }
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .with_context(|| format!("{shown} is corrupt"))?;
        if check != "ok" {
            bail!("{shown} is corrupt: {check}");
        }
    }
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .with_context(|| format!("cannot write to {shown}"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        bail!("{shown}: SQLite refused WAL mode (got {mode})");
    }
    Ok(conn)
}

fn init_schema(conn: &Connection) -> rusqlite::Result<()> {
    // FULL: a commit is on disk before its message is acknowledged. Batching
    // makes that one fsync per batch rather than per message.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    // Each step is idempotent, so a file at any earlier version catches up.
    let history_id = uuid::Uuid::new_v4();
    conn.execute_batch(&format!(
        "BEGIN;
         CREATE TABLE IF NOT EXISTS meta (
             key   TEXT PRIMARY KEY,
             value TEXT NOT NULL
         );
         INSERT OR IGNORE INTO meta (key, value) VALUES ('history_id', '{history_id}');
         CREATE TABLE IF NOT EXISTS claims (
             name_key   TEXT    PRIMARY KEY,
             user_id    TEXT    NOT NULL UNIQUE,
             name       TEXT    NOT NULL,
             token_hash BLOB    NOT NULL,
             last_seen  INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS rooms (
             room        TEXT    PRIMARY KEY,
             kind        TEXT    NOT NULL,
             created     INTEGER NOT NULL,
             invite_hash BLOB
         );
         CREATE TABLE IF NOT EXISTS members (
             room      TEXT    NOT NULL,
             user_id   TEXT    NOT NULL,
             last_read INTEGER NOT NULL DEFAULT 0,
             PRIMARY KEY (room, user_id)
         ) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS invites (
             room    TEXT NOT NULL,
             user_id TEXT NOT NULL,
             PRIMARY KEY (room, user_id)
         ) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS messages (
             room     TEXT    NOT NULL,
             seq      INTEGER NOT NULL,
             id       TEXT    NOT NULL,
             username TEXT    NOT NULL,
             body     TEXT    NOT NULL,
             ts       INTEGER NOT NULL,
             cid      TEXT,
             PRIMARY KEY (room, seq)
         ) WITHOUT ROWID;
         CREATE UNIQUE INDEX IF NOT EXISTS messages_by_cid
             ON messages (room, username, cid) WHERE cid IS NOT NULL;
         PRAGMA application_id = {APPLICATION_ID};
         PRAGMA user_version = {SCHEMA_VERSION};
         COMMIT;"
    ))
}

fn load_claims(conn: &Connection) -> rusqlite::Result<Vec<ClaimRecord>> {
    conn.prepare("SELECT user_id, name, token_hash, last_seen FROM claims")?
        .query_map([], |row| {
            let hash: Vec<u8> = row.get(2)?;
            Ok(ClaimRecord {
                user_id: row.get(0)?,
                name: row.get(1)?,
                token_hash: hash.try_into().unwrap_or([0; 32]),
                last_seen: row.get(3)?,
            })
        })?
        .collect()
}

fn load_rooms(conn: &Connection) -> rusqlite::Result<Vec<RoomRecord>> {
    let mut rooms: Vec<RoomRecord> = conn
        .prepare("SELECT room, kind, invite_hash FROM rooms ORDER BY room")?
        .query_map([], |row| {
            let kind: String = row.get(1)?;
            let hash: Option<Vec<u8>> = row.get(2)?;
            Ok(RoomRecord {
                room: row.get(0)?,
                kind: Kind::parse(&kind).unwrap_or(Kind::Private),
                invite_hash: hash.and_then(|h| h.try_into().ok()),
                members: Vec::new(),
                invited: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (i, room) in rooms.iter().enumerate() {
        by_name.insert(room.room.clone(), i);
    }
    let mut members = conn.prepare("SELECT room, user_id, last_read FROM members")?;
    let rows = members.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, i64>(2)? as u64,
        ))
    })?;
    for row in rows {
        let (room, user, read) = row?;
        if let Some(&i) = by_name.get(&room) {
            rooms[i].members.push((user, read));
        }
    }
    let mut invites = conn.prepare("SELECT room, user_id FROM invites")?;
    let rows = invites.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (room, user) = row?;
        if let Some(&i) = by_name.get(&room) {
            rooms[i].invited.push(user);
        }
    }
    Ok(rooms)
}

fn load_recent(conn: &Connection, capacity: usize, recent: &mut Recent) -> rusqlite::Result<()> {
    let rooms: Vec<String> = conn
        .prepare("SELECT DISTINCT room FROM messages")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for room in rooms {
        let page = read_page(conn, &room, u64::MAX, capacity)?;
        recent.rooms.insert(room, page.messages.into());
    }
    Ok(())
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

enum Change {
    SaveClaim(ClaimRecord),
    DeleteClaim(String),
    Room(RoomChange),
}

fn apply_room_change(tx: &rusqlite::Transaction<'_>, change: RoomChange) -> rusqlite::Result<()> {
    match change {
        RoomChange::Create {
            room,
            kind,
            created,
        } => {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO rooms (room, kind, created) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![room, kind.as_str(), created])?;
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
            .execute(params![room, user, seq as i64])?;
        }
    }
    Ok(())
}

/// Owns the connection; runs on its own thread.
struct Writer {
    conn: Connection,
    store: Store,
    on_commit: Box<dyn Fn(Vec<Outcome>) + Send>,
}

impl Writer {
    fn run(mut self, requests: mpsc::Receiver<Request>) {
        let mut appends = Vec::new();
        let mut changes = Vec::new();
        let mut batch_bytes = 0;
        let mut closing = false;
        while !closing {
            let Ok(first) = requests.recv() else { break };
            let mut next = Some(first);
            while let Some(request) = next {
                match request {
                    Request::Append(message) => {
                        batch_bytes += message.message.len();
                        appends.push(message);
                    }
                    Request::Page {
                        room,
                        before,
                        limit,
                        reply,
                    } => {
                        let page = read_page(&self.conn, &room, before, limit)
                            .context("cannot read history");
                        let _ = reply.send(page);
                    }
                    Request::SaveClaim(claim) => changes.push(Change::SaveClaim(claim)),
                    Request::DeleteClaim(name) => changes.push(Change::DeleteClaim(name)),
                    Request::Room(change) => changes.push(Change::Room(change)),
                    Request::Close => closing = true,
                }
                next = if appends.len() < MAX_BATCH && batch_bytes < MAX_BATCH_BYTES {
                    requests.try_recv().ok()
                } else {
                    None
                };
            }
            // Before the messages of the same batch: a message to a room
            // must not be on disk without the room.
            if !changes.is_empty()
                && let Err(err) = self.apply_changes(std::mem::take(&mut changes))
            {
                // A lost claim is made again from the token the client still
                // holds; a lost room change is redone by the user.
                log::error!("cannot save names and rooms: {err:#}");
            }
            if !appends.is_empty() {
                batch_bytes = 0;
                let outcomes = self.commit(std::mem::take(&mut appends));
                (self.on_commit)(outcomes);
            }
        }
        log::debug!("store writer stopped");
    }

    fn apply_changes(&mut self, changes: Vec<Change>) -> rusqlite::Result<()> {
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
        tx.commit()
    }

    fn commit(&mut self, appends: Vec<NewMessage>) -> Vec<Outcome> {
        let mut latest: HashMap<String, u64> = HashMap::new();
        {
            let recent = lock(&self.store.inner.recent);
            for append in &appends {
                latest
                    .entry(append.room.clone())
                    .or_insert_with(|| recent.latest_seq(&append.room));
            }
        }
        match self.insert_all(&appends, &mut latest) {
            Ok(decisions) => {
                let mut recent = lock(&self.store.inner.recent);
                let capacity = self.store.inner.recent_capacity;
                for decision in &decisions {
                    if let Outcome::Stored(stored) = decision {
                        let room = recent.rooms.entry(stored.message.room.clone()).or_default();
                        room.push_back(stored.clone());
                        if room.len() > capacity {
                            room.pop_front();
                        }
                    }
                }
                decisions
            }
            Err(err) => {
                log::error!("cannot store {} message(s): {err:#}", appends.len());
                let reason = "the server cannot save messages right now; try again".to_owned();
                appends
                    .into_iter()
                    .map(|append| Outcome::Failed {
                        conn: append.conn,
                        cid: append.cid,
                        reason: reason.clone(),
                    })
                    .collect()
            }
        }
    }

    /// Inserts a batch in one transaction. Seqs continue from `latest`, which
    /// is only trusted by the caller if this returns `Ok`.
    fn insert_all(
        &mut self,
        appends: &[NewMessage],
        latest: &mut HashMap<String, u64>,
    ) -> rusqlite::Result<Vec<Outcome>> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
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
                let seq = latest.get_mut(&append.room).expect("seeded by caller");
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
        Ok(outcomes)
    }
}
