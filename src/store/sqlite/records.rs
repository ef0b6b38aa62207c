//! Changes to names, rooms and files (not the log), applied in one
//! transaction per batch.

use rusqlite::{Transaction, params};

use crate::store::records::{Change, FileRecord, RoomChange};

pub fn apply(tx: &Transaction<'_>, change: &Change) -> rusqlite::Result<()> {
    match change {
        Change::SaveClaim(claim) => {
            tx.prepare_cached(
                "INSERT INTO claims (name_key, user_id, name, token_hash, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name_key) DO UPDATE SET
                     user_id = excluded.user_id, name = excluded.name,
                     token_hash = excluded.token_hash, last_seen = excluded.last_seen",
            )?
            .execute(params![
                claim.name.to_lowercase(),
                claim.user_id,
                claim.name,
                &claim.token_hash[..],
                claim.last_seen
            ])?;
        }
        Change::DeleteClaim(name) => {
            tx.prepare_cached("DELETE FROM claims WHERE name_key = ?1")?
                .execute(params![name.to_lowercase()])?;
        }
        Change::Room(change) => room(tx, change)?,
        Change::File(file) => save_file(tx, file)?,
        Change::DeleteFile(id) => {
            tx.prepare_cached("DELETE FROM files WHERE id = ?1")?
                .execute(params![id])?;
        }
        Change::Host {
            key,
            value: Some(value),
        } => {
            tx.prepare_cached("INSERT OR REPLACE INTO host_state (key, value) VALUES (?1, ?2)")?
                .execute(params![key, value])?;
        }
        Change::Host { key, value: None } => {
            tx.prepare_cached("DELETE FROM host_state WHERE key = ?1")?
                .execute(params![key])?;
        }
    }
    Ok(())
}

fn room(tx: &Transaction<'_>, change: &RoomChange) -> rusqlite::Result<()> {
    match change {
        RoomChange::Create {
            room,
            name,
            kind,
            created,
        } => {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO rooms (room, name, kind, created) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![room, name, kind.as_str(), created])?;
        }
        RoomChange::Join { room, user } => {
            tx.prepare_cached("INSERT OR IGNORE INTO members (room, user_id) VALUES (?1, ?2)")?
                .execute(params![room, user])?;
            tx.prepare_cached("DELETE FROM invites WHERE room = ?1 AND user_id = ?2")?
                .execute(params![room, user])?;
        }
        RoomChange::Leave { room, user } => {
            tx.prepare_cached("DELETE FROM members WHERE room = ?1 AND user_id = ?2")?
                .execute(params![room, user])?;
        }
        RoomChange::Invite { room, user } => {
            tx.prepare_cached("INSERT OR IGNORE INTO invites (room, user_id) VALUES (?1, ?2)")?
                .execute(params![room, user])?;
        }
        RoomChange::InviteLink { room, hash } => {
            tx.prepare_cached("UPDATE rooms SET invite_hash = ?2 WHERE room = ?1")?
                .execute(params![room, &hash[..]])?;
        }
        RoomChange::Settings {
            room,
            user,
            settings,
        } => {
            tx.prepare_cached(
                "UPDATE members SET muted = ?3, notify = ?4 WHERE room = ?1 AND user_id = ?2",
            )?
            .execute(params![
                room,
                user,
                settings.muted,
                settings.notify.as_str()
            ])?;
        }
        RoomChange::Read { room, user, seq } => {
            tx.prepare_cached(
                "UPDATE members SET last_read = max(last_read, ?3) WHERE room = ?1 AND user_id = ?2",
            )?
            .execute(params![room, user, *seq as i64])?;
        }
    }
    Ok(())
}

fn save_file(tx: &Transaction<'_>, file: &FileRecord) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO files
         (id, sha256, name, size, mime, width, height, thumb, room, uploader, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        file.id,
        file.sha256,
        file.name,
        file.size as i64,
        file.mime,
        file.width,
        file.height,
        file.thumb,
        file.room,
        file.uploader,
        file.created,
    ])?;
    Ok(())
}
