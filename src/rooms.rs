//! Rooms: which exist, who belongs to which, invitations, and how far each
//! member has read.
//!
//! `lobby` always exists and everyone is in it, claimed name or not. Every
//! other room is for owned names (see [`crate::identity`]), identified by
//! their stable user id so renames change nothing here. Public rooms anyone
//! may join; their id is their name, unique among them. Private rooms only
//! members see, entered by a member's invitation or an invite link's secret;
//! each has an id of its own (`p:` and random hex) beside its name, so
//! creating a room can never collide with one, and nobody can learn that a
//! private room of some name exists. A direct-message room holds exactly two
//! users.
//!
//! The state lives in memory and every change is queued to the store, in
//! order with the messages, so it is on disk before anything that depends
//! on it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha256};

use crate::audience::Audience;
use crate::clock::now_millis;
use crate::ids::{UserId, private_room_id};
use crate::protocol::LOBBY;
use crate::store::{Change, Kind, MemberSettings, Notify, RoomChange, RoomRecord, Store};
use crate::sync::lock;

/// Longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 24;

/// Why a room operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    #[error("room names are 1 to {MAX_ROOM_CHARS} lowercase letters, digits, '-' or '_'")]
    InvalidName,
    #[error("#{0} already exists")]
    Exists(String),
    /// Unknown, or private and not yours to see: the same answer for both,
    /// so private rooms cannot be discovered by guessing.
    #[error("there is no room #{0} you can open")]
    NotFound(String),
    #[error("you cannot do that in #{0}")]
    Forbidden(String),
}

/// One room as a member sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub room: String,
    /// What people call it (the id, for a public room).
    pub name: String,
    pub kind: Kind,
    /// The highest `seq` this member has read.
    pub last_read: u64,
    /// This member's notification settings for it.
    pub settings: MemberSettings,
    pub members: Vec<UserId>,
}

#[derive(Debug)]
struct Room {
    /// What people call it; the id is the key of the map.
    name: String,
    kind: Kind,
    /// SHA-256 of the current invite link secret, if any.
    invite_hash: Option<[u8; 32]>,
    /// Member → last read seq.
    members: BTreeMap<UserId, u64>,
    /// Members whose notification settings are not the default.
    settings: HashMap<UserId, MemberSettings>,
    /// Invited by name, not yet accepted.
    invited: BTreeSet<UserId>,
}

/// Handle to the rooms. Cheap to clone.
#[derive(Clone)]
pub struct Rooms {
    inner: Arc<Inner>,
}

struct Inner {
    /// Held for lookups and updates only; persistence is queued to the store.
    rooms: Mutex<HashMap<String, Room>>,
    store: Store,
}

impl Room {
    fn from_record(record: RoomRecord) -> (String, Room) {
        let room = Room {
            name: record.name,
            kind: record.kind,
            invite_hash: record.invite_hash,
            members: record
                .members
                .into_iter()
                .map(|(user, read)| (UserId::from(user), read))
                .collect(),
            invited: record.invited.into_iter().map(UserId::from).collect(),
            settings: record
                .settings
                .into_iter()
                .map(|(user, settings)| (UserId::from(user), settings))
                .collect(),
        };
        (record.room, room)
    }
}

/// Turns a requested room name into a valid one.
pub fn parse_room_name(raw: &str) -> Result<String, RoomError> {
    let name = raw.trim().trim_start_matches('#').to_lowercase();
    let valid = (1..=MAX_ROOM_CHARS).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(name)
    } else {
        Err(RoomError::InvalidName)
    }
}

/// The room a client asks for: a private room's id as it is, anything else
/// as a room name. `None` if it can be neither.
fn room_id(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let is_private_id = raw.strip_prefix("p:").is_some_and(|hex| {
        !hex.is_empty()
            && hex
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    });
    if is_private_id {
        Some(raw.to_owned())
    } else {
        parse_room_name(raw).ok()
    }
}

/// The room id two users share for direct messages. It depends only on the
/// pair, so either side finds the same room.
pub fn direct_room(a: &str, b: &str) -> String {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let digest = Sha256::digest(format!("{first}\n{second}").as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("dm:{hex}")
}

impl Rooms {
    /// Rebuilds the rooms from what the store kept.
    pub fn load(store: Store, records: Vec<RoomRecord>) -> Rooms {
        let mut rooms: HashMap<String, Room> = records.into_iter().map(Room::from_record).collect();
        if !rooms.contains_key(LOBBY) {
            // Everyone is in the lobby; it is kept only for owners' read marks.
            store.save(Change::Room(RoomChange::Create {
                room: LOBBY.to_owned(),
                name: LOBBY.to_owned(),
                kind: Kind::Public,
                created: now_millis(),
            }));
            rooms.insert(
                LOBBY.to_owned(),
                Room {
                    name: LOBBY.to_owned(),
                    kind: Kind::Public,
                    invite_hash: None,
                    members: BTreeMap::new(),
                    invited: BTreeSet::new(),
                    settings: HashMap::new(),
                },
            );
        }
        Rooms {
            inner: Arc::new(Inner {
                rooms: Mutex::new(rooms),
                store,
            }),
        }
    }

    /// Takes in what another instance changed: the rooms in `only` (every
    /// room when `None`) become what `records` says; those missing from it
    /// are gone. A room in `only` that `may_replace` refuses (one this
    /// instance changed meanwhile) is left as it is and returned, to be
    /// read again.
    pub fn refresh(
        &self,
        only: Option<&[String]>,
        records: Vec<RoomRecord>,
        may_replace: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let mut rooms = self.rooms();
        let mut records: HashMap<String, Room> =
            records.into_iter().map(Room::from_record).collect();
        let Some(only) = only else {
            rooms.retain(|room, _| room == LOBBY);
            rooms.extend(records);
            return Vec::new();
        };
        let mut skipped = Vec::new();
        for room in only {
            if !may_replace(room) {
                skipped.push(room.clone());
                continue;
            }
            match records.remove(room) {
                Some(record) => rooms.insert(room.clone(), record),
                None => rooms.remove(room),
            };
        }
        skipped
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<String, Room>> {
        lock(&self.inner.rooms)
    }

    fn save(&self, change: RoomChange) {
        self.inner.store.save(Change::Room(change));
    }

    /// Creates a room with `user` as its first member. A public room's
    /// name must be free among public rooms; a private room gets an id of
    /// its own, so it never collides.
    pub fn create(&self, user: &UserId, raw: &str, private: bool) -> Result<Membership, RoomError> {
        let name = parse_room_name(raw)?;
        let mut rooms = self.rooms();
        let (id, kind) = if private {
            (private_room_id(), Kind::Private)
        } else {
            (name.clone(), Kind::Public)
        };
        if name == LOBBY || rooms.contains_key(&id) {
            return Err(RoomError::Exists(name));
        }
        rooms.insert(
            id.clone(),
            Room {
                name: name.clone(),
                kind,
                invite_hash: None,
                members: BTreeMap::from([(user.clone(), 0)]),
                invited: BTreeSet::new(),
                settings: HashMap::new(),
            },
        );
        // Together, so no other instance reads the room without its member.
        let create = RoomChange::Create {
            room: id.clone(),
            name,
            kind,
            created: now_millis(),
        };
        let join = RoomChange::Join {
            room: id.clone(),
            user: user.to_string(),
        };
        self.inner
            .store
            .save_all(vec![Change::Room(create), Change::Room(join)]);
        Ok(membership(&id, &rooms[&id], user))
    }

    /// Joins a public room (by name), or a private one (by id) the user was
    /// invited to or whose invite link secret is `secret`.
    pub fn join(
        &self,
        user: &UserId,
        raw: &str,
        secret: Option<&str>,
    ) -> Result<Membership, RoomError> {
        let id = room_id(raw).ok_or_else(|| RoomError::NotFound(raw.trim().to_owned()))?;
        let mut rooms = self.rooms();
        let room = rooms
            .get_mut(&id)
            .ok_or_else(|| RoomError::NotFound(id.clone()))?;
        if !room.members.contains_key(user) {
            let allowed = match room.kind {
                Kind::Public => true,
                Kind::Private => {
                    room.invited.contains(user)
                        || secret.zip(room.invite_hash).is_some_and(|(secret, hash)| {
                            Sha256::digest(secret.as_bytes()).as_slice() == hash
                        })
                }
                Kind::Direct => false,
            };
            if !allowed {
                return Err(RoomError::NotFound(id));
            }
            room.invited.remove(user);
            room.members.insert(user.clone(), 0);
            self.save(RoomChange::Join {
                room: id.clone(),
                user: user.to_string(),
            });
        }
        Ok(membership(&id, room, user))
    }

    /// Leaves a room. The lobby and direct messages cannot be left.
    pub fn leave(&self, user: &UserId, name: &str) -> Result<(), RoomError> {
        let mut rooms = self.rooms();
        let room = rooms
            .get_mut(name)
            .filter(|room| room.members.contains_key(user))
            .ok_or_else(|| RoomError::NotFound(name.to_owned()))?;
        if room.kind == Kind::Direct || name == LOBBY {
            return Err(RoomError::Forbidden(name.to_owned()));
        }
        room.members.remove(user);
        room.settings.remove(user);
        self.save(RoomChange::Leave {
            room: name.to_owned(),
            user: user.to_string(),
        });
        Ok(())
    }

    /// A member invites another user by id. Returns whether the invitation
    /// is new.
    pub fn invite(&self, by: &UserId, name: &str, invitee: &UserId) -> Result<bool, RoomError> {
        let mut rooms = self.rooms();
        let room = rooms
            .get_mut(name)
            .filter(|room| room.members.contains_key(by))
            .ok_or_else(|| RoomError::NotFound(name.to_owned()))?;
        if room.kind == Kind::Direct || name == LOBBY {
            return Err(RoomError::Forbidden(name.to_owned()));
        }
        if room.members.contains_key(invitee) || !room.invited.insert(invitee.clone()) {
            return Ok(false);
        }
        self.save(RoomChange::Invite {
            room: name.to_owned(),
            user: invitee.to_string(),
        });
        Ok(true)
    }

    /// A fresh invite link secret for a room `by` belongs to; earlier links
    /// stop working.
    pub fn invite_link(&self, by: &UserId, name: &str, secret: &str) -> Result<(), RoomError> {
        let mut rooms = self.rooms();
        let room = rooms
            .get_mut(name)
            .filter(|room| room.members.contains_key(by))
            .ok_or_else(|| RoomError::NotFound(name.to_owned()))?;
        if room.kind == Kind::Direct {
            return Err(RoomError::Forbidden(name.to_owned()));
        }
        let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        room.invite_hash = Some(hash);
        self.save(RoomChange::InviteLink {
            room: name.to_owned(),
            hash,
        });
        Ok(())
    }

    /// The direct-message room between two users, created on first use.
    pub fn direct(&self, a: &UserId, b: &UserId) -> Membership {
        let name = direct_room(a, b);
        let mut rooms = self.rooms();
        let room = rooms.entry(name.clone()).or_insert_with(|| {
            self.save(RoomChange::Create {
                room: name.clone(),
                name: String::new(),
                kind: Kind::Direct,
                created: now_millis(),
            });
            for user in [a, b] {
                self.save(RoomChange::Join {
                    room: name.clone(),
                    user: user.to_string(),
                });
            }
            Room {
                name: String::new(),
                kind: Kind::Direct,
                invite_hash: None,
                members: BTreeMap::from([(a.clone(), 0), (b.clone(), 0)]),
                invited: BTreeSet::new(),
                settings: HashMap::new(),
            }
        });
        membership(&name, room, a)
    }

    /// Records that `user` has read `room` up to `seq` (never backwards).
    /// Returns the new mark.
    pub fn mark_read(&self, user: &UserId, name: &str, seq: u64) -> Result<u64, RoomError> {
        let mut rooms = self.rooms();
        let read = rooms
            .get_mut(name)
            .and_then(|room| room.members.get_mut(user))
            .ok_or_else(|| RoomError::NotFound(name.to_owned()))?;
        if seq > *read {
            *read = seq;
            self.save(RoomChange::Read {
                room: name.to_owned(),
                user: user.to_string(),
                seq,
            });
        }
        Ok(*read)
    }

    /// Changes `user`'s notification settings for `room` (what is given).
    pub fn set_settings(
        &self,
        user: &UserId,
        name: &str,
        muted: Option<bool>,
        notify: Option<Notify>,
    ) -> Result<Membership, RoomError> {
        let mut rooms = self.rooms();
        let room = rooms
            .get_mut(name)
            .filter(|room| room.members.contains_key(user))
            .ok_or_else(|| RoomError::NotFound(name.to_owned()))?;
        let mut settings = room.settings.get(user).copied().unwrap_or_default();
        settings.muted = muted.unwrap_or(settings.muted);
        settings.notify = notify.unwrap_or(settings.notify);
        if settings == MemberSettings::default() {
            room.settings.remove(user);
        } else {
            room.settings.insert(user.clone(), settings);
        }
        self.save(RoomChange::Settings {
            room: name.to_owned(),
            user: user.to_string(),
            settings,
        });
        Ok(membership(name, room, user))
    }

    pub fn is_member(&self, user: &UserId, name: &str) -> bool {
        self.rooms()
            .get(name)
            .is_some_and(|room| room.members.contains_key(user))
    }

    /// Who hears what is said in `room`: everyone in the lobby, its members
    /// anywhere else (nobody, for a room that does not exist).
    pub fn audience(&self, name: &str) -> Audience {
        if name == LOBBY {
            Audience::Everyone
        } else {
            Audience::Users(self.members(name))
        }
    }

    /// The members of `room`. In the lobby, where everyone is, only the
    /// owners who keep a read mark there are members.
    pub fn members(&self, name: &str) -> Vec<UserId> {
        self.rooms()
            .get(name)
            .map(|room| room.members.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// `room` as `user` sees it, if `user` belongs to it.
    pub fn membership(&self, name: &str, user: &UserId) -> Option<Membership> {
        let rooms = self.rooms();
        let room = rooms
            .get(name)
            .filter(|room| room.members.contains_key(user))?;
        Some(membership(name, room, user))
    }

    /// Every room `user` belongs to, sorted by name.
    pub fn memberships(&self, user: &UserId) -> Vec<Membership> {
        let rooms = self.rooms();
        let mut list: Vec<Membership> = rooms
            .iter()
            .filter(|(_, room)| room.members.contains_key(user))
            .map(|(name, room)| membership(name, room, user))
            .collect();
        list.sort_by(|a, b| a.room.cmp(&b.room));
        list
    }

    /// Everyone who shares a room other than the lobby with `user`: whose
    /// comings and goings `user` hears of when the lobby is too big for
    /// everyone to hear of everyone's.
    pub fn neighbours(&self, user: &UserId) -> Vec<UserId> {
        let rooms = self.rooms();
        let mut found = BTreeSet::new();
        for (name, room) in rooms.iter() {
            if name != LOBBY && room.members.contains_key(user) {
                found.extend(
                    room.members
                        .keys()
                        .filter(|member| *member != user)
                        .cloned(),
                );
            }
        }
        found.into_iter().collect()
    }

    /// Rooms `user` was invited to and has not joined yet, as (id, name),
    /// sorted by name.
    pub fn invitations(&self, user: &UserId) -> Vec<(String, String)> {
        let rooms = self.rooms();
        let mut list: Vec<(String, String)> = rooms
            .iter()
            .filter(|(_, room)| room.invited.contains(user))
            .map(|(id, room)| (id.clone(), room.name.clone()))
            .collect();
        list.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
        list
    }

    /// What people call `room`, if it exists.
    pub fn name_of(&self, id: &str) -> Option<String> {
        self.rooms().get(id).map(|room| room.name.clone())
    }

    /// What kind of room `id` is, if it exists.
    pub fn kind_of(&self, id: &str) -> Option<Kind> {
        self.rooms().get(id).map(|room| room.kind)
    }

    /// How many members of `room` have read it up to `seq` or past, and
    /// how many members it has: the read count of an announcement.
    pub fn read_count(&self, name: &str, seq: u64) -> (usize, usize) {
        self.rooms().get(name).map_or((0, 0), |room| {
            let read = room.members.values().filter(|read| **read >= seq).count();
            (read, room.members.len())
        })
    }

    /// Public rooms and how many belong to each, for browsing.
    pub fn public_rooms(&self) -> Vec<(String, usize)> {
        let rooms = self.rooms();
        let mut list: Vec<(String, usize)> = rooms
            .iter()
            .filter(|(_, room)| room.kind == Kind::Public)
            .map(|(name, room)| (name.clone(), room.members.len()))
            .collect();
        list.sort();
        list
    }
}

/// A room as the host sees it: what it is and who belongs.
#[derive(Debug, Clone)]
pub struct RoomInfo {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub members: Vec<UserId>,
}

impl Rooms {
    /// Every room: the lobby, then public and private rooms by name, then
    /// direct messages.
    pub fn every_room(&self) -> Vec<RoomInfo> {
        let rooms = self.rooms();
        let mut list: Vec<RoomInfo> = rooms
            .iter()
            .map(|(id, room)| RoomInfo {
                id: id.clone(),
                name: room.name.clone(),
                kind: room.kind,
                members: room.members.keys().cloned().collect(),
            })
            .collect();
        let order = |room: &RoomInfo| match (room.id == LOBBY, room.kind) {
            (true, _) => 0,
            (false, Kind::Public) => 1,
            (false, Kind::Private) => 2,
            (false, Kind::Direct) => 3,
        };
        list.sort_by(|a, b| (order(a), &a.name, &a.id).cmp(&(order(b), &b.name, &b.id)));
        list
    }
}

/// `room` as `user` sees it.
fn membership(name: &str, room: &Room, user: &UserId) -> Membership {
    Membership {
        room: name.to_owned(),
        name: room.name.clone(),
        kind: room.kind,
        last_read: room.members.get(user).copied().unwrap_or(0),
        settings: room.settings.get(user).copied().unwrap_or_default(),
        members: room.members.keys().cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_short_lowercase_words() {
        assert_eq!(parse_room_name("#Projects").unwrap(), "projects");
        assert_eq!(parse_room_name("team-2_b").unwrap(), "team-2_b");
        for bad in ["", "#", "has space", "émoji", "a/b", &"x".repeat(25)] {
            assert_eq!(parse_room_name(bad), Err(RoomError::InvalidName), "{bad:?}");
        }
    }

    #[test]
    fn direct_rooms_are_the_same_from_both_sides() {
        assert_eq!(direct_room("u1", "u2"), direct_room("u2", "u1"));
        assert_ne!(direct_room("u1", "u2"), direct_room("u1", "u3"));
        assert!(direct_room("u1", "u2").starts_with("dm:"));
        assert!(
            parse_room_name(&direct_room("a", "b")).is_err(),
            "cannot be created by hand"
        );
    }
}
