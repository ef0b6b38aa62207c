//! Each room's retention, as the host set it (keep everything, the last N
//! days, or the last N messages): what is past it is deleted for real, at
//! start-up (before the first connection) and every
//! `--retention-check-seconds`, on SQLite and PostgreSQL alike. The store
//! deletes the messages and everything about them (reactions, files'
//! links, every log entry about them, search entries) and scrubs the disk;
//! here the files no message shares any more are collected, and the room's
//! pages hear `expired`, to drop what they show of it.

use std::time::Duration;

use crate::clock::now_millis;
use crate::hub::Outbound;
use crate::protocol::{Frame, Keep, ServerFrame, encode};
use crate::session::Context;
use crate::store::Cutoff;

const DAY_MS: i64 = 86_400_000;

/// Expires what is past every room's keep, then again every `every`.
pub async fn run(context: Context, every: Duration) {
    let mut rounds = tokio::time::interval(every);
    rounds.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first round ran before the server took connections.
    rounds.tick().await;
    loop {
        rounds.tick().await;
        sweep(&context).await;
    }
}

/// One round: every room with a keep other than everything.
pub async fn sweep(context: &Context) {
    for (room, rules) in context.host.ruled_rooms() {
        let cutoff = match rules.keep {
            Keep::All => continue,
            Keep::Days(days) => Cutoff::Before(now_millis() - i64::from(days) * DAY_MS),
            Keep::Messages(count) => Cutoff::KeepLast(count),
        };
        let expired = match context.store.expire(&room, cutoff).await {
            Ok(Some(expired)) => expired,
            Ok(None) => continue,
            Err(err) => {
                log::warn!("cannot expire the old messages of {room}: {err:#}");
                continue;
            }
        };
        log::info!(
            "retention: {} messages of {room} expired (through {}), {} files with them",
            expired.messages,
            expired.through,
            expired.files.len()
        );
        context.files.collect(&expired.files).await;
        let frame = Frame::from(encode(&ServerFrame::Expired {
            room: &room,
            through: expired.through,
        }));
        context
            .hub
            .send(&context.rooms.audience(&room), Outbound::event(frame));
    }
}
