//! `lanchat migrate --from lanchat.db --to postgres://..`: moves a SQLite
//! history into an empty PostgreSQL database, with its owned names, rooms,
//! members and read marks, files' records, reactions, the change log and
//! the host's rules, and checks that every table arrived whole.
//!
//! Both schemas hold the same tables with the same columns, so each table
//! is copied as it is (with PostgreSQL's binary COPY: a long history moves
//! in seconds, not one round trip per row). What only PostgreSQL keeps is
//! made there: each room's latest seq, and the text searches match. The
//! whole move is one transaction: it lands complete or not at all.

use std::path::Path;

use anyhow::{Context as _, bail};
use futures_util::pin_mut;
use rusqlite::types::Value;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use super::postgres::{self, PgUrl};
use super::sqlite::schema;

/// Each table moved, and its columns with their PostgreSQL types.
const TABLES: &[(&str, &[(&str, Type)])] = &[
    (
        "claims",
        &[
            ("name_key", Type::TEXT),
            ("user_id", Type::TEXT),
            ("name", Type::TEXT),
            ("token_hash", Type::BYTEA),
            ("last_seen", Type::INT8),
        ],
    ),
    (
        "rooms",
        &[
            ("room", Type::TEXT),
            ("name", Type::TEXT),
            ("kind", Type::TEXT),
            ("created", Type::INT8),
            ("invite_hash", Type::BYTEA),
        ],
    ),
    (
        "members",
        &[
            ("room", Type::TEXT),
            ("user_id", Type::TEXT),
            ("last_read", Type::INT8),
            ("muted", Type::BOOL),
            ("notify", Type::TEXT),
        ],
    ),
    ("invites", &[("room", Type::TEXT), ("user_id", Type::TEXT)]),
    (
        "messages",
        &[
            ("room", Type::TEXT),
            ("seq", Type::INT8),
            ("id", Type::TEXT),
            ("username", Type::TEXT),
            ("body", Type::TEXT),
            ("ts", Type::INT8),
            ("cid", Type::TEXT),
            ("generated", Type::BOOL),
            ("html", Type::TEXT),
            ("version", Type::INT8),
            ("edited", Type::INT8),
            ("deleted", Type::BOOL),
            ("reply_to", Type::INT8),
            ("mentions", Type::TEXT),
            ("big", Type::BOOL),
            ("user_id", Type::TEXT),
            ("search_id", Type::INT8),
            ("links", Type::BOOL),
            ("shares_files", Type::BOOL),
            ("system", Type::TEXT),
            ("removed", Type::BOOL),
            ("bot", Type::BOOL),
        ],
    ),
    (
        "files",
        &[
            ("id", Type::TEXT),
            ("sha256", Type::TEXT),
            ("name", Type::TEXT),
            ("size", Type::INT8),
            ("mime", Type::TEXT),
            ("width", Type::INT4),
            ("height", Type::INT4),
            ("thumb", Type::TEXT),
            ("room", Type::TEXT),
            ("uploader", Type::TEXT),
            ("created", Type::INT8),
        ],
    ),
    (
        "message_files",
        &[
            ("room", Type::TEXT),
            ("seq", Type::INT8),
            ("position", Type::INT4),
            ("file_id", Type::TEXT),
        ],
    ),
    (
        "reactions",
        &[
            ("room", Type::TEXT),
            ("seq", Type::INT8),
            ("emoji", Type::TEXT),
            ("who", Type::TEXT),
            ("name", Type::TEXT),
            ("at", Type::INT8),
        ],
    ),
    (
        "changes",
        &[
            ("room", Type::TEXT),
            ("seq", Type::INT8),
            ("kind", Type::TEXT),
            ("target", Type::INT8),
            ("username", Type::TEXT),
            ("cid", Type::TEXT),
            ("emoji", Type::TEXT),
            ("added", Type::BOOL),
        ],
    ),
    ("host_state", &[("key", Type::TEXT), ("value", Type::TEXT)]),
    ("expired", &[("room", Type::TEXT), ("through", Type::INT8)]),
];

/// How many rows of each table moved, in [`TABLES`]' order.
pub struct Moved {
    pub counts: Vec<(&'static str, u64)>,
}

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|(table, count)| format!("{count} {}", table.replace('_', " ")))
            .collect();
        write!(f, "{}", parts.join(", "))
    }
}

/// Moves the history in `from` into the empty database at `to`.
pub async fn migrate(from: &Path, to: &PgUrl) -> anyhow::Result<Moved> {
    let shown = from.display();
    if !from.is_file() {
        bail!("{shown} does not exist (give the history file with --from)");
    }
    let source = schema::open_file(from)?;
    schema::init_schema(&source).with_context(|| format!("cannot read {shown}"))?;
    let pool = postgres::pool(to, 1)?;
    let mut client = pool
        .get()
        .await
        .map_err(|err| anyhow::anyhow!("cannot reach PostgreSQL at {to}: {err}"))?;
    postgres::migrate_schema(&mut client)
        .await
        .with_context(|| format!("cannot prepare the database at {to}"))?;
    let tx = client.transaction().await?;
    let held: i64 = tx
        .query_one(
            "SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM claims)
                  + (SELECT count(*) FROM rooms WHERE room <> 'lobby')",
            &[],
        )
        .await?
        .get(0);
    if held > 0 {
        bail!("the database at {to} already holds a history; migrate into an empty one");
    }
    // An instance that started on it made an empty lobby.
    tx.batch_execute("DELETE FROM rooms; DELETE FROM room_seqs;")
        .await?;
    let mut counts = Vec::with_capacity(TABLES.len());
    for (table, columns) in TABLES {
        let copied = copy_table(&source, &tx, table, columns)
            .await
            .with_context(|| format!("cannot move the table {table}"))?;
        counts.push((*table, copied));
    }
    let history_id: String = source
        .query_row(
            "SELECT value FROM meta WHERE key = 'history_id'",
            [],
            |row| row.get(0),
        )
        .context("the history file has no id")?;
    // The same id: clients that knew the old server resume by seq.
    tx.execute(
        "UPDATE meta SET value = $1 WHERE key = 'history_id'",
        &[&history_id],
    )
    .await?;
    tx.batch_execute(
        "INSERT INTO room_seqs (room, latest)
             SELECT room, max(seq) FROM (
                 SELECT room, seq FROM messages UNION ALL SELECT room, seq FROM changes
             ) AS log GROUP BY room;
         UPDATE messages m SET words = m.body || coalesce((
                 SELECT string_agg(E'\\n' || f.name, '' ORDER BY mf.position)
                 FROM message_files mf JOIN files f ON f.id = mf.file_id
                 WHERE mf.room = m.room AND mf.seq = m.seq), '')
             WHERE m.search_id IS NOT NULL;
         SELECT setval('search_order', coalesce((SELECT max(search_id) FROM messages), 0) + 1, false);",
    )
    .await?;
    // Where retention cut a room's log, its seqs go on from its latest then.
    let cut: Vec<(String, i64)> = source
        .prepare("SELECT room, latest FROM expired")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (room, latest) in cut {
        tx.execute(
            "INSERT INTO room_seqs (room, latest) VALUES ($1, $2)
             ON CONFLICT (room) DO UPDATE SET latest = greatest(room_seqs.latest, excluded.latest)",
            &[&room, &latest],
        )
        .await?;
    }
    for (table, expected) in &counts {
        let found: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await?
            .get(0);
        if found as u64 != *expected {
            bail!("{table}: {expected} rows read but {found} arrived; nothing was moved");
        }
    }
    tx.commit().await?;
    Ok(Moved { counts })
}

/// Copies every row of `table`; returns how many.
async fn copy_table(
    source: &rusqlite::Connection,
    tx: &tokio_postgres::Transaction<'_>,
    table: &str,
    columns: &[(&str, Type)],
) -> anyhow::Result<u64> {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let types: Vec<Type> = columns.iter().map(|(_, ty)| ty.clone()).collect();
    let list = names.join(", ");
    let sink = tx
        .copy_in(&format!("COPY {table} ({list}) FROM STDIN BINARY"))
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    let mut select = source.prepare(&format!("SELECT {list} FROM {table}"))?;
    let mut rows = select.query([])?;
    let mut copied = 0;
    while let Some(row) = rows.next()? {
        let mut values: Vec<Box<dyn ToSql + Sync + Send>> = Vec::with_capacity(columns.len());
        for (i, ty) in types.iter().enumerate() {
            values.push(convert(row.get::<_, Value>(i)?, ty)?);
        }
        let refs: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|value| value.as_ref() as &(dyn ToSql + Sync))
            .collect();
        writer.as_mut().write(&refs).await?;
        copied += 1;
    }
    writer.finish().await?;
    Ok(copied)
}

/// A SQLite value as the PostgreSQL column's type wants it.
fn convert(value: Value, ty: &Type) -> anyhow::Result<Box<dyn ToSql + Sync + Send>> {
    Ok(match (value, ty) {
        (Value::Null, &Type::TEXT) => Box::new(None::<String>),
        (Value::Null, &Type::INT8) => Box::new(None::<i64>),
        (Value::Null, &Type::INT4) => Box::new(None::<i32>),
        (Value::Null, &Type::BOOL) => Box::new(None::<bool>),
        (Value::Null, &Type::BYTEA) => Box::new(None::<Vec<u8>>),
        (Value::Text(text), &Type::TEXT) => Box::new(text),
        (Value::Integer(n), &Type::INT8) => Box::new(n),
        (Value::Integer(n), &Type::INT4) => Box::new(i32::try_from(n)?),
        (Value::Integer(n), &Type::BOOL) => Box::new(n != 0),
        (Value::Blob(bytes), &Type::BYTEA) => Box::new(bytes),
        (value, ty) => bail!("a {:?} where a {ty} belongs", value.data_type()),
    })
}
