//! Changes to names, rooms and files (not the log), applied in one
//! transaction per batch.

use deadpool_postgres::GenericClient;

use super::sql::{big, exec};
use crate::store::Subject;
use crate::store::records::{Change, FileRecord, RoomChange};

/// Applies `change`; false if it was a claim on a name another user
/// claimed first (on another instance, a moment before): the first stays.
pub async fn apply(
    client: &impl GenericClient,
    change: &Change,
) -> Result<bool, tokio_postgres::Error> {
    match change {
        Change::SaveClaim(claim) => {
            let saved = exec(
                client,
                "INSERT INTO claims (name_key, user_id, name, token_hash, last_seen)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name_key) DO UPDATE SET
                     name = excluded.name, token_hash = excluded.token_hash,
                     last_seen = excluded.last_seen
                 WHERE claims.user_id = excluded.user_id",
                &[
                    &claim.name.to_lowercase(),
                    &claim.user_id,
                    &claim.name,
                    &&claim.token_hash[..],
                    &claim.last_seen,
                ],
            )
            .await?;
            return Ok(saved == 1);
        }
        Change::DeleteClaim(name) => {
            exec(
                client,
                "DELETE FROM claims WHERE name_key = $1",
                &[&name.to_lowercase()],
            )
            .await?;
        }
        Change::Room(change) => room(client, change).await?,
        Change::File(file) => save_file(client, file).await?,
        Change::DeleteFile(id) => {
            exec(client, "DELETE FROM files WHERE id = $1", &[id]).await?;
        }
        Change::Host {
            key,
            value: Some(value),
        } => {
            exec(
                client,
                "INSERT INTO host_state (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[key, value],
            )
            .await?;
        }
        Change::Host { key, value: None } => {
            exec(client, "DELETE FROM host_state WHERE key = $1", &[key]).await?;
        }
    }
    Ok(true)
}

async fn room(
    client: &impl GenericClient,
    change: &RoomChange,
) -> Result<(), tokio_postgres::Error> {
    match change {
        RoomChange::Create {
            room,
            name,
            kind,
            created,
        } => {
            exec(
                client,
                "INSERT INTO rooms (room, name, kind, created) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (room) DO NOTHING",
                &[room, name, &kind.as_str(), created],
            )
            .await?;
        }
        RoomChange::Join { room, user } => {
            exec(
                client,
                "INSERT INTO members (room, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[room, user],
            )
            .await?;
            exec(
                client,
                "DELETE FROM invites WHERE room = $1 AND user_id = $2",
                &[room, user],
            )
            .await?;
        }
        RoomChange::Leave { room, user } => {
            exec(
                client,
                "DELETE FROM members WHERE room = $1 AND user_id = $2",
                &[room, user],
            )
            .await?;
        }
        RoomChange::Invite { room, user } => {
            exec(
                client,
                "INSERT INTO invites (room, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[room, user],
            )
            .await?;
        }
        RoomChange::InviteLink { room, hash } => {
            exec(
                client,
                "UPDATE rooms SET invite_hash = $2 WHERE room = $1",
                &[room, &&hash[..]],
            )
            .await?;
        }
        RoomChange::Settings {
            room,
            user,
            settings,
        } => {
            exec(
                client,
                "UPDATE members SET muted = $3, notify = $4 WHERE room = $1 AND user_id = $2",
                &[room, user, &settings.muted, &settings.notify.as_str()],
            )
            .await?;
        }
        RoomChange::Read { room, user, seq } => {
            exec(
                client,
                "UPDATE members SET last_read = greatest(last_read, $3)
                 WHERE room = $1 AND user_id = $2",
                &[room, user, &big(*seq)],
            )
            .await?;
        }
    }
    Ok(())
}

async fn save_file(
    client: &impl GenericClient,
    file: &FileRecord,
) -> Result<(), tokio_postgres::Error> {
    exec(
        client,
        "INSERT INTO files (id, sha256, name, size, mime, width, height, thumb, room, uploader, created)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO UPDATE SET sha256 = excluded.sha256, name = excluded.name,
             size = excluded.size, mime = excluded.mime, width = excluded.width,
             height = excluded.height, thumb = excluded.thumb, room = excluded.room,
             uploader = excluded.uploader, created = excluded.created",
        &[
            &file.id,
            &file.sha256,
            &file.name,
            &(file.size as i64),
            &file.mime,
            &file.width.map(|w| w as i32),
            &file.height.map(|h| h as i32),
            &file.thumb,
            &file.room,
            &file.uploader,
            &file.created,
        ],
    )
    .await?;
    Ok(())
}

/// What a batch of changes touched, so other instances can read those
/// again: rooms by id, claims by name (lowercased), files by id.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Touched {
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "r")]
    pub rooms: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "n")]
    pub claims: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "f")]
    pub files: Vec<String>,
}

impl Touched {
    pub fn of(changes: &[Change]) -> Touched {
        let mut touched = Touched::default();
        for change in changes {
            touched.add(&change.subject());
        }
        for list in [&mut touched.rooms, &mut touched.claims, &mut touched.files] {
            list.sort();
            list.dedup();
        }
        touched
    }

    /// Every subject touched.
    pub fn subjects(self) -> impl Iterator<Item = Subject> {
        let claims = self.claims.into_iter().map(Subject::Claim);
        let rooms = self.rooms.into_iter().map(Subject::Room);
        claims
            .chain(rooms)
            .chain(self.files.into_iter().map(Subject::File))
    }

    pub fn add(&mut self, subject: &Subject) {
        match subject {
            Subject::Claim(name) => self.claims.push(name.clone()),
            Subject::Room(room) => self.rooms.push(room.clone()),
            Subject::File(id) => self.files.push(id.clone()),
            // Every instance reads the host's rules again every few
            // seconds (see `crate::host`): no notice needed.
            Subject::Host => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty() && self.claims.is_empty() && self.files.is_empty()
    }
}
