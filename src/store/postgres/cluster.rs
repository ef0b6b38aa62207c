//! What instances keep in the database about each other: which are alive
//! (`instances`, heartbeated) and which names each holds online
//! (`presence`), and the connection each listens on for [`Notice`]s.
//!
//! Presence rows let an instance that (re)joins learn who is online
//! elsewhere without asking anyone; the notices that go with each change
//! keep everyone current between times.

use std::time::Duration;

use anyhow::Context as _;
use deadpool_postgres::{GenericClient, Pool};
use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use super::notice::{self, CHANNEL, News, Notice};
use super::sql::{exec, rows};
use super::url::PgUrl;
use crate::clock::now_millis;

/// A change to the names this instance holds online.
pub enum NameChange<'a> {
    Online {
        name: &'a str,
        user: Option<&'a str>,
    },
    Offline {
        name: &'a str,
    },
    Rename {
        from: &'a str,
        to: &'a str,
    },
}

/// Writes `changes` to this instance's presence rows and tells the others,
/// in one transaction.
pub async fn publish(
    pool: &Pool,
    instance: &str,
    changes: &[NameChange<'_>],
) -> anyhow::Result<()> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let mut notices = Vec::with_capacity(changes.len());
    for change in changes {
        let news = match *change {
            NameChange::Online { name, user } => {
                exec(
                    &tx,
                    "INSERT INTO presence (instance, name, user_id) VALUES ($1, $2, $3)
                     ON CONFLICT (instance, name) DO UPDATE SET user_id = excluded.user_id",
                    &[&instance, &name, &user],
                )
                .await?;
                News::Presence {
                    name: name.to_owned(),
                    user: user.map(str::to_owned),
                    online: true,
                }
            }
            NameChange::Offline { name } => {
                exec(
                    &tx,
                    "DELETE FROM presence WHERE instance = $1 AND name = $2",
                    &[&instance, &name],
                )
                .await?;
                News::Presence {
                    name: name.to_owned(),
                    user: None,
                    online: false,
                }
            }
            NameChange::Rename { from, to } => {
                exec(
                    &tx,
                    "UPDATE presence SET name = $3 WHERE instance = $1 AND name = $2",
                    &[&instance, &from, &to],
                )
                .await?;
                News::Rename {
                    from: from.to_owned(),
                    to: to.to_owned(),
                }
            }
        };
        notices.push(Notice::new(instance, news));
    }
    notice::send_all(&tx, &notices).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes this instance's presence rows exactly `names` (name, owner) and
/// tells the others to read them again: after it lost touch with the
/// database, its changes meanwhile were not written.
pub async fn republish(
    pool: &Pool,
    instance: &str,
    names: &[(String, Option<String>)],
) -> anyhow::Result<()> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    exec(
        &tx,
        "DELETE FROM presence WHERE instance = $1",
        &[&instance],
    )
    .await?;
    let (list, users): (Vec<&str>, Vec<Option<&str>>) = names
        .iter()
        .map(|(name, user)| (name.as_str(), user.as_deref()))
        .unzip();
    exec(
        &tx,
        "INSERT INTO presence (instance, name, user_id)
         SELECT $1, name, user_id FROM unnest($2::text[], $3::text[]) AS n (name, user_id)",
        &[&instance, &list, &users],
    )
    .await?;
    heartbeat_in(&tx, instance).await?;
    let present = Notice::new(instance, News::Present);
    notice::send(&tx, &present).await?;
    tx.commit().await?;
    Ok(())
}

/// Says this instance is alive, and drops the rows of instances that have
/// not said so for `dead_after`, and kept notices everyone has read.
pub async fn heartbeat(pool: &Pool, instance: &str, dead_after: Duration) -> anyhow::Result<()> {
    let client = pool.get().await?;
    heartbeat_in(&client, instance).await?;
    let dead = now_millis() - dead_after.as_millis() as i64;
    exec(
        &client,
        "DELETE FROM presence WHERE instance IN (SELECT id FROM instances WHERE seen < $1)",
        &[&dead],
    )
    .await?;
    exec(&client, "DELETE FROM instances WHERE seen < $1", &[&dead]).await?;
    notice::forget_kept(&client, dead).await?;
    let alive = Notice::new(instance, News::Alive);
    notice::send(&client, &alive).await?;
    Ok(())
}

async fn heartbeat_in(client: &impl GenericClient, instance: &str) -> anyhow::Result<()> {
    exec(
        client,
        "INSERT INTO instances (id, seen) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET seen = excluded.seen",
        &[&instance, &now_millis()],
    )
    .await?;
    Ok(())
}

/// This instance is stopping: its names go offline everywhere now.
pub async fn leave(pool: &Pool, instance: &str) -> anyhow::Result<()> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    exec(
        &tx,
        "DELETE FROM presence WHERE instance = $1",
        &[&instance],
    )
    .await?;
    exec(&tx, "DELETE FROM instances WHERE id = $1", &[&instance]).await?;
    let gone = Notice::new(instance, News::Gone);
    notice::send(&tx, &gone).await?;
    tx.commit().await?;
    Ok(())
}

/// The names online on instance `of` (every other live instance when
/// `None`), as (instance, name, owner).
pub async fn presence(
    pool: &Pool,
    me: &str,
    of: Option<&str>,
    dead_after: Duration,
) -> anyhow::Result<Vec<(String, String, Option<String>)>> {
    let client = pool.get().await?;
    let alive = now_millis() - dead_after.as_millis() as i64;
    let found = rows(
        &client,
        "SELECT p.instance, p.name, p.user_id FROM presence p
         JOIN instances i ON i.id = p.instance
         WHERE p.instance <> $1 AND ($2::text IS NULL OR p.instance = $2) AND i.seen >= $3",
        &[&me, &of, &alive],
    )
    .await?;
    Ok(found
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect())
}

/// The other live instances.
pub async fn instances(pool: &Pool, me: &str, dead_after: Duration) -> anyhow::Result<Vec<String>> {
    let client = pool.get().await?;
    let alive = now_millis() - dead_after.as_millis() as i64;
    let found = rows(
        &client,
        "SELECT id FROM instances WHERE id <> $1 AND seen >= $2",
        &[&me, &alive],
    )
    .await?;
    Ok(found.iter().map(|row| row.get(0)).collect())
}

/// Every room that has a log.
pub async fn rooms(pool: &Pool) -> anyhow::Result<Vec<String>> {
    let client = pool.get().await?;
    let found = rows(&client, "SELECT room FROM room_seqs", &[]).await?;
    Ok(found.iter().map(|row| row.get(0)).collect())
}

/// The notice a payload carries (reading a kept one).
pub async fn receive(pool: &Pool, payload: &str) -> anyhow::Result<Notice> {
    let client = pool.get().await?;
    notice::receive(&client, payload).await
}

/// A connection of its own that listens for notices.
pub struct Listener {
    /// Each notice's payload, until the connection breaks, when it closes.
    pub heard: mpsc::UnboundedReceiver<String>,
    /// The connection lives as long as its client.
    _client: tokio_postgres::Client,
}

/// Connects and starts listening.
pub async fn listen(url: &PgUrl) -> anyhow::Result<Listener> {
    let (client, mut connection) = url
        .config()
        .connect(tokio_postgres::NoTls)
        .await
        .with_context(|| format!("cannot reach PostgreSQL at {url}"))?;
    let (payloads, heard) = mpsc::unbounded_channel();
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    tokio::spawn(async move {
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => {
                    if payloads.send(notification.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    log::warn!("lost the PostgreSQL notices connection: {err}");
                    return;
                }
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .context("cannot listen for the other instances")?;
    Ok(Listener {
        heard,
        _client: client,
    })
}
