//! The SQLite file: opening it safely, and creating or upgrading its
//! schema.

use std::path::Path;

use anyhow::{Context as _, bail};
use rusqlite::{Connection, OpenFlags};

use crate::ids::private_room_id;

/// Marks a SQLite file as ours ("LNCH"), so we never adopt someone else's.
const APPLICATION_ID: i64 = 0x4C4E_4348;
/// The schema this build writes; each step in [`init_schema`] takes a file
/// one version further.
pub const SCHEMA_VERSION: i64 = 9;

/// Opens the history file at `path`, refusing a file that is not ours, is
/// corrupt, or cannot take WAL mode. Nothing is written to an existing file
/// until it is known to be lanchat's.
pub fn open_file(path: &Path) -> anyhow::Result<Connection> {
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

/// Sets the durability pragmas and brings the schema to the current version.
pub fn init_schema(conn: &Connection) -> rusqlite::Result<()> {
    // FULL: a commit is on disk before its message is acknowledged. Batching
    // makes that one fsync per batch rather than per message.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // A deleted message's text is overwritten on disk, not left in a free
    // page for anyone with the file to read.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version < 3 {
        create_tables(conn)?;
    }
    if version < 4 {
        name_rooms_and_move_private_ones(conn)?;
    }
    if version < 5 {
        add_files(conn)?;
    }
    if version < 6 {
        add_the_log(conn)?;
    }
    if version < 7 {
        add_search(conn)?;
    }
    if version < 8 {
        add_host_state(conn)?;
    }
    if version < 9 {
        add_bots(conn)?;
    }
    Ok(())
}

/// Versions 1 to 3: every table, created if it is missing. Each statement is
/// idempotent, so a file at any of those versions catches up.
fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
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
         PRAGMA user_version = 3;
         COMMIT;"
    ))
}

/// Version 4: rooms get a name beside their id, and private rooms move to
/// ids of their own (`p:` and random hex), so that creating a room can never
/// collide with a private one and so reveal that it exists.
fn name_rooms_and_move_private_ones(conn: &Connection) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(
        "ALTER TABLE rooms ADD COLUMN name TEXT NOT NULL DEFAULT '';
         UPDATE rooms SET name = room WHERE kind != 'dm';",
    )?;
    let private: Vec<String> = tx
        .prepare("SELECT room FROM rooms WHERE kind = 'private' AND room NOT LIKE 'p:%'")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for old in private {
        let new = private_room_id();
        for table in ["rooms", "members", "invites", "messages"] {
            tx.execute(
                &format!("UPDATE {table} SET room = ?1 WHERE room = ?2"),
                [&new, &old],
            )?;
        }
    }
    tx.pragma_update(None, "user_version", 4)?;
    tx.commit()
}

/// Version 5: finished uploads, and which messages share them. A message
/// with files but no text of its own keeps a generated description for
/// clients that do not show files, marked so the page knows.
fn add_files(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "BEGIN;
         CREATE TABLE files (
             id       TEXT    PRIMARY KEY,
             sha256   TEXT    NOT NULL,
             name     TEXT    NOT NULL,
             size     INTEGER NOT NULL,
             mime     TEXT    NOT NULL,
             width    INTEGER,
             height   INTEGER,
             thumb    TEXT,
             room     TEXT    NOT NULL,
             uploader TEXT    NOT NULL,
             created  INTEGER NOT NULL
         );
         CREATE TABLE message_files (
             room     TEXT    NOT NULL,
             seq      INTEGER NOT NULL,
             position INTEGER NOT NULL,
             file_id  TEXT    NOT NULL,
             PRIMARY KEY (room, seq, position)
         ) WITHOUT ROWID;
         CREATE INDEX message_files_by_file ON message_files (file_id);
         ALTER TABLE messages ADD COLUMN generated INTEGER NOT NULL DEFAULT 0;
         PRAGMA user_version = 5;
         COMMIT;",
    )
}

/// Version 6: the log. A message keeps its current state (rendered HTML,
/// the seq of its last change, edited, deleted, reply, mentions, its
/// author's user id), its reactions, and every edit, deletion and reaction
/// is an entry in `changes` with its own seq (and its cid, so a retry is
/// applied once). Messages from before are rendered here, once.
fn add_the_log(conn: &Connection) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(
        "ALTER TABLE messages ADD COLUMN html TEXT NOT NULL DEFAULT '';
         ALTER TABLE messages ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE messages ADD COLUMN edited INTEGER;
         ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE messages ADD COLUMN reply_to INTEGER;
         ALTER TABLE messages ADD COLUMN mentions TEXT;
         ALTER TABLE messages ADD COLUMN big INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE messages ADD COLUMN user_id TEXT;
         UPDATE messages SET version = seq;
         CREATE INDEX messages_by_version ON messages (room, version);
         CREATE TABLE reactions (
             room  TEXT    NOT NULL,
             seq   INTEGER NOT NULL,
             emoji TEXT    NOT NULL,
             who   TEXT    NOT NULL,
             name  TEXT    NOT NULL,
             at    INTEGER NOT NULL,
             PRIMARY KEY (room, seq, emoji, who)
         ) WITHOUT ROWID;
         CREATE TABLE changes (
             room     TEXT    NOT NULL,
             seq      INTEGER NOT NULL,
             kind     TEXT    NOT NULL,
             target   INTEGER NOT NULL,
             username TEXT    NOT NULL,
             cid      TEXT,
             emoji    TEXT,
             added    INTEGER,
             PRIMARY KEY (room, seq)
         ) WITHOUT ROWID;
         CREATE UNIQUE INDEX changes_by_cid
             ON changes (room, username, cid) WHERE cid IS NOT NULL;",
    )?;
    let old: Vec<(String, i64, String)> = tx
        .prepare("SELECT room, seq, body FROM messages")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    {
        let mut update =
            tx.prepare("UPDATE messages SET html = ?3, big = ?4 WHERE room = ?1 AND seq = ?2")?;
        for (room, seq, body) in old {
            let rendered = crate::text::render(&body, &|_| None);
            update.execute(rusqlite::params![room, seq, rendered.html, rendered.big])?;
        }
    }
    tx.pragma_update(None, "user_version", 6)?;
    tx.commit()
}

/// Version 7: the search index (FTS5, trigram), filled from the messages
/// there are, and what searches by filters alone go through: indexes in the
/// index's order (newest first) by author, and of the messages with links,
/// files or mentions; an index on time for jumps to a date; and each
/// member's notification settings.
fn add_search(conn: &Connection) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(
        "-- Contentless: the text is already in messages; the index keeps
         -- only trigrams, and `search_id` links the two.
         CREATE VIRTUAL TABLE search USING fts5(
             body, content = '', contentless_delete = 1, tokenize = 'trigram'
         );
         -- A deleted message's words leave the index's pages too, not only
         -- its rows (as secure_delete does for the tables).
         INSERT INTO search (search, rank) VALUES ('secure-delete', 1);
         -- Merged by the writer when it is idle (see search::merge_step).
         INSERT INTO search (search, rank) VALUES ('automerge', 0);
         ALTER TABLE messages ADD COLUMN search_id INTEGER;
         ALTER TABLE messages ADD COLUMN links INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE messages ADD COLUMN shares_files INTEGER NOT NULL DEFAULT 0;
         UPDATE messages SET links = html LIKE '%<a %', shares_files = EXISTS (
             SELECT 1 FROM message_files f WHERE f.room = messages.room AND f.seq = messages.seq
         );
         CREATE INDEX messages_by_ts ON messages (room, ts);
         CREATE UNIQUE INDEX messages_by_search ON messages (search_id);
         CREATE INDEX messages_by_author ON messages (user_id, search_id);
         CREATE INDEX messages_with_links ON messages (search_id) WHERE links = 1;
         CREATE INDEX messages_with_files ON messages (search_id) WHERE shares_files = 1;
         CREATE INDEX messages_with_mentions ON messages (search_id) WHERE mentions IS NOT NULL;
         ALTER TABLE members ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE members ADD COLUMN notify TEXT NOT NULL DEFAULT 'mentions';",
    )?;
    super::search::build(&tx)?;
    tx.pragma_update(None, "user_version", 7)?;
    tx.commit()
}

/// Version 8: the host's rules (the host secret's hash, mutes, bans, each
/// room's rules), one row each, keyed by what they are about, with their
/// value as JSON (see `crate::host`); host actions shown in rooms (a
/// message's `system` event, as JSON), tombstones the host made, and where
/// each room's log was cut by its retention (with its latest seq then, so
/// seqs go on from there however little is left).
fn add_host_state(conn: &Connection) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(
        "CREATE TABLE host_state (
             key   TEXT PRIMARY KEY,
             value TEXT NOT NULL
         ) WITHOUT ROWID;
         ALTER TABLE messages ADD COLUMN system TEXT;
         ALTER TABLE messages ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
         CREATE TABLE expired (
             room    TEXT    PRIMARY KEY,
             through INTEGER NOT NULL,
             latest  INTEGER NOT NULL
         ) WITHOUT ROWID;",
    )?;
    tx.pragma_update(None, "user_version", 8)?;
    tx.commit()
}

/// Version 9: messages bots posted (`POST /api/rooms/<room>/messages`) are
/// marked, so every page shows them as a bot's. The bots themselves are host
/// rules (`host_state`), kept with their token's hash only.
fn add_bots(conn: &Connection) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch("ALTER TABLE messages ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;")?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()
}
