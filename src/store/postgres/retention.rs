//! Retention in PostgreSQL: a room's messages past their time, deleted for
//! real, with everything about them, in one transaction. The room's latest
//! seq stays in `room_seqs`; `expired` keeps where the log was cut, so an
//! instance that did not cut it forgets what it holds up to there too.

use deadpool_postgres::GenericClient;

use super::sql::{exec, one, opt, rows};
use crate::store::records::{Cutoff, Expired};

/// Deletes what is past `cutoff` in `room`.
pub async fn expire(
    client: &impl GenericClient,
    room: &str,
    cutoff: Cutoff,
) -> Result<Option<Expired>, tokio_postgres::Error> {
    let found: Option<i64> = match cutoff {
        Cutoff::Before(at) => one(
            client,
            "SELECT max(seq) FROM messages WHERE room = $1 AND ts < $2",
            &[&room, &at],
        )
        .await?
        .get(0),
        Cutoff::KeepLast(keep) => opt(
            client,
            "SELECT seq FROM messages WHERE room = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2",
            &[&room, &i64::from(keep)],
        )
        .await?
        .map(|row| row.get(0)),
    };
    let floor: i64 = one(
        client,
        "SELECT coalesce(max(through), 0) FROM expired WHERE room = $1",
        &[&room],
    )
    .await?
    .get(0);
    let Some(through) = found
        .map(|found| found.max(floor))
        .or((floor > 0).then_some(floor))
    else {
        return Ok(None);
    };
    let messages: i64 = one(
        client,
        "SELECT count(*) FROM messages WHERE room = $1 AND seq <= $2",
        &[&room, &through],
    )
    .await?
    .get(0);
    let candidates: Vec<String> = rows(
        client,
        "SELECT DISTINCT file_id FROM message_files WHERE room = $1 AND seq <= $2",
        &[&room, &through],
    )
    .await?
    .iter()
    .map(|row| row.get(0))
    .collect();
    for sql in [
        "DELETE FROM message_files WHERE room = $1 AND seq <= $2",
        "DELETE FROM reactions WHERE room = $1 AND seq <= $2",
        // A change of an expired message goes with it, however late it came.
        "DELETE FROM changes WHERE room = $1 AND (seq <= $2 OR target <= $2)",
        // The text searches match (`words`) goes with its row.
        "DELETE FROM messages WHERE room = $1 AND seq <= $2",
    ] {
        exec(client, sql, &[&room, &through]).await?;
    }
    exec(
        client,
        "INSERT INTO expired (room, through) VALUES ($1, $2)
         ON CONFLICT (room) DO UPDATE SET through = greatest(expired.through, excluded.through)",
        &[&room, &through],
    )
    .await?;
    let mut files = Vec::new();
    for id in candidates {
        let shared: bool = one(
            client,
            "SELECT EXISTS (SELECT 1 FROM message_files WHERE file_id = $1)",
            &[&id],
        )
        .await?
        .get(0);
        if !shared {
            files.push(id);
        }
    }
    Ok(Some(Expired {
        room: room.to_owned(),
        through: through as u64,
        messages: messages as u64,
        files,
    }))
}
