//! Reading back what the server keeps in memory: everything at start-up,
//! and single rooms, claims and files again when another instance changed
//! them.

use std::collections::HashMap;

use anyhow::Context as _;
use deadpool_postgres::GenericClient;

use super::messages::{FILE_COLUMNS, file_from_row, read_page};
use super::sql::{big, one, rows};
use crate::store::records::{
    ClaimRecord, FileRecord, Kind, Loaded, MemberSettings, Notify, RecentRoom, RoomRecord,
};

type Result<T> = std::result::Result<T, tokio_postgres::Error>;

/// Everything [`Loaded`] holds, with the newest `capacity` messages of each
/// room.
pub async fn load(client: &impl GenericClient, capacity: usize) -> anyhow::Result<Loaded> {
    let history_id: String = one(
        client,
        "SELECT value FROM meta WHERE key = 'history_id'",
        &[],
    )
    .await
    .context("cannot read the history id")?
    .get(0);
    Ok(Loaded {
        history_id,
        claims: claims(client, None)
            .await
            .context("cannot read name claims")?,
        rooms: rooms(client, None).await.context("cannot read rooms")?,
        files: files(client, None)
            .await
            .context("cannot read the list of files")?,
        host: host_state(client)
            .await
            .context("cannot read the host's rules")?,
        recent: recent(client, capacity)
            .await
            .context("cannot read history")?,
    })
}

/// The claims on the names in `only` (lowercased), or all of them.
pub async fn claims(
    client: &impl GenericClient,
    only: Option<&[String]>,
) -> Result<Vec<ClaimRecord>> {
    let found = rows(
        client,
        "SELECT user_id, name, token_hash, last_seen FROM claims
         WHERE $1::text[] IS NULL OR name_key = ANY($1)",
        &[&only],
    )
    .await?;
    Ok(found
        .iter()
        .map(|row| {
            let hash: Vec<u8> = row.get(2);
            ClaimRecord {
                user_id: row.get(0),
                name: row.get(1),
                token_hash: hash.try_into().unwrap_or([0; 32]),
                last_seen: row.get(3),
            }
        })
        .collect())
}

/// The rooms in `only`, or all of them, with members and invitations.
pub async fn rooms(
    client: &impl GenericClient,
    only: Option<&[String]>,
) -> Result<Vec<RoomRecord>> {
    let mut rooms: Vec<RoomRecord> = rows(
        client,
        "SELECT room, kind, invite_hash, name FROM rooms
         WHERE $1::text[] IS NULL OR room = ANY($1) ORDER BY room",
        &[&only],
    )
    .await?
    .iter()
    .map(|row| RoomRecord {
        room: row.get(0),
        name: row.get(3),
        kind: Kind::parse(row.get(1)).unwrap_or(Kind::Private),
        invite_hash: row
            .get::<_, Option<Vec<u8>>>(2)
            .and_then(|hash| hash.try_into().ok()),
        members: Vec::new(),
        settings: Vec::new(),
        invited: Vec::new(),
    })
    .collect();
    let at: HashMap<String, usize> = rooms
        .iter()
        .enumerate()
        .map(|(i, room)| (room.room.clone(), i))
        .collect();
    let members = rows(
        client,
        "SELECT room, user_id, last_read, muted, notify FROM members
         WHERE $1::text[] IS NULL OR room = ANY($1)",
        &[&only],
    )
    .await?;
    for row in members {
        let Some(&i) = at.get(row.get::<_, &str>(0)) else {
            continue;
        };
        let user: String = row.get(1);
        let settings = MemberSettings {
            muted: row.get(3),
            notify: Notify::parse(row.get(4)).unwrap_or_default(),
        };
        if settings != MemberSettings::default() {
            rooms[i].settings.push((user.clone(), settings));
        }
        rooms[i].members.push((user, row.get::<_, i64>(2) as u64));
    }
    let invites = rows(
        client,
        "SELECT room, user_id FROM invites WHERE $1::text[] IS NULL OR room = ANY($1)",
        &[&only],
    )
    .await?;
    for row in invites {
        if let Some(&i) = at.get(row.get::<_, &str>(0)) {
            rooms[i].invited.push(row.get(1));
        }
    }
    Ok(rooms)
}

/// Every host rule, as (key, JSON value).
pub async fn host_state(client: &impl GenericClient) -> Result<Vec<(String, String)>> {
    Ok(rows(client, "SELECT key, value FROM host_state", &[])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect())
}

/// The files in `only`, or all of them.
pub async fn files(
    client: &impl GenericClient,
    only: Option<&[String]>,
) -> Result<Vec<FileRecord>> {
    let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE $1::text[] IS NULL OR id = ANY($1)");
    Ok(rows(client, &sql, &[&only])
        .await?
        .iter()
        .map(|row| file_from_row(row, 0))
        .collect())
}

/// Each room's newest `capacity` messages and its latest seq.
async fn recent(client: &impl GenericClient, capacity: usize) -> Result<Vec<RecentRoom>> {
    let latest = rows(client, "SELECT room, latest FROM room_seqs", &[]).await?;
    let mut recent = Vec::with_capacity(latest.len());
    for row in latest {
        let room: String = row.get(0);
        let latest = row.get::<_, i64>(1) as u64;
        let page = read_page(client, &room, u64::MAX, capacity).await?;
        let oldest = page.messages.first().map_or(0, |m| m.seq());
        let outside: Option<i64> = one(
            client,
            "SELECT max(version) FROM messages WHERE room = $1 AND seq < $2",
            &[&room, &big(oldest)],
        )
        .await?
        .get(0);
        recent.push(RecentRoom {
            room,
            older_on_disk: page.has_more,
            messages: page.messages,
            latest,
            outside: outside.unwrap_or(0) as u64,
        });
    }
    Ok(recent)
}
