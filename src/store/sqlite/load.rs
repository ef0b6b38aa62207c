//! Reading back, at start-up, everything the server keeps in memory.

use std::collections::HashMap;

use anyhow::Context as _;
use rusqlite::Connection;

use super::messages::{FILE_COLUMNS, file_from_row, read_page};
use crate::store::records::{
    ClaimRecord, FileRecord, Kind, Loaded, MemberSettings, Notify, RecentRoom, RoomRecord,
};

/// Everything [`Loaded`] holds, with the newest `capacity` messages of each
/// room.
pub fn load(conn: &Connection, capacity: usize) -> anyhow::Result<Loaded> {
    let history_id: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'history_id'",
            [],
            |row| row.get(0),
        )
        .context("cannot read the history id")?;
    Ok(Loaded {
        history_id,
        claims: load_claims(conn).context("cannot read name claims")?,
        rooms: load_rooms(conn).context("cannot read rooms")?,
        files: load_files(conn).context("cannot read the list of files")?,
        host: host_state(conn).context("cannot read the host's rules")?,
        recent: load_recent(conn, capacity).context("cannot read history")?,
    })
}

fn load_claims(conn: &Connection) -> rusqlite::Result<Vec<ClaimRecord>> {
    conn.prepare("SELECT user_id, name, token_hash, last_seen FROM claims")?
        .query_map([], |row| {
            let hash: Vec<u8> = row.get(2)?;
            Ok(ClaimRecord {
                user_id: row.get(0)?,
                name: row.get(1)?,
                token_hash: hash.try_into().unwrap_or([0; 32]),
                last_seen: row.get(3)?,
            })
        })?
        .collect()
}

pub fn load_rooms(conn: &Connection) -> rusqlite::Result<Vec<RoomRecord>> {
    let mut rooms: Vec<RoomRecord> = conn
        .prepare("SELECT room, kind, invite_hash, name FROM rooms ORDER BY room")?
        .query_map([], |row| {
            let kind: String = row.get(1)?;
            let hash: Option<Vec<u8>> = row.get(2)?;
            Ok(RoomRecord {
                room: row.get(0)?,
                name: row.get(3)?,
                kind: Kind::parse(&kind).unwrap_or(Kind::Private),
                invite_hash: hash.and_then(|h| h.try_into().ok()),
                members: Vec::new(),
                settings: Vec::new(),
                invited: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (i, room) in rooms.iter().enumerate() {
        by_name.insert(room.room.clone(), i);
    }
    let mut members =
        conn.prepare("SELECT room, user_id, last_read, muted, notify FROM members")?;
    let rows = members.query_map([], |row| {
        let settings = MemberSettings {
            muted: row.get(3)?,
            notify: Notify::parse(&row.get::<_, String>(4)?).unwrap_or_default(),
        };
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, i64>(2)? as u64,
            settings,
        ))
    })?;
    for row in rows {
        let (room, user, read, settings) = row?;
        if let Some(&i) = by_name.get(&room) {
            if settings != MemberSettings::default() {
                rooms[i].settings.push((user.clone(), settings));
            }
            rooms[i].members.push((user, read));
        }
    }
    let mut invites = conn.prepare("SELECT room, user_id FROM invites")?;
    let rows = invites.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (room, user) = row?;
        if let Some(&i) = by_name.get(&room) {
            rooms[i].invited.push(user);
        }
    }
    Ok(rooms)
}

/// Every host rule, as (key, JSON value).
pub fn host_state(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare_cached("SELECT key, value FROM host_state")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect()
}

pub fn load_files(conn: &Connection) -> rusqlite::Result<Vec<FileRecord>> {
    conn.prepare(&format!("SELECT {FILE_COLUMNS} FROM files"))?
        .query_map([], |row| file_from_row(row, 0))?
        .collect()
}

fn load_recent(conn: &Connection, capacity: usize) -> rusqlite::Result<Vec<RecentRoom>> {
    let rooms: Vec<(String, i64)> = conn
        .prepare(
            "SELECT room, max(seq) FROM (
                 SELECT room, seq FROM messages UNION ALL SELECT room, seq FROM changes
                 UNION ALL SELECT room, latest FROM expired
             ) GROUP BY room",
        )?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    rooms
        .into_iter()
        .map(|(room, latest)| {
            let page = read_page(conn, &room, u64::MAX, capacity)?;
            let oldest = page.messages.first().map_or(0, |m| m.seq());
            let outside: Option<i64> = conn
                .prepare_cached("SELECT max(version) FROM messages WHERE room = ?1 AND seq < ?2")?
                .query_row(rusqlite::params![room, oldest as i64], |row| row.get(0))?;
            Ok(RecentRoom {
                room,
                older_on_disk: page.has_more,
                messages: page.messages,
                latest: latest as u64,
                outside: outside.unwrap_or(0) as u64,
            })
        })
        .collect()
}
