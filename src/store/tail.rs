//! The newest messages of each room, in memory in their current state and
//! already encoded, so a connect or a resume never waits for the disk.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::log::Stored;
use super::records::{Page, RecentRoom};

/// Each room's newest messages in `seq` order and its latest `seq`.
/// Written by the store's writer after each commit, read by sessions.
pub struct Tail {
    rooms: HashMap<String, RoomTail>,
    /// How many messages per room are kept.
    capacity: usize,
}

#[derive(Default)]
struct RoomTail {
    messages: VecDeque<Arc<Stored>>,
    /// The room's latest seq: its newest entry, a message or a change.
    latest: u64,
    /// The newest version of any message not in `messages` (pushed out, or
    /// older than what was loaded): a resume from before it needs the disk.
    outside: u64,
    /// Older messages than those in `messages` exist, on disk.
    older_on_disk: bool,
}

impl Tail {
    /// Starts from what the backend loaded: each room's newest messages.
    pub fn new(capacity: usize, recent: Vec<RecentRoom>) -> Tail {
        let rooms = recent
            .into_iter()
            .map(|room| {
                let tail = RoomTail {
                    messages: VecDeque::from(room.messages),
                    latest: room.latest,
                    outside: room.outside,
                    older_on_disk: room.older_on_disk,
                };
                (room.room, tail)
            })
            .collect();
        Tail { rooms, capacity }
    }

    /// The room's latest `seq`, 0 when it is empty.
    pub fn latest_seq(&self, room: &str) -> u64 {
        self.rooms.get(room).map_or(0, |tail| tail.latest)
    }

    /// Takes in entry `seq` of `room`, after which `state` is the message's
    /// state: a new message goes at the end, a changed one is replaced.
    pub fn apply(&mut self, room: &str, seq: u64, state: Arc<Stored>) {
        let capacity = self.capacity;
        let tail = self.rooms.entry(room.to_owned()).or_default();
        tail.latest = tail.latest.max(seq);
        let newest = tail.messages.back().map_or(0, |m| m.seq());
        if state.seq() > newest {
            tail.messages.push_back(state);
            if tail.messages.len() > capacity {
                let gone = tail.messages.pop_front().expect("over capacity");
                tail.outside = tail.outside.max(gone.version());
                tail.older_on_disk = true;
            }
            return;
        }
        match tail
            .messages
            .binary_search_by_key(&state.seq(), |m| m.seq())
        {
            Ok(at) => tail.messages[at] = state,
            Err(_) => tail.outside = tail.outside.max(state.version()),
        }
    }

    /// Forgets `room`'s messages up to `through`, which expired; returns
    /// how many it held. If the tail held the room's oldest message that
    /// stays, nothing is older on disk any more.
    pub fn forget(&mut self, room: &str, through: u64) -> usize {
        let Some(tail) = self.rooms.get_mut(room) else {
            return 0;
        };
        let before = tail.messages.len();
        let covered = tail.messages.front().is_some_and(|m| m.seq() <= through);
        tail.messages.retain(|m| m.seq() > through);
        if covered {
            tail.older_on_disk = false;
        }
        before - tail.messages.len()
    }

    /// The messages changed after `since` (new, edited, deleted, reacted
    /// to), in their current state, oldest first: the newest `limit` of
    /// them, and the room's latest seq. `None` when the answer is not all in
    /// memory (a message out of it changed after `since`).
    pub fn replay(&self, room: &str, since: Option<u64>, limit: usize) -> Option<(Page, u64)> {
        let Some(tail) = self.rooms.get(room) else {
            return Some((Page::default(), 0));
        };
        let after = since.unwrap_or(0);
        if since.is_some() && tail.outside > after {
            return None;
        }
        let changed: Vec<&Arc<Stored>> = tail
            .messages
            .iter()
            .filter(|m| m.version() > after)
            .collect();
        let skip = changed.len().saturating_sub(limit);
        let messages: Vec<Arc<Stored>> = changed[skip..].iter().map(|m| Arc::clone(m)).collect();
        // On a resume, changes were left out; on a plain connect, older
        // messages exist before the first shown.
        let has_more = skip > 0 || (since.is_none() && tail.older_on_disk);
        Some((
            Page {
                messages,
                has_more,
                has_newer: None,
            },
            tail.latest,
        ))
    }

    /// Up to `limit` messages with `seq < before`, oldest first, if all of
    /// them are in memory.
    pub fn page(&self, room: &str, before: u64, limit: usize) -> Option<Page> {
        let tail = self.rooms.get(room)?;
        let first = tail.messages.partition_point(|m| m.seq() < before);
        let from = first.saturating_sub(limit);
        if first - from < limit && tail.older_on_disk {
            return None;
        }
        Some(Page {
            messages: tail.messages.range(from..first).cloned().collect(),
            has_more: from > 0 || tail.older_on_disk,
            has_newer: None,
        })
    }

    /// Up to `limit` messages with `seq > after`, oldest first, if all of
    /// them are in memory, and whether newer ones follow.
    pub fn after(&self, room: &str, after: u64, limit: usize) -> Option<Page> {
        let tail = self.rooms.get(room)?;
        let oldest = tail.messages.front()?.seq();
        if tail.older_on_disk && after + 1 < oldest {
            return None;
        }
        let start = tail.messages.partition_point(|m| m.seq() <= after);
        let end = (start + limit).min(tail.messages.len());
        Some(Page {
            messages: tail.messages.range(start..end).cloned().collect(),
            has_more: start > 0 || tail.older_on_disk,
            has_newer: Some(end < tail.messages.len()),
        })
    }

    /// How many messages after `after` (not deleted) the room has, and how
    /// many of them mention `user`, counting what is in memory.
    pub fn unread(&self, room: &str, after: u64, user: Option<&str>, direct: bool) -> (u64, u64) {
        let Some(tail) = self.rooms.get(room) else {
            return (0, 0);
        };
        let start = tail.messages.partition_point(|m| m.seq() <= after);
        let mut unread = 0;
        let mut mentions = 0;
        for message in tail.messages.range(start..) {
            if message.message.deleted {
                continue;
            }
            unread += 1;
            if user.is_some_and(|user| message.mentions(user, direct)) {
                mentions += 1;
            }
        }
        (unread, mentions)
    }
}
