//! Who hears of whose comings and goings.
//!
//! Presence goes out as one `join` or `leave` per change while changes are
//! few. In a connect storm (a restart, a class logging in at once) every
//! change would go to everyone, so N connects would cost O(N²) frames; past
//! [`PRESENCE_BURST`] changes in one [`PRESENCE_WINDOW`], the rest of the
//! window's changes are held and go out as one `presence` frame when it ends.
//!
//! Even batched, listing every name to everyone costs O(N²) bytes: 10k
//! connects sent about 1 GB of names. So past the roster limit the lobby
//! stops listing everyone: `welcome` lists only the newcomer and the people
//! who share a room with them, comings and goings go only to those people,
//! everyone gets the online count at most once per [`ONLINE_INTERVAL`], and
//! clients find other names with `who`. Below three quarters of the limit
//! everyone gets the full list again; the gap keeps a crowd hovering at the
//! limit from switching back and forth.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{Hub, Outbound, State};
use crate::audience::Audience;
use crate::clock::now_millis;
use crate::ids::UserId;
use crate::protocol::{LOBBY, ServerFrame, encode, with_users};

/// How long presence changes may be held in a storm.
pub const PRESENCE_WINDOW: Duration = Duration::from_millis(250);
/// Presence changes sent one frame each per window before the rest are held.
/// At 16 per 250 ms, ordinary comings and goings are never held.
pub const PRESENCE_BURST: usize = 16;
/// How often the online count goes out while the roster is incomplete.
pub const ONLINE_INTERVAL: Duration = Duration::from_secs(1);

/// Presence changes in the current window.
#[derive(Default)]
pub struct PresenceWindow {
    /// When the window began; `None` until the next change.
    started: Option<Instant>,
    /// Changes sent one frame each in this window.
    sent: usize,
    /// Names whose presence changed after the burst was spent. Whether each
    /// is online when the window ends decides if it is listed as joined or
    /// left, so a name that came and went nets out right.
    held: HashSet<Arc<str>>,
}

impl Hub {
    /// Announces that `username` came online at `now`: to everyone, or past
    /// the roster limit to its `neighbours` (the users it shares a room
    /// with). The caller ended the window with the same `now` before it
    /// counted the name in (see [`Hub::presence_changed`]).
    pub(super) fn came_online(
        &self,
        state: &mut State,
        username: &Arc<str>,
        neighbours: &[UserId],
        now: Instant,
    ) {
        if state.large {
            let frame = encode(&ServerFrame::Join {
                room: LOBBY,
                username,
                timestamp: now_millis(),
            });
            let to = Audience::Users(neighbours.to_vec());
            self.send_locked(state, &to, &event(frame), Some(username));
        } else {
            self.presence_changed(state, username, true, now);
        }
    }

    /// Announces that `username` went offline, as [`Hub::came_online`] does.
    pub(super) fn went_offline(
        &self,
        state: &mut State,
        username: &Arc<str>,
        neighbours: &[UserId],
        now: Instant,
    ) {
        if state.large {
            let frame = encode(&ServerFrame::Leave {
                room: LOBBY,
                username,
                timestamp: now_millis(),
            });
            let to = Audience::Users(neighbours.to_vec());
            self.send_locked(state, &to, &event(frame), None);
        } else {
            self.presence_changed(state, username, false, now);
        }
    }

    /// Switches between listing everyone and counting when the number
    /// online crosses the roster limit's thresholds, and tells everyone.
    pub(super) fn update_roster_mode(&self, state: &mut State) {
        let online = state.names.len();
        let limit = self.inner.roster_limit;
        if !state.large && online > limit {
            // Held names go out first, as the last listing.
            self.end_presence_window(state, Instant::now(), true);
            state.large = true;
            state.online_sent = (online, Some(Instant::now()));
            let frame = encode(&ServerFrame::Roster {
                complete: false,
                online,
            });
            self.send_locked(state, &Audience::Everyone, &event(frame), None);
        } else if state.large && online <= limit * 3 / 4 {
            state.large = false;
            let roster = ServerFrame::Roster {
                complete: true,
                online,
            };
            let frame = with_users(&roster, &state.roster.to_json());
            self.send_locked(state, &Audience::Everyone, &event(frame), None);
        }
    }

    /// Sends the online count if it changed and the last one is old enough.
    pub(super) fn announce_online(&self, state: &mut State, now: Instant) {
        let online = state.names.len();
        let (sent, at) = state.online_sent;
        let recent = at.is_some_and(|at| now.duration_since(at) < ONLINE_INTERVAL);
        if !state.large || online == sent || recent {
            return;
        }
        state.online_sent = (online, Some(now));
        let frame = encode(&ServerFrame::Online {
            online,
            timestamp: now_millis(),
        });
        self.send_locked(state, &Audience::Everyone, &event(frame), None);
    }

    /// Sends `username`'s join or leave now, or holds it if this window's
    /// burst is spent.
    ///
    /// The window is not ended here: the caller ends it, if it is over, at
    /// `now` and *before* it changes the name's count. Ending it here, after
    /// the count changed, would list a held name in the window's `presence`
    /// frame as it is after this change, and then tell the change again in
    /// a frame of its own ("abrupt2 left twice").
    pub(super) fn presence_changed(
        &self,
        state: &mut State,
        username: &Arc<str>,
        joined: bool,
        now: Instant,
    ) {
        let window = &mut state.presence;
        window.started.get_or_insert(now);
        if !window.held.is_empty() || window.sent >= PRESENCE_BURST {
            window.held.insert(username.clone());
            return;
        }
        window.sent += 1;
        let timestamp = now_millis();
        let (frame, skip) = if joined {
            let join = ServerFrame::Join {
                room: LOBBY,
                username,
                timestamp,
            };
            (encode(&join), Some(&**username))
        } else {
            let leave = ServerFrame::Leave {
                room: LOBBY,
                username,
                timestamp,
            };
            (encode(&leave), None)
        };
        self.send_locked(state, &Audience::Everyone, &event(frame), skip);
    }

    /// Ends the presence window if it is over (or now, if `force`), sending
    /// what was held as one `presence` frame.
    pub(super) fn end_presence_window(&self, state: &mut State, now: Instant, force: bool) {
        let over = state
            .presence
            .started
            .is_none_or(|started| now.duration_since(started) >= PRESENCE_WINDOW);
        if !over && !force {
            return;
        }
        let held = std::mem::take(&mut state.presence).held;
        if held.is_empty() {
            return;
        }
        let (mut joined, mut left): (Vec<&str>, Vec<&str>) = held
            .iter()
            .map(|name| &**name)
            .partition(|name| state.names.contains_key(*name));
        joined.sort_unstable();
        left.sort_unstable();
        let frame = encode(&ServerFrame::Presence {
            room: LOBBY,
            joined,
            left,
            timestamp: now_millis(),
        });
        self.send_locked(state, &Audience::Everyone, &event(frame), None);
    }

    /// Sends held presence changes once their window is over.
    pub fn flush_presence(&self) {
        let mut state = self.state();
        let now = Instant::now();
        self.end_presence_window(&mut state, now, false);
        self.announce_online(&mut state, now);
    }

    /// Calls [`Hub::flush_presence`] a few times per window until `stop`.
    pub async fn flush_presence_until(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(PRESENCE_WINDOW / 4);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => self.flush_presence(),
            }
        }
    }
}

fn event(frame: String) -> Outbound {
    Outbound::event(frame)
}
