//! Changes a command makes beside a running server (`lanchat host-link`),
//! straight to the database the server uses. The server reads the host's
//! rules again every few seconds, so it takes them in by itself.

use anyhow::{Context as _, bail};

use super::Location;
use super::postgres;
use super::sqlite::schema;

/// Stores the host rule `key` as `value` (JSON) in the history at
/// `location`, which must exist already.
pub async fn set_host_rule(location: &Location, key: &str, value: &str) -> anyhow::Result<()> {
    match location {
        Location::File(path) => {
            let shown = path.display();
            if !path.is_file() {
                bail!("{shown} does not exist: give the history file the server uses with --db");
            }
            let conn = schema::open_file(path)?;
            schema::init_schema(&conn).with_context(|| format!("cannot read {shown}"))?;
            conn.execute(
                "INSERT OR REPLACE INTO host_state (key, value) VALUES (?1, ?2)",
                rusqlite::params![key, value],
            )
            .with_context(|| format!("cannot write to {shown}"))?;
            Ok(())
        }
        Location::Postgres(url) => {
            let pool = postgres::pool(url, 1)?;
            let mut client = pool
                .get()
                .await
                .map_err(|err| anyhow::anyhow!("cannot reach PostgreSQL at {url}: {err}"))?;
            postgres::migrate_schema(&mut client)
                .await
                .with_context(|| format!("cannot prepare the database at {url}"))?;
            client
                .execute(
                    "INSERT INTO host_state (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&key, &value],
                )
                .await
                .with_context(|| format!("cannot write to the database at {url}"))?;
            Ok(())
        }
        Location::Memory => bail!("a history in memory cannot be reached from outside"),
    }
}

/// What `lanchat export` reads from a history, beside a running server or
/// not: rooms, files' records, and each room's messages. SQLite is opened
/// read-only; nothing is written to either database.
pub enum Reader {
    Sqlite(rusqlite::Connection),
    Postgres(Box<deadpool_postgres::Client>),
}

impl Reader {
    pub async fn open(location: &Location) -> anyhow::Result<Reader> {
        match location {
            Location::File(path) => {
                let shown = path.display();
                if !path.is_file() {
                    bail!("{shown} does not exist: give the history file with --db");
                }
                let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = rusqlite::Connection::open_with_flags(path, flags)
                    .with_context(|| format!("cannot open {shown}"))?;
                conn.pragma_update(None, "busy_timeout", 5000)?;
                let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
                if version < super::sqlite::schema::SCHEMA_VERSION {
                    bail!("{shown} is from an older lanchat: start the server on it once first");
                }
                Ok(Reader::Sqlite(conn))
            }
            Location::Postgres(url) => {
                let pool = postgres::pool(url, 1)?;
                let client = pool
                    .get()
                    .await
                    .map_err(|err| anyhow::anyhow!("cannot reach PostgreSQL at {url}: {err}"))?;
                Ok(Reader::Postgres(Box::new(client)))
            }
            Location::Memory => bail!("a history in memory cannot be read from outside"),
        }
    }

    pub async fn rooms(&self) -> anyhow::Result<Vec<super::RoomRecord>> {
        Ok(match self {
            Reader::Sqlite(conn) => super::sqlite::load::load_rooms(conn)?,
            Reader::Postgres(client) => postgres::load::rooms(&**client, None).await?,
        })
    }

    pub async fn files(&self) -> anyhow::Result<Vec<super::FileRecord>> {
        Ok(match self {
            Reader::Sqlite(conn) => super::sqlite::load::load_files(conn)?,
            Reader::Postgres(client) => postgres::load::files(&**client, None).await?,
        })
    }

    /// Every message of `room`, oldest first, in its current state.
    pub async fn messages(&self, room: &str) -> anyhow::Result<Vec<crate::protocol::ChatMessage>> {
        let mut walk = super::records::Backwards::new();
        loop {
            let before = walk.before();
            let page = match self {
                Reader::Sqlite(conn) => {
                    super::sqlite::messages::read_page(conn, room, before, 500)?
                }
                Reader::Postgres(client) => {
                    postgres::messages::read_page(&**client, room, before, 500).await?
                }
            };
            if !walk.take(page) {
                return Ok(walk.messages());
            }
        }
    }
}
