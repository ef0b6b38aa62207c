//! The shared backend: one PostgreSQL that several instances write to at
//! once (`--postgres`). The parts mirror [`super::sqlite`]: [`schema`]
//! (versioned migrations under an advisory lock), [`load`] (start-up, and
//! reading single rooms, claims and files again), [`messages`] and [`log`]
//! (the rooms' logs), [`records`] (names, rooms, files) and [`search`].
//!
//! Gap-free seqs across instances: a batch locks each of its rooms' rows in
//! `room_seqs` (in one order, so two instances never deadlock), takes the
//! next seqs from it, and writes the new latest back in the same
//! transaction as the entries. Another instance writing to the room waits
//! for the lock, so no seq is taken twice and none is skipped. If the row
//! says others wrote since this instance last looked, their entries are
//! read inside the same transaction and reported first, so this instance's
//! fan-out and tail see every room's log in order.
//!
//! The store's writer thread calls the backend, which blocks on the
//! server's runtime for each call; connections come from a pool that
//! replaces broken ones, so after PostgreSQL restarts the next batch simply
//! reconnects.

pub mod cluster;
pub mod load;
mod log;
pub(super) mod messages;
pub mod notice;
pub mod records;
mod retention;
mod schema;
mod search;
mod sql;
mod url;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime,
};
use tokio::runtime::Handle;

pub use notice::{News, Notice};
pub use records::Touched;
pub use url::PgUrl;

use super::backend::{Backend, Searcher};
use super::log::{Entry, Outcome, refused_not_found};
use super::records::{
    Change, Cutoff, Expired, Found, Loaded, Page, Relay, SearchError, SearchRequest,
};
use crate::audience::Audience;
use crate::clock::now_millis;
use crate::metrics;
use messages::Inserts;
use sql::{big, exec, one, rows};

/// Connections the store keeps: the writer's, the searcher's and spares.
const POOL_SIZE: usize = 4;
/// How long to wait for a connection from the pool, or for a new one.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// A pool of connections to `url`, which replaces broken ones as they are
/// taken.
pub fn pool(url: &PgUrl, size: usize) -> anyhow::Result<Pool> {
    let manager = Manager::from_config(
        url.config().clone(),
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(POOL_TIMEOUT))
        .create_timeout(Some(POOL_TIMEOUT))
        .recycle_timeout(Some(POOL_TIMEOUT))
        .build()
        .context("cannot set up the PostgreSQL connections")
}

/// A connection from the store's `pool`, its wait counted for `/metrics`.
async fn take(pool: &Pool) -> Result<deadpool_postgres::Client, PoolError> {
    let started = Instant::now();
    let client = pool.get().await;
    metrics::get()
        .postgres_pool_wait_seconds
        .observe(metrics::seconds_since(started));
    client
}

/// Brings the database to the newest schema, as [`Postgres::open`] does.
pub async fn migrate_schema(client: &mut deadpool_postgres::Client) -> anyhow::Result<()> {
    schema::migrate(client).await
}

/// Why no connection could be had, in words: what PostgreSQL answered
/// (`database "x" does not exist`, `password authentication failed for
/// user "y"`), or why it could not be reached (`Connection refused`). The
/// pool's and the client's own messages alone say only "db error".
fn why(err: &PoolError) -> String {
    match err {
        PoolError::Backend(err) => match (err.as_db_error(), std::error::Error::source(err)) {
            (Some(db), _) => db.message().to_owned(),
            (None, Some(source)) => format!("{err}: {source}"),
            (None, None) => err.to_string(),
        },
        PoolError::Timeout(_) => format!("no connection within {}s", POOL_TIMEOUT.as_secs()),
        err => err.to_string(),
    }
}

pub struct Postgres {
    pool: Pool,
    runtime: Handle,
    /// Each room's latest seq as this instance has reported it.
    latest: HashMap<String, u64>,
    /// Whether new messages are made searchable.
    search: bool,
    /// This instance, as its notices to the others name it.
    instance: String,
}

impl Postgres {
    /// Connects, migrates the schema and reads back what start-up needs.
    /// Must run on the runtime the backend will block on.
    pub async fn open(
        url: &PgUrl,
        recent_capacity: usize,
        search: bool,
        instance: &str,
    ) -> anyhow::Result<(Postgres, Loaded)> {
        let pool = pool(url, POOL_SIZE)?;
        let mut client = pool
            .get()
            .await
            .map_err(|err| anyhow::anyhow!("cannot reach PostgreSQL at {url}: {}", why(&err)))?;
        schema::migrate(&mut client)
            .await
            .with_context(|| format!("cannot prepare the database at {url}"))?;
        search::turn(&mut client, search)
            .await
            .context("cannot prepare searching")?;
        // One snapshot: each room's latest seq agrees with its messages
        // read, whatever other instances commit meanwhile (their notices
        // then bring exactly what came after).
        let snapshot = snapshot(&mut client).await?;
        let loaded = load::load(&snapshot, recent_capacity).await?;
        snapshot.commit().await?;
        drop(client);
        let latest = loaded
            .recent
            .iter()
            .map(|room| (room.room.clone(), room.latest))
            .collect();
        let backend = Postgres {
            pool,
            runtime: Handle::current(),
            latest,
            search,
            instance: instance.to_owned(),
        };
        Ok((backend, loaded))
    }

    fn notice(&self, news: News) -> Notice {
        Notice::new(&self.instance, news)
    }

    fn block_on<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(work)
    }

    async fn client(&self) -> anyhow::Result<deadpool_postgres::Client> {
        take(&self.pool)
            .await
            .map_err(|err| anyhow::anyhow!("cannot reach PostgreSQL: {}", why(&err)))
    }

    async fn append_async(&mut self, entries: &[Entry]) -> anyhow::Result<Vec<Outcome>> {
        let now = now_millis();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut outcomes = Vec::with_capacity(entries.len());
        // Lock every room of the batch, in order, and catch up with what
        // others logged there since.
        let rooms: BTreeSet<&str> = entries.iter().map(|e| e.sender().room.as_str()).collect();
        let mut next: HashMap<String, u64> = HashMap::new();
        for room in rooms {
            let committed = one(
                &tx,
                "INSERT INTO room_seqs (room, latest) VALUES ($1, 0)
                 ON CONFLICT (room) DO UPDATE SET latest = room_seqs.latest RETURNING latest",
                &[&room],
            )
            .await?
            .get::<_, i64>(0) as u64;
            let known = self.latest.get(room).copied().unwrap_or(0);
            if committed > known {
                outcomes.extend(log::entries_since(&tx, room, known).await?);
            }
            next.insert(room.to_owned(), committed);
        }
        let stored = stored_cids(&tx, entries).await?;
        let replies = existing_replies(&tx, entries).await?;
        // Messages are inserted together, until an entry that reads what
        // came before it.
        let mut inserts = Inserts::default();
        let mut batch_cids: HashMap<(&str, &str, &str), crate::protocol::Frame> = HashMap::new();
        let mut batch_seqs: HashSet<(&str, u64)> = HashSet::new();
        for entry in entries {
            let sender = entry.sender();
            let room = sender.room.as_str();
            let seq = next.get_mut(room).expect("every room was locked");
            let mut take = || {
                *seq += 1;
                *seq
            };
            if !matches!(entry, Entry::Message(_)) {
                inserts.flush(&tx).await?;
            }
            let outcome = match entry {
                Entry::Message(message) => {
                    let key = sender
                        .cid
                        .as_deref()
                        .map(|cid| (room, sender.username.as_str(), cid));
                    if let Some(frame) = key.and_then(|key| batch_cids.get(&key)) {
                        outcomes.push(Outcome::Duplicate {
                            conn: sender.conn,
                            frame: frame.clone(),
                        });
                        continue;
                    }
                    if let Some(&seq) = key.and_then(|key| stored.get(&key)) {
                        inserts.flush(&tx).await?;
                        if let Some(stored) = messages::load(&tx, room, seq).await? {
                            outcomes.push(Outcome::Duplicate {
                                conn: sender.conn,
                                frame: stored.frame.clone(),
                            });
                            continue;
                        }
                    }
                    if let Some(target) = message.reply_to
                        && !replies.contains(&(room, target))
                        && !batch_seqs.contains(&(room, target))
                    {
                        outcomes.push(refused_not_found(sender, target));
                        continue;
                    }
                    let seq = take();
                    let state = inserts.push(message, seq, now, self.search);
                    if let Some(key) = key {
                        batch_cids.insert(key, state.frame.clone());
                    }
                    batch_seqs.insert((room, seq));
                    Outcome::Logged {
                        room: room.to_owned(),
                        seq,
                        frame: state.frame.clone(),
                        state,
                    }
                }
                Entry::Edit(edit) => log::edit(&tx, edit, take, now).await?,
                Entry::Delete(delete) => log::delete(&tx, delete, take).await?,
                Entry::React(react) => log::react(&tx, react, take).await?,
            };
            outcomes.push(outcome);
        }
        inserts.flush(&tx).await?;
        let (rooms, latest): (Vec<&String>, Vec<i64>) =
            next.iter().map(|(room, seq)| (room, big(*seq))).unzip();
        exec(
            &tx,
            "UPDATE room_seqs SET latest = new.latest
             FROM unnest($1::text[], $2::int8[]) AS new (room, latest)
             WHERE room_seqs.room = new.room",
            &[&rooms, &latest],
        )
        .await?;
        let grown: Vec<(String, u64)> = next
            .iter()
            .filter(|(room, seq)| self.latest.get(*room).is_none_or(|known| known < *seq))
            .map(|(room, seq)| (room.clone(), *seq))
            .collect();
        if !grown.is_empty() {
            notice::send(&tx, &self.notice(News::Log { rooms: grown })).await?;
        }
        tx.commit().await?;
        self.latest.extend(next);
        Ok(outcomes)
    }

    async fn catch_up_async(&mut self, rooms: &[String]) -> anyhow::Result<Vec<Outcome>> {
        let mut client = self.client().await?;
        // One snapshot: the messages and the changes read are those up to
        // the latest seq read, however many commits land meanwhile (two
        // statements each on its own snapshot could see a change at 160
        // without the message at 155).
        let snapshot = snapshot(&mut client).await?;
        // One look at the rooms' latest seqs; only the logs that grew are
        // read.
        let latest = rows(
            &snapshot,
            "SELECT room, latest FROM room_seqs WHERE room = ANY($1)",
            &[&rooms],
        )
        .await?;
        let grown: Vec<(String, u64)> = latest
            .iter()
            .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1) as u64))
            .filter(|(room, latest)| *latest > self.latest.get(room).copied().unwrap_or(0))
            .collect();
        let mut outcomes = Vec::new();
        for (room, _) in &grown {
            let known = self.latest.get(room).copied().unwrap_or(0);
            outcomes.extend(log::entries_since(&snapshot, room, known).await?);
        }
        snapshot.commit().await?;
        ::log::debug!("caught up with {grown:?}: {} entries", outcomes.len());
        // Only once all was read: on an error, the next catch-up reads it.
        self.latest.extend(grown);
        Ok(outcomes)
    }
}

/// A read-only transaction that sees one snapshot throughout.
async fn snapshot(
    client: &mut deadpool_postgres::Client,
) -> Result<deadpool_postgres::Transaction<'_>, tokio_postgres::Error> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
}

/// The seqs of the batch's messages whose cids their users already stored,
/// by (room, username, cid): one query for the whole batch.
async fn stored_cids<'a>(
    client: &impl GenericClient,
    entries: &'a [Entry],
) -> Result<HashMap<(&'a str, &'a str, &'a str), u64>, tokio_postgres::Error> {
    let keys: Vec<(&str, &str, &str)> = entries
        .iter()
        .filter(|entry| matches!(entry, Entry::Message(_)))
        .filter_map(|entry| {
            let sender = entry.sender();
            let cid = sender.cid.as_deref()?;
            Some((sender.room.as_str(), sender.username.as_str(), cid))
        })
        .collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rooms: Vec<&str> = keys.iter().map(|key| key.0).collect();
    let names: Vec<&str> = keys.iter().map(|key| key.1).collect();
    let cids: Vec<&str> = keys.iter().map(|key| key.2).collect();
    let found = rows(
        client,
        "SELECT m.room, m.username, m.cid, m.seq FROM messages m
         JOIN unnest($1::text[], $2::text[], $3::text[]) AS k (room, username, cid)
           ON m.room = k.room AND m.username = k.username AND m.cid = k.cid",
        &[&rooms, &names, &cids],
    )
    .await?;
    let mut stored = HashMap::new();
    for row in found {
        let (room, name, cid): (&str, &str, &str) = (row.get(0), row.get(1), row.get(2));
        if let Some(key) = keys.iter().find(|key| **key == (room, name, cid)) {
            stored.insert(*key, row.get::<_, i64>(3) as u64);
        }
    }
    Ok(stored)
}

/// Which of the messages the batch replies to exist, by (room, seq).
async fn existing_replies<'a>(
    client: &impl GenericClient,
    entries: &'a [Entry],
) -> Result<HashSet<(&'a str, u64)>, tokio_postgres::Error> {
    let keys: Vec<(&str, u64)> = entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::Message(message) => Some((message.sender.room.as_str(), message.reply_to?)),
            _ => None,
        })
        .collect();
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let rooms: Vec<&str> = keys.iter().map(|key| key.0).collect();
    let seqs: Vec<i64> = keys.iter().map(|key| big(key.1)).collect();
    let found = rows(
        client,
        "SELECT m.room, m.seq FROM messages m
         JOIN unnest($1::text[], $2::int8[]) AS k (room, seq) ON m.room = k.room AND m.seq = k.seq",
        &[&rooms, &seqs],
    )
    .await?;
    Ok(found
        .iter()
        .filter_map(|row| {
            let (room, seq): (&str, i64) = (row.get(0), row.get(1));
            keys.iter().copied().find(|key| *key == (room, seq as u64))
        })
        .collect())
}

impl Backend for Postgres {
    fn apply(&mut self, changes: &[Change]) -> anyhow::Result<()> {
        let state = self.notice(News::State {
            touched: Touched::of(changes),
        });
        self.block_on(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let mut lost = Vec::new();
            for change in changes {
                if !records::apply(&tx, change).await?
                    && let Change::SaveClaim(claim) = change
                {
                    ::log::warn!(
                        "\"{}\" was claimed on another instance a moment earlier; that claim stands",
                        claim.name
                    );
                    lost.push(claim.name.to_lowercase());
                }
            }
            let mut notices = vec![state];
            if !lost.is_empty() {
                // From nobody, so this instance rereads the name too and
                // gives up the claim it made.
                let touched = Touched {
                    claims: lost,
                    ..Touched::default()
                };
                notices.push(Notice::new("", News::State { touched }));
            }
            notice::send_all(&tx, &notices).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn relay(&mut self, relays: &[Relay]) -> anyhow::Result<()> {
        let notices: Vec<Notice> = relays
            .iter()
            .filter_map(|relay| {
                let to = match &relay.to {
                    Audience::Everyone => None,
                    Audience::Users(users) => Some(users.iter().map(|u| u.to_string()).collect()),
                    Audience::Connection(_) => return None,
                };
                Some(self.notice(News::Event {
                    to,
                    except: relay.except.clone(),
                    frame: relay.frame.as_str().to_owned(),
                }))
            })
            .collect();
        self.block_on(async {
            let client = self.client().await?;
            for notice in &notices {
                notice::send(&client, notice).await?;
            }
            Ok(())
        })
    }

    fn append(&mut self, entries: &[Entry]) -> anyhow::Result<Vec<Outcome>> {
        let runtime = self.runtime.clone();
        runtime.block_on(self.append_async(entries))
    }

    fn catch_up(&mut self, rooms: &[String]) -> anyhow::Result<Vec<Outcome>> {
        let runtime = self.runtime.clone();
        runtime.block_on(self.catch_up_async(rooms))
    }

    fn page(&mut self, room: &str, before: u64, limit: usize) -> anyhow::Result<Page> {
        self.block_on(async {
            let client = self.client().await?;
            Ok(messages::read_page(&client, room, before, limit).await?)
        })
    }

    fn page_after(&mut self, room: &str, after: u64, limit: usize) -> anyhow::Result<Page> {
        self.block_on(async {
            let client = self.client().await?;
            Ok(messages::read_after(&client, room, after, limit).await?)
        })
    }

    fn first_at(&mut self, room: &str, at: i64) -> anyhow::Result<Option<u64>> {
        self.block_on(async {
            let client = self.client().await?;
            Ok(messages::first_at(&client, room, at).await?)
        })
    }

    fn changed_since(&mut self, room: &str, since: u64, limit: usize) -> anyhow::Result<Page> {
        self.block_on(async {
            let client = self.client().await?;
            Ok(messages::changed_since(&client, room, since, limit).await?)
        })
    }

    fn unshared_files(&mut self, created_before: i64) -> anyhow::Result<Vec<String>> {
        self.block_on(async {
            let client = self.client().await?;
            Ok(messages::unshared_files(&client, created_before).await?)
        })
    }

    fn expire(&mut self, room: &str, cutoff: Cutoff) -> anyhow::Result<Option<Expired>> {
        self.block_on(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let expired = retention::expire(&tx, room, cutoff).await?;
            tx.commit().await?;
            Ok(expired)
        })
    }

    fn host_state(&mut self) -> anyhow::Result<Vec<(String, String)>> {
        self.block_on(async {
            let client = self.client().await?;
            Ok(load::host_state(&client).await?)
        })
    }

    fn search(&mut self, request: &SearchRequest) -> Result<Found, SearchError> {
        if !self.search {
            return Err(SearchError::Off);
        }
        let mut searcher = PgSearcher {
            pool: self.pool.clone(),
            runtime: self.runtime.clone(),
        };
        searcher.search(request)
    }

    fn searcher(&self) -> anyhow::Result<Option<Box<dyn Searcher>>> {
        Ok(self.search.then(|| {
            Box::new(PgSearcher {
                pool: self.pool.clone(),
                runtime: self.runtime.clone(),
            }) as Box<dyn Searcher>
        }))
    }
}

/// Searches on a pooled connection of their own, beside the writer.
struct PgSearcher {
    pool: Pool,
    runtime: Handle,
}

impl Searcher for PgSearcher {
    fn search(&mut self, request: &SearchRequest) -> Result<Found, SearchError> {
        self.runtime.block_on(async {
            let mut client = take(&self.pool).await.map_err(|err| {
                SearchError::Store(anyhow::anyhow!("cannot reach PostgreSQL: {}", why(&err)))
            })?;
            search::search(&mut client, request).await
        })
    }
}
