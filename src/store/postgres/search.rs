//! Searches in PostgreSQL: each term is a case-insensitive substring of
//! what the message says (its text and its files' names), as with SQLite's
//! trigram index, found through a `pg_trgm` GIN index on `words`. Results
//! come newest first by `search_id`, given from a sequence as messages are
//! stored. Privacy is the same: only the rooms in the request are read.
//!
//! Every search stops after [`TIME_LIMIT`], each statement under a timeout
//! for its share of what time is left. A search first reads all it may
//! match at once, with three quarters of the time: an index narrows most searches, so
//! they finish then. One that does not (a term too short for the trigram
//! index, in a long history) goes on reading the `search_id`s downwards in
//! windows, the first [`FIRST_WINDOW`] wide and each next one twice as
//! wide. Running out of time, it answers with what it found, marked
//! partial, and its `next` goes on from the last window it finished, even
//! when it found nothing yet. (A single statement cannot say how far it
//! got: PostgreSQL often sorts the matches before returning the first, so
//! one cut short gave nothing and no way on, and a client took that for no
//! results.)

use std::time::{Duration, Instant};

use deadpool_postgres::{Client, GenericClient};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::messages::load_all;
use crate::store::records::{Cursor, Found, SearchError, SearchRequest};

/// Matches counted at most, for "1,000+ results".
pub const TOTAL_CAP: usize = 1000;
/// The longest a search may run.
const TIME_LIMIT: Duration = Duration::from_millis(250);
/// How many `search_id`s the first window spans. Small, so that even on a
/// busy machine one window finishes in time and a search always gets on.
const FIRST_WINDOW: i64 = 2_000;

type Param = Box<dyn ToSql + Sync + Send>;

/// A search as SQL: its `WHERE` clause and the arguments.
fn plan(request: &SearchRequest) -> (String, Vec<Param>) {
    let query = &request.query;
    let mut args: Vec<Param> = Vec::new();
    let mut arg = |value: Param| {
        args.push(value);
        format!("${}", args.len())
    };
    let mut sql = format!(
        "m.search_id IS NOT NULL AND NOT m.deleted AND m.room = ANY({})",
        arg(Box::new(request.rooms.clone()))
    );
    for term in &query.terms {
        let pattern = format!("%{}%", escape_like(term));
        sql.push_str(&format!(
            " AND m.words ILIKE {} ESCAPE '\\'",
            arg(Box::new(pattern))
        ));
    }
    if let Some(from) = &query.from {
        match &request.from_user {
            Some(user) => {
                sql.push_str(&format!(" AND m.user_id = {}", arg(Box::new(user.clone()))))
            }
            None => sql.push_str(&format!(
                " AND lower(m.username) = lower({})",
                arg(Box::new(from.clone()))
            )),
        }
    }
    if let Some(before) = query.before {
        sql.push_str(&format!(" AND m.ts < {}", arg(Box::new(before))));
    }
    if let Some(after) = query.after {
        sql.push_str(&format!(" AND m.ts >= {}", arg(Box::new(after))));
    }
    if query.has_file {
        sql.push_str(" AND m.shares_files");
    }
    if query.has_link {
        sql.push_str(" AND m.links");
    }
    if query.mentions_me {
        match &request.user {
            Some(user) => sql.push_str(&format!(
                " AND m.mentions IS NOT NULL AND (strpos(m.mentions, {}) > 0
                  OR strpos(m.mentions, '\"everyone\":true') > 0)",
                arg(Box::new(format!("\"{user}\"")))
            )),
            None => sql.push_str(" AND false"),
        }
    }
    (sql, args)
}

/// Runs `request`: the newest matches first, in their current state. A
/// first page also counts the matches, up to [`TOTAL_CAP`], in the same
/// pass.
pub async fn search(client: &mut Client, request: &SearchRequest) -> Result<Found, SearchError> {
    if request.rooms.is_empty() {
        return Ok(Found {
            total: Some(0),
            ..Found::default()
        });
    }
    let deadline = Instant::now() + TIME_LIMIT;
    let (filter, mut args) = plan(request);
    let counting = request.before.is_none();
    let wanted = request.limit + 1;
    let scan = if counting {
        TOTAL_CAP.max(wanted)
    } else {
        wanted
    };
    let low = args.len() + 1;
    args.push(Box::new(0_i64));
    args.push(Box::new(0_i64));
    let listing = format!(
        "SELECT m.room, m.seq, m.search_id FROM messages m
         WHERE {filter} AND m.search_id >= ${low} AND m.search_id < ${high}
         ORDER BY m.search_id DESC LIMIT ${limit}",
        high = low + 1,
        limit = low + 2,
    );
    let mut keys: Vec<(String, u64, i64)> = Vec::new();
    let mut total = 0;
    // Every search_id from `top` up has been read.
    let mut top = match request.before {
        Some(cursor) => cursor.0,
        None => {
            let newest: Option<i64> = client
                .query_one("SELECT max(search_id) FROM messages", &[])
                .await
                .map_err(store_error)?
                .get(0);
            newest.map_or(0, |newest| newest + 1)
        }
    };
    let finished = {
        let mut tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(store_error)?;
        let statement = tx.prepare(&listing).await.map_err(store_error)?;
        // None: all that is left at once, the plan PostgreSQL likes best.
        let mut width: Option<i64> = None;
        loop {
            // search_ids start at 1.
            if top <= 1 || total >= scan {
                break true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break false;
            }
            // The whole gets three quarters of the time: enough when an
            // index narrows the search; a scan not done by then goes on in
            // windows.
            let budget = if width.is_none() { left * 3 / 4 } else { left };
            let bottom = width.map_or(0, |width| top.saturating_sub(width).max(0));
            args[low - 1] = Box::new(bottom);
            args[low] = Box::new(top);
            args.push(Box::new((scan - total) as i64));
            let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|arg| &**arg as _).collect();
            // A cancelled statement spoils only its savepoint.
            let attempt = tx.savepoint("attempt").await.map_err(store_error)?;
            let timeout = format!(
                "SET LOCAL statement_timeout = {}",
                budget.as_millis().max(1)
            );
            attempt.batch_execute(&timeout).await.map_err(store_error)?;
            let found = attempt.query(&statement, &params).await;
            drop(params);
            args.pop();
            let found = match found {
                Ok(found) => {
                    attempt.commit().await.map_err(store_error)?;
                    found
                }
                Err(err) if err.code() == Some(&SqlState::QUERY_CANCELED) => {
                    attempt.rollback().await.map_err(store_error)?;
                    if width.is_none() {
                        width = Some(FIRST_WINDOW);
                        continue;
                    }
                    break false;
                }
                Err(err) => return Err(store_error(err)),
            };
            for row in &found {
                total += 1;
                if keys.len() < wanted {
                    keys.push((row.get(0), row.get::<_, i64>(1) as u64, row.get(2)));
                }
            }
            top = bottom;
            width = width.map(|width| width.saturating_mul(2));
        }
        // Read-only: dropping it rolls it back.
    };
    let next = if keys.len() > request.limit {
        keys.truncate(request.limit);
        keys.last().map(|key| Cursor(key.2))
    } else if finished {
        None
    } else {
        // Cut short: go on below the last window read, found in or not.
        Some(Cursor(top))
    };
    let keys: Vec<(String, u64)> = keys.into_iter().map(|(room, seq, _)| (room, seq)).collect();
    Ok(Found {
        messages: load_all(&*client, &keys).await.map_err(store_error)?,
        total: counting.then_some(total as u64),
        partial: !finished,
        next,
    })
}

fn store_error(err: tokio_postgres::Error) -> SearchError {
    SearchError::Store(err.into())
}

/// `text` for a LIKE pattern, with `%`, `_` and `\` taken literally.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Turns searching on or off, as `--no-search` says. Off, what searches
/// match is emptied; on after being off, it is filled again from the
/// messages, oldest first.
pub async fn turn(client: &mut Client, on: bool) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let was: Option<String> = tx
        .query_opt(
            "SELECT value FROM meta WHERE key = 'search' FOR UPDATE",
            &[],
        )
        .await?
        .map(|row| row.get(0));
    let was_on = was.is_none_or(|value| value == "on");
    if on == was_on {
        return tx.commit().await;
    }
    tx.batch_execute(
        "UPDATE messages SET words = NULL, search_id = NULL WHERE search_id IS NOT NULL",
    )
    .await?;
    if on {
        tx.batch_execute(
            "WITH ordered AS (
                 SELECT room, seq, row_number() OVER (ORDER BY ts, room, seq) AS n
                 FROM messages WHERE NOT deleted
             )
             UPDATE messages m SET search_id = o.n, words = m.body || coalesce((
                 SELECT string_agg(E'\\n' || f.name, '' ORDER BY mf.position)
                 FROM message_files mf JOIN files f ON f.id = mf.file_id
                 WHERE mf.room = m.room AND mf.seq = m.seq), '')
             FROM ordered o WHERE m.room = o.room AND m.seq = o.seq;
             SELECT setval('search_order', greatest((SELECT max(search_id) FROM messages), 1));",
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('search', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&if on { "on" } else { "off" }],
    )
    .await?;
    tx.commit().await
}
