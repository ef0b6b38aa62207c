//! What instances sharing one database tell each other, as LISTEN/NOTIFY
//! payloads on one channel. A notice is a doorbell, not the news: the log
//! itself is read back by seq, names and rooms are read again, so a missed
//! notice costs nothing that a later one (or the periodic check) does not
//! make up. Frames for another instance's connections (typing, room
//! changes, invitations) and presence ride in the payload itself.
//!
//! A payload is at most [`MAX_PAYLOAD`] bytes (PostgreSQL's limit is 8000);
//! a larger notice is kept in `relays` and the payload names its row.

use std::sync::atomic::{AtomicU64, Ordering};

use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};

use super::records::Touched;
use super::sql::{exec, one};

/// The channel every instance listens on.
pub const CHANNEL: &str = "lanchat";
/// The largest payload sent as it is.
const MAX_PAYLOAD: usize = 7900;

/// One notice, from instance `from`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    #[serde(rename = "i")]
    pub from: String,
    #[serde(flatten)]
    pub news: News,
}

impl Notice {
    pub fn new(from: &str, news: News) -> Notice {
        Notice {
            from: from.to_owned(),
            news,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum News {
    /// These rooms' logs grew, up to these seqs.
    Log { rooms: Vec<(String, u64)> },
    /// Names, rooms or files changed: read them again.
    State { touched: Touched },
    /// A frame for every connection of `to` (everyone when `None`),
    /// except those under the name `except`.
    Event {
        to: Option<Vec<String>>,
        except: Option<String>,
        frame: String,
    },
    /// `name` (owned by `user`, if it is) came online on the sender, or went
    /// offline there.
    Presence {
        name: String,
        user: Option<String>,
        online: bool,
    },
    /// The sender renamed `from` to `to` on its connections.
    Rename { from: String, to: String },
    /// The sender is alive (sent every heartbeat).
    Alive,
    /// The sender's presence rows are current again: read them.
    Present,
    /// The sender is stopping: its names go offline now.
    Gone,
    /// A notice too large for a payload: read row `id` of `relays`.
    Kept { id: i64 },
}

/// Sends `notice`, inside whatever transaction `client` is in: it is
/// delivered when that commits, after the notices before it.
pub async fn send(
    client: &impl GenericClient,
    notice: &Notice,
) -> Result<(), tokio_postgres::Error> {
    send_all(client, std::slice::from_ref(notice)).await
}

/// Sends `notices` in order, in one round trip (plus one per notice too
/// large for a payload).
pub async fn send_all(
    client: &impl GenericClient,
    notices: &[Notice],
) -> Result<(), tokio_postgres::Error> {
    if notices.is_empty() {
        return Ok(());
    }
    let mut payloads = Vec::with_capacity(notices.len());
    for notice in notices {
        payloads.push(payload(client, notice).await?);
    }
    exec(
        client,
        "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS n (p)",
        &[&CHANNEL, &payloads],
    )
    .await?;
    Ok(())
}

/// A notice with a number no other notice from this process has:
/// PostgreSQL delivers identical payloads of one transaction only once, so
/// "online, offline, online" would arrive as "online, offline".
#[derive(Serialize)]
struct Stamped<'a> {
    #[serde(flatten)]
    notice: &'a Notice,
    n: u64,
}

fn stamp(notice: &Notice) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    serde_json::to_string(&Stamped { notice, n }).expect("notices serialize")
}

/// The payload that carries `notice`: itself, or the row it is kept in.
async fn payload(
    client: &impl GenericClient,
    notice: &Notice,
) -> Result<String, tokio_postgres::Error> {
    let payload = stamp(notice);
    Ok(if payload.len() <= MAX_PAYLOAD {
        payload
    } else {
        let id: i64 = one(
            client,
            "INSERT INTO relays (at, body) VALUES ($1, $2) RETURNING id",
            &[&crate::clock::now_millis(), &payload],
        )
        .await?
        .get(0);
        let kept = Notice {
            from: notice.from.clone(),
            news: News::Kept { id },
        };
        stamp(&kept)
    })
}

/// The notice a payload carries, reading a kept one from `relays`.
pub async fn receive(client: &impl GenericClient, payload: &str) -> anyhow::Result<Notice> {
    let notice: Notice = serde_json::from_str(payload)?;
    match notice.news {
        News::Kept { id } => {
            let body: String = one(client, "SELECT body FROM relays WHERE id = $1", &[&id])
                .await?
                .get(0);
            Ok(serde_json::from_str(&body)?)
        }
        _ => Ok(notice),
    }
}

/// Drops kept notices older than `before` (ms): every instance has read
/// them by then, or missed them for good.
pub async fn forget_kept(
    client: &impl GenericClient,
    before: i64,
) -> Result<(), tokio_postgres::Error> {
    exec(client, "DELETE FROM relays WHERE at < $1", &[&before]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_small_json() {
        let notice = Notice {
            from: "a1".into(),
            news: News::Log {
                rooms: vec![("lobby".into(), 42)],
            },
        };
        let text = serde_json::to_string(&notice).unwrap();
        assert_eq!(text, r#"{"i":"a1","k":"log","rooms":[["lobby",42]]}"#);
        assert_eq!(serde_json::from_str::<Notice>(&text).unwrap(), notice);
        let alive = Notice {
            from: "a1".into(),
            news: News::Alive,
        };
        let (first, second) = (stamp(&alive), stamp(&alive));
        assert_ne!(first, second, "two payloads of one notice differ");
        assert!(
            first.starts_with(r#"{"i":"a1","k":"alive","n":"#),
            "{first}"
        );
        for stamped in [first, second, stamp(&notice)] {
            let read: Notice = serde_json::from_str(&stamped).unwrap();
            assert!(read == alive || read == notice, "{stamped}");
        }
    }
}
