//! The schema, created and upgraded at start-up by numbered migrations.
//!
//! Several instances may start at once against one database, so migrating
//! happens under a PostgreSQL advisory lock: the first instance migrates,
//! the others wait and then find nothing left to do. Each migration runs in
//! its own transaction and records its number in `lanchat_migrations`.

use anyhow::{Context as _, bail};
use deadpool_postgres::Client;

/// The advisory lock's key: "LNCH", as the SQLite file's application id.
const MIGRATION_LOCK: i64 = 0x4C4E_4348;

/// Each migration: its number, what it does, and its SQL.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "the tables", VERSION_1),
    (2, "the host's rules", VERSION_2),
    (3, "bots' messages", VERSION_3),
];

/// Version 1: everything the SQLite schema holds at its version 7, plus
/// what several instances share: each room's latest seq (`room_seqs`, the
/// row a writer locks to take the next seqs) and who is online where.
const VERSION_1: &str = "
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO meta (key, value) VALUES ('history_id', gen_random_uuid()::text);
CREATE TABLE claims (
    name_key   text   PRIMARY KEY,
    user_id    text   NOT NULL UNIQUE,
    name       text   NOT NULL,
    token_hash bytea  NOT NULL,
    last_seen  bigint NOT NULL
);
CREATE TABLE rooms (
    room        text   PRIMARY KEY,
    name        text   NOT NULL,
    kind        text   NOT NULL,
    created     bigint NOT NULL,
    invite_hash bytea
);
-- Each room's latest seq. A writer locks its room's row for the whole
-- transaction that logs entries, so seqs are gap-free across instances.
CREATE TABLE room_seqs (
    room   text   PRIMARY KEY,
    latest bigint NOT NULL
);
CREATE TABLE members (
    room      text    NOT NULL,
    user_id   text    NOT NULL,
    last_read bigint  NOT NULL DEFAULT 0,
    muted     boolean NOT NULL DEFAULT false,
    notify    text    NOT NULL DEFAULT 'mentions',
    PRIMARY KEY (room, user_id)
);
CREATE TABLE invites (
    room    text NOT NULL,
    user_id text NOT NULL,
    PRIMARY KEY (room, user_id)
);
CREATE TABLE messages (
    room         text    NOT NULL,
    seq          bigint  NOT NULL,
    id           text    NOT NULL,
    username     text    NOT NULL,
    body         text    NOT NULL,
    ts           bigint  NOT NULL,
    cid          text,
    generated    boolean NOT NULL DEFAULT false,
    html         text    NOT NULL DEFAULT '',
    version      bigint  NOT NULL,
    edited       bigint,
    deleted      boolean NOT NULL DEFAULT false,
    reply_to     bigint,
    mentions     text,
    big          boolean NOT NULL DEFAULT false,
    user_id      text,
    -- What searches match (the text and the files' names), and the order
    -- results come in; both NULL when the message is not searchable.
    words        text,
    search_id    bigint,
    links        boolean NOT NULL DEFAULT false,
    shares_files boolean NOT NULL DEFAULT false,
    PRIMARY KEY (room, seq)
);
CREATE UNIQUE INDEX messages_by_cid ON messages (room, username, cid) WHERE cid IS NOT NULL;
CREATE INDEX messages_by_version ON messages (room, version);
CREATE INDEX messages_by_ts ON messages (room, ts);
CREATE UNIQUE INDEX messages_by_search ON messages (search_id);
CREATE INDEX messages_by_author ON messages (user_id, search_id);
CREATE INDEX messages_words ON messages USING gin (words gin_trgm_ops);
CREATE SEQUENCE search_order;
CREATE TABLE files (
    id       text   PRIMARY KEY,
    sha256   text   NOT NULL,
    name     text   NOT NULL,
    size     bigint NOT NULL,
    mime     text   NOT NULL,
    width    integer,
    height   integer,
    thumb    text,
    room     text   NOT NULL,
    uploader text   NOT NULL,
    created  bigint NOT NULL
);
CREATE TABLE message_files (
    room     text    NOT NULL,
    seq      bigint  NOT NULL,
    position integer NOT NULL,
    file_id  text    NOT NULL,
    PRIMARY KEY (room, seq, position)
);
CREATE INDEX message_files_by_file ON message_files (file_id);
CREATE TABLE reactions (
    room  text   NOT NULL,
    seq   bigint NOT NULL,
    emoji text   NOT NULL,
    who   text   NOT NULL,
    name  text   NOT NULL,
    at    bigint NOT NULL,
    PRIMARY KEY (room, seq, emoji, who)
);
CREATE TABLE changes (
    room     text    NOT NULL,
    seq      bigint  NOT NULL,
    kind     text    NOT NULL,
    target   bigint  NOT NULL,
    username text    NOT NULL,
    cid      text,
    emoji    text,
    added    boolean,
    PRIMARY KEY (room, seq)
);
CREATE UNIQUE INDEX changes_by_cid ON changes (room, username, cid) WHERE cid IS NOT NULL;
-- The running instances, each heartbeating its row, and the names each
-- holds online.
CREATE TABLE instances (
    id   text   PRIMARY KEY,
    seen bigint NOT NULL
);
CREATE TABLE presence (
    instance text NOT NULL,
    name     text NOT NULL,
    user_id  text,
    PRIMARY KEY (instance, name)
);
-- Frames for other instances too large for a notification's payload.
CREATE TABLE relays (
    id   bigserial PRIMARY KEY,
    at   bigint NOT NULL,
    body text   NOT NULL
);
";

/// Version 2: what the SQLite schema's version 8 adds: the host's rules,
/// one row each, their value as JSON (see `crate::host`); host actions
/// shown in rooms (a message's `system` event), tombstones the host made,
/// and where each room's log was cut by its retention (its latest seq stays
/// in `room_seqs`).
const VERSION_2: &str = "
CREATE TABLE host_state (
    key   text PRIMARY KEY,
    value text NOT NULL
);
ALTER TABLE messages ADD COLUMN system text;
ALTER TABLE messages ADD COLUMN removed boolean NOT NULL DEFAULT false;
CREATE TABLE expired (
    room    text   PRIMARY KEY,
    through bigint NOT NULL
);
";

/// Version 3: what the SQLite schema's version 9 adds: messages bots
/// posted are marked (the bots are host rules in `host_state`).
const VERSION_3: &str = "
ALTER TABLE messages ADD COLUMN bot boolean NOT NULL DEFAULT false;
";

/// Brings the database to the newest schema this build knows, waiting for
/// any other instance that is migrating it. Refuses a database with tables
/// of another program's, or one migrated by a newer lanchat.
pub async fn migrate(client: &mut Client) -> anyhow::Result<()> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .context("cannot take the migration lock")?;
    let migrated = run_migrations(client).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    migrated?;
    unlocked.context("cannot release the migration lock")?;
    Ok(())
}

async fn run_migrations(client: &mut Client) -> anyhow::Result<()> {
    let ours: bool = client
        .query_one("SELECT to_regclass('lanchat_migrations') IS NOT NULL", &[])
        .await?
        .get(0);
    if !ours {
        let tables: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
                &[],
            )
            .await?
            .get(0);
        if tables > 0 {
            bail!(
                "this database has tables of another program's; refusing to touch it \
                 (give lanchat a database of its own)"
            );
        }
        client
            .batch_execute(
                "CREATE TABLE lanchat_migrations (
                     version integer PRIMARY KEY,
                     about   text    NOT NULL,
                     applied bigint  NOT NULL
                 )",
            )
            .await
            .context("cannot create the schema")?;
    }
    let current: i32 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM lanchat_migrations",
            &[],
        )
        .await?
        .get(0);
    let newest = MIGRATIONS.last().map_or(0, |(version, _, _)| *version);
    if current > newest {
        bail!(
            "this database was upgraded by a newer lanchat (schema {current}; this one knows \
             up to {newest})"
        );
    }
    for (version, about, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
        let tx = client.transaction().await?;
        tx.batch_execute(sql)
            .await
            .with_context(|| format!("cannot apply migration {version} ({about})"))?;
        tx.execute(
            "INSERT INTO lanchat_migrations (version, about, applied) VALUES ($1, $2, $3)",
            &[version, about, &crate::clock::now_millis()],
        )
        .await?;
        tx.commit().await?;
        log::info!("PostgreSQL schema migrated to version {version} ({about})");
    }
    Ok(())
}
