//! Running statements through each connection's cache of prepared
//! statements, so a query is parsed once per connection, not per call.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Error, Row};

pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub async fn rows(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Row>, Error> {
    let statement = client.prepare_cached(sql).await?;
    client.query(&statement, params).await
}

pub async fn one(client: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Row, Error> {
    let statement = client.prepare_cached(sql).await?;
    client.query_one(&statement, params).await
}

pub async fn opt(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Row>, Error> {
    let statement = client.prepare_cached(sql).await?;
    client.query_opt(&statement, params).await
}

pub async fn exec(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, Error> {
    let statement = client.prepare_cached(sql).await?;
    client.execute(&statement, params).await
}

/// A seq as PostgreSQL keeps it (bigint); seqs never come near the top bit.
pub fn big(seq: u64) -> i64 {
    seq.min(i64::MAX as u64) as i64
}
