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
