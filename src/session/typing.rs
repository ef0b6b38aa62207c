//! One connection's "is typing" indicator.
//!
//! A client says it is typing every couple of seconds while it is; the
//! server passes that on at most every [`TYPING_REFRESH`], and ends the
//! indicator itself after [`TYPING_TIMEOUT`] without a refresh, or when the
//! user sends, renames, moves to another room or goes.

use std::time::{Duration, Instant};

use crate::protocol::LOBBY;

/// A typing indicator ends by itself after this long without a refresh.
const TYPING_TIMEOUT: Duration = Duration::from_secs(5);
/// Typing refreshes are passed on at most this often per connection.
const TYPING_REFRESH: Duration = Duration::from_secs(2);

pub struct Typing {
    /// The room the indicator is in.
    room: String,
    /// When it ends by itself, if it is on.
    expires: Option<Instant>,
    last_sent: Option<Instant>,
}

impl Typing {
    pub fn new() -> Typing {
        Typing {
            room: LOBBY.to_owned(),
            expires: None,
            last_sent: None,
        }
    }

    pub fn room(&self) -> &str {
        &self.room
    }

    /// When the indicator ends by itself, if it is on.
    pub fn deadline(&self) -> Option<Instant> {
        self.expires
    }

    /// The user is typing in `room` (call [`Typing::stop`] first if it is
    /// another room). True when that is worth announcing: a start, or a
    /// refresh that is due.
    pub fn start(&mut self, room: String, now: Instant) -> bool {
        self.room = room;
        self.expires = Some(now + TYPING_TIMEOUT);
        let due = self
            .last_sent
            .is_none_or(|sent| now.duration_since(sent) >= TYPING_REFRESH);
        if due {
            self.last_sent = Some(now);
        }
        due
    }

    /// Ends the indicator. Returns the room to announce the end in, if it
    /// was on.
    pub fn stop(&mut self) -> Option<&str> {
        self.expires.take()?;
        self.last_sent = None;
        Some(&self.room)
    }
}
