//! This instance's changes on their way to the database, by what they are
//! about.
//!
//! Names, rooms and files live in memory, changed at once and saved
//! behind. When another instance says it changed one of them, this one
//! reads it back from the database and replaces what it holds, which must
//! not undo a change of its own that is not saved yet, or one made while
//! the answer was on its way. So a subject may be replaced only when none
//! of its changes is queued, and none was made since the read began; else
//! it is read again later.

use std::collections::HashMap;
use std::sync::Mutex;

use super::records::{Change, RoomChange};
use crate::sync::lock;

/// What a change is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A claim, by its lowercased name.
    Claim(String),
    Room(String),
    File(String),
    /// The host's rules, all of them: they are read back together.
    Host,
}

impl Change {
    pub fn subject(&self) -> Subject {
        match self {
            Change::SaveClaim(claim) => Subject::Claim(claim.name.to_lowercase()),
            Change::DeleteClaim(name) => Subject::Claim(name.to_lowercase()),
            Change::File(file) => Subject::File(file.id.clone()),
            Change::DeleteFile(id) => Subject::File(id.clone()),
            Change::Room(change) => Subject::Room(change.room().to_owned()),
            Change::Host { .. } => Subject::Host,
        }
    }
}

impl RoomChange {
    pub fn room(&self) -> &str {
        match self {
            RoomChange::Create { room, .. }
            | RoomChange::Join { room, .. }
            | RoomChange::Leave { room, .. }
            | RoomChange::Invite { room, .. }
            | RoomChange::InviteLink { room, .. }
            | RoomChange::Read { room, .. }
            | RoomChange::Settings { room, .. } => room,
        }
    }
}

/// A subject's queued changes, and the number of the last one.
#[derive(Default)]
struct Count {
    queued: u32,
    last: u64,
}

#[derive(Default)]
pub struct Pending {
    /// Every subject this instance has changed; about as many as it holds
    /// in memory anyway.
    subjects: Mutex<(u64, HashMap<Subject, Count>)>,
}

/// Where a subject stood when a read of it began: see [`Pending::unchanged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark(u64);

impl Pending {
    /// A change of `subject` was queued.
    pub fn queued(&self, subject: Subject) {
        let mut guard = lock(&self.subjects);
        let (next, subjects) = &mut *guard;
        *next += 1;
        let count = subjects.entry(subject).or_default();
        count.queued += 1;
        count.last = *next;
    }

    /// A change of `subject` was committed (or failed).
    pub fn done(&self, subject: &Subject) {
        if let Some(count) = lock(&self.subjects).1.get_mut(subject) {
            count.queued = count.queued.saturating_sub(1);
        }
    }

    /// Where `subject` stands, if none of its changes is queued.
    pub fn settled(&self, subject: &Subject) -> Option<Mark> {
        match lock(&self.subjects).1.get(subject) {
            Some(count) if count.queued > 0 => None,
            Some(count) => Some(Mark(count.last)),
            None => Some(Mark(0)),
        }
    }

    /// Whether `subject` has had no change since it stood at `mark`.
    pub fn unchanged(&self, subject: &Subject, mark: Mark) -> bool {
        self.settled(subject) == Some(mark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_is_settled_only_with_nothing_queued_and_nothing_since() {
        let pending = Pending::default();
        let room = Subject::Room("plans".into());
        let start = pending.settled(&room).expect("never changed");
        pending.queued(room.clone());
        assert_eq!(pending.settled(&room), None, "a change is on its way");
        assert!(!pending.unchanged(&room, start));
        pending.done(&room);
        let after = pending.settled(&room).expect("saved");
        assert_ne!(after, start, "changed since the start");
        assert!(pending.unchanged(&room, after));
        let other = Subject::Room("lobby".into());
        pending.queued(other.clone());
        assert!(pending.unchanged(&room, after), "another room's change");
    }
}
