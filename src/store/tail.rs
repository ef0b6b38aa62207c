//! The newest messages of each room, in memory and already encoded, so a
//! connect or a resume never waits for the disk.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::records::{Page, Stored};

/// Each room's newest messages in `seq` order, and so its latest `seq`.
/// Written by the store's writer after each commit, read by sessions.
pub struct Tail {
    rooms: HashMap<String, VecDeque<Arc<Stored>>>,
    /// How many messages per room are kept.
    capacity: usize,
}

impl Tail {
    pub fn new(capacity: usize, recent: Vec<(String, Vec<Arc<Stored>>)>) -> Tail {
        let rooms = recent
            .into_iter()
            .map(|(room, messages)| (room, VecDeque::from(messages)))
            .collect();
        Tail { rooms, capacity }
    }

    /// The room's latest `seq`, 0 when it is empty.
    pub fn latest_seq(&self, room: &str) -> u64 {
        self.rooms
            .get(room)
            .and_then(|messages| messages.back())
            .map_or(0, |m| m.seq())
    }

    /// Adds a message just committed, dropping the room's oldest past the
    /// capacity.
    pub fn push(&mut self, stored: Arc<Stored>) {
        let room = self.rooms.entry(stored.message.room.clone()).or_default();
        room.push_back(stored);
        if room.len() > self.capacity {
            room.pop_front();
        }
    }

    /// Messages with `seq > since` (all when `since` is `None`), the newest
    /// `limit` of them, and the room's latest `seq` at this moment.
    pub fn replay(&self, room: &str, since: Option<u64>, limit: usize) -> (Page, u64) {
        let latest = self.latest_seq(room);
        let Some(messages) = self.rooms.get(room) else {
            return (Page::default(), latest);
        };
        let after = since.unwrap_or(0);
        let newer = messages.iter().filter(|m| m.seq() > after).count();
        let take = newer.min(limit);
        let page: Vec<_> = messages
            .iter()
            .skip(messages.len() - take)
            .cloned()
            .collect();
        let first = page.first().map_or(latest + 1, |m| m.seq());
        let page = Page {
            has_more: first > after + 1,
            messages: page,
        };
        (page, latest)
    }

    /// Up to `limit` messages with `seq < before`, if all of them are still
    /// in memory.
    pub fn page(&self, room: &str, before: u64, limit: usize) -> Option<Page> {
        let messages = self.rooms.get(room)?;
        let oldest = messages.front()?.seq();
        let before = before.min(self.latest_seq(room) + 1);
        let want_from = before.saturating_sub(limit as u64).max(1);
        if want_from < oldest {
            return None;
        }
        let page: Vec<_> = messages
            .iter()
            .filter(|m| m.seq() >= want_from && m.seq() < before)
            .cloned()
            .collect();
        Some(Page {
            has_more: want_from > 1,
            messages: page,
        })
    }
}
