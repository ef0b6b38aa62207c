//! Who is connected, under which name, and fan-out to them.
//!
//! Each connection has an unbounded queue of frames, drained by its session.
//! "Unbounded" is bounded here: the hub counts what each queue holds, and a
//! connection whose backlog passes the limit gets no more frames and is told
//! to close, so a client that stops reading cannot grow our memory.
//!
//! Presence goes out as one `join` or `leave` per change while changes are
//! few. In a connect storm (a restart, a class logging in at once) every
//! change would go to everyone, so N connects would cost O(N²) frames; past
//! [`PRESENCE_BURST`] changes in one [`PRESENCE_WINDOW`], the rest of the
//! window's changes are held and go out as one `presence` frame when it ends.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::protocol::{ErrorCode, Frame, LOBBY, Refusal, ServerFrame, encode};

pub type ConnId = u64;

/// How long presence changes may be held in a storm.
pub const PRESENCE_WINDOW: Duration = Duration::from_millis(250);
/// Presence changes sent one frame each per window before the rest are held.
/// At 16 per 250 ms, ordinary comings and goings are never held.
pub const PRESENCE_BURST: usize = 16;

/// Something for a session to do, in queue order.
#[derive(Debug)]
pub enum Outbound {
    /// A chat message. The session drops it if its history replay already
    /// covered `seq`.
    Message { seq: u64, frame: Frame },
    /// Any other frame (presence, typing, replies).
    Event(Frame),
    /// Another tab renamed this user; the session now speaks as `to`.
    Renamed { to: Arc<str> },
}

impl Outbound {
    fn size(&self) -> usize {
        match self {
            Outbound::Message { frame, .. } | Outbound::Event(frame) => frame.len(),
            Outbound::Renamed { to } => to.len(),
        }
    }
}

/// How much may wait, unsent, for one connection.
#[derive(Debug, Clone, Copy)]
pub struct BacklogLimit {
    pub bytes: usize,
    pub frames: usize,
}

/// A connection's unsent backlog, shared by the hub (which adds) and the
/// session (which subtracts as it writes).
#[derive(Debug, Default)]
pub struct Backlog {
    bytes: AtomicUsize,
    frames: AtomicUsize,
    overflowed: AtomicBool,
    /// Wakes the session when the backlog overflows, so it closes even while
    /// its writes are stuck.
    pub overflow: Notify,
}

impl Backlog {
    /// Called by the session after writing a frame of `size` bytes.
    pub fn written(&self, size: usize) {
        self.bytes.fetch_sub(size, Ordering::Relaxed);
        self.frames.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn has_overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Relaxed)
    }
}

/// What a new connection learns when it joins.
pub struct Joined {
    pub id: ConnId,
    pub outbound: mpsc::UnboundedReceiver<Outbound>,
    pub backlog: Arc<Backlog>,
    /// Everyone online, this user included, sorted, as a JSON array.
    pub users: String,
}

struct Client {
    username: Arc<str>,
    /// Set when the connection owns its name; rooms address users by it.
    user_id: Option<Arc<str>>,
    queue: mpsc::UnboundedSender<Outbound>,
    backlog: Arc<Backlog>,
}

#[derive(Default)]
struct State {
    clients: HashMap<ConnId, Client>,
    /// Connections per online name, for presence: a name joins with its first
    /// connection and leaves with its last.
    names: HashMap<Arc<str>, usize>,
    /// Connections per owned user, for rooms and direct messages.
    users: HashMap<Arc<str>, Vec<ConnId>>,
    roster: Roster,
    presence: PresenceWindow,
}

/// Presence changes in the current window.
#[derive(Default)]
struct PresenceWindow {
    /// When the window began; `None` until the next change.
    started: Option<Instant>,
    /// Changes sent one frame each in this window.
    sent: usize,
    /// Names whose presence changed after the burst was spent. Whether each
    /// is online when the window ends decides if it is listed as joined or
    /// left, so a name that came and went nets out right.
    held: HashSet<Arc<str>>,
}

/// The online names in the order `welcome` lists them (case-insensitive,
/// then exact), each already JSON-encoded. Every connect sends the whole
/// list, so it is kept sorted as names come and go and is only
/// concatenated: sorting it per connect made a storm of N connects cost
/// O(N² log N) lowercase allocations under the hub lock.
#[derive(Default)]
struct Roster {
    sorted: BTreeMap<(String, Arc<str>), String>,
}

impl Roster {
    fn key(name: &Arc<str>) -> (String, Arc<str>) {
        (name.to_lowercase(), name.clone())
    }

    fn insert(&mut self, name: &Arc<str>) {
        let json = serde_json::to_string(&**name).expect("strings serialize");
        self.sorted.insert(Roster::key(name), json);
    }

    fn remove(&mut self, name: &Arc<str>) {
        self.sorted.remove(&Roster::key(name));
    }

    fn to_json(&self) -> String {
        let len: usize = self.sorted.values().map(|json| json.len() + 1).sum();
        let mut out = String::with_capacity(len + 2);
        out.push('[');
        for (i, json) in self.sorted.values().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(json);
        }
        out.push(']');
        out
    }
}

/// Handle to the hub. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    /// One lock for clients and names so presence changes are atomic. Held
    /// only for map updates and the non-blocking queue pushes of a fan-out,
    /// never across `.await`.
    state: Mutex<State>,
    next_id: AtomicU64,
    limit: BacklogLimit,
}

impl Hub {
    pub fn new(limit: BacklogLimit) -> Self {
        Hub {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                next_id: AtomicU64::new(1),
                limit,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the maps consistent, so a panic in
        // one (which would be a bug) need not take the hub down.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a connection. The first connection of a name announces
    /// `join` to everyone else.
    pub fn join(&self, username: &str, user_id: Option<Arc<str>>) -> Joined {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, outbound) = mpsc::unbounded_channel();
        let backlog = Arc::new(Backlog::default());
        let mut state = self.state();
        // A window that is over is sent before this change, or it would
        // list this name as it is after the change and the change's own
        // frame would say it again.
        self.end_presence_window(&mut state, Instant::now(), false);
        let username: Arc<str> = match state.names.get_key_value(username) {
            Some((name, _)) => name.clone(),
            None => Arc::from(username),
        };
        let count = state.names.entry(username.clone()).or_insert(0);
        *count += 1;
        let first = *count == 1;
        if first {
            state.roster.insert(&username);
        }
        if let Some(user) = &user_id {
            state.users.entry(user.clone()).or_default().push(id);
        }
        state.clients.insert(
            id,
            Client {
                username: username.clone(),
                user_id,
                queue,
                backlog: backlog.clone(),
            },
        );
        if first {
            self.presence_changed(&mut state, &username, true, Instant::now());
        }
        let users = state.roster.to_json();
        Joined {
            id,
            outbound,
            backlog,
            users,
        }
    }

    /// Removes a connection. The last connection of a name announces `leave`
    /// if `announce` is set.
    pub fn leave(&self, id: ConnId, announce: bool) {
        let mut state = self.state();
        let Some(client) = state.clients.remove(&id) else {
            return;
        };
        self.end_presence_window(&mut state, Instant::now(), false);
        if let Some(user) = &client.user_id
            && let Some(conns) = state.users.get_mut(user)
        {
            conns.retain(|&conn| conn != id);
            if conns.is_empty() {
                state.users.remove(user);
            }
        }
        let last = match state.names.get_mut(&client.username) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            _ => {
                state.names.remove(&client.username);
                state.roster.remove(&client.username);
                true
            }
        };
        if last && announce {
            self.presence_changed(&mut state, &client.username, false, Instant::now());
        }
    }

    /// Sends `username`'s join or leave now, or holds it if this window's
    /// burst is spent.
    fn presence_changed(&self, state: &mut State, username: &Arc<str>, joined: bool, now: Instant) {
        self.end_presence_window(state, now, false);
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
        self.fan_out(state, Frame::from(frame), skip);
    }

    /// Ends the presence window if it is over (or now, if `force`), sending
    /// what was held as one `presence` frame.
    fn end_presence_window(&self, state: &mut State, now: Instant, force: bool) {
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
        self.fan_out(state, Frame::from(frame), None);
    }

    /// Sends held presence changes once their window is over.
    pub fn flush_presence(&self) {
        let mut state = self.state();
        self.end_presence_window(&mut state, Instant::now(), false);
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

    /// Renames the user behind `id` on all of its connections, and tells
    /// everyone. Fails if another user holds the name.
    pub fn rename(&self, id: ConnId, to: &str) -> Result<Arc<str>, Refusal> {
        let mut state = self.state();
        let from = match state.clients.get(&id) {
            Some(client) => client.username.clone(),
            None => return Err(Refusal::new(ErrorCode::BadRequest, "not connected")),
        };
        if &*from == to {
            return Ok(from);
        }
        if state.names.contains_key(to) {
            return Err(Refusal::new(
                ErrorCode::NameTaken,
                format!("\"{to}\" is already in use; pick another name"),
            ));
        }
        // Held presence goes first, so no one hears of a rename before the
        // join it follows.
        self.end_presence_window(&mut state, Instant::now(), true);
        let to: Arc<str> = Arc::from(to);
        let count = state.names.remove(&from).unwrap_or(0);
        state.names.insert(to.clone(), count);
        state.roster.remove(&from);
        state.roster.insert(&to);
        for (&conn, client) in state.clients.iter_mut() {
            if client.username == from {
                client.username = to.clone();
                if conn != id {
                    let _ = client.queue.send(Outbound::Renamed { to: to.clone() });
                }
            }
        }
        let frame = encode(&ServerFrame::Rename {
            room: LOBBY,
            from: &from,
            to: &to,
            timestamp: now_millis(),
        });
        self.fan_out(&state, Frame::from(frame), None);
        Ok(to)
    }

    /// Sends a chat message to every connection.
    pub fn broadcast_message(&self, seq: u64, frame: &Frame) {
        let state = self.state();
        for client in state.clients.values() {
            self.deliver(
                client,
                Outbound::Message {
                    seq,
                    frame: frame.clone(),
                },
            );
        }
    }

    /// Sends an event to every connection except those of `skip_user`.
    pub fn broadcast_event(&self, frame: Frame, skip_user: Option<&str>) {
        let state = self.state();
        self.fan_out(&state, frame, skip_user);
    }

    /// Sends a frame to every connection of each of `users`, except
    /// connections named `skip_user`.
    pub fn send_to_users(&self, users: &[Arc<str>], frame: &Frame, skip_user: Option<&str>) {
        let state = self.state();
        for user in users {
            for conn in state.users.get(user).into_iter().flatten() {
                if let Some(client) = state.clients.get(conn) {
                    if skip_user.is_some_and(|skip| &*client.username == skip) {
                        continue;
                    }
                    self.deliver(client, Outbound::Event(frame.clone()));
                }
            }
        }
    }

    /// Sends a frame to one connection, if it is still here.
    pub fn send_to(&self, id: ConnId, outbound: Outbound) {
        let state = self.state();
        if let Some(client) = state.clients.get(&id) {
            self.deliver(client, outbound);
        }
    }

    pub fn connection_count(&self) -> usize {
        self.state().clients.len()
    }

    pub fn user_count(&self) -> usize {
        self.state().names.len()
    }

    fn fan_out(&self, state: &State, frame: Frame, skip_user: Option<&str>) {
        for client in state.clients.values() {
            if skip_user.is_some_and(|skip| &*client.username == skip) {
                continue;
            }
            self.deliver(client, Outbound::Event(frame.clone()));
        }
    }

    fn deliver(&self, client: &Client, outbound: Outbound) {
        let backlog = &client.backlog;
        if backlog.has_overflowed() {
            return;
        }
        let size = outbound.size();
        let frames = backlog.frames.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = backlog.bytes.fetch_add(size, Ordering::Relaxed) + size;
        if frames > self.inner.limit.frames || bytes > self.inner.limit.bytes {
            backlog.overflowed.store(true, Ordering::Relaxed);
            backlog.overflow.notify_one();
            return;
        }
        // A send fails only when the session has already ended; its `leave`
        // is on the way.
        let _ = client.queue.send(outbound);
    }
}

pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(frames: usize) -> Hub {
        Hub::new(BacklogLimit {
            bytes: 1 << 20,
            frames,
        })
    }

    fn drain(joined: &mut Joined) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(item) = joined.outbound.try_recv() {
            match item {
                Outbound::Message { frame, .. } | Outbound::Event(frame) => {
                    out.push(frame.to_string())
                }
                Outbound::Renamed { to } => out.push(format!("renamed:{to}")),
            }
        }
        out
    }

    #[test]
    fn presence_counts_a_name_once() {
        let hub = hub(100);
        let mut watcher = hub.join("watcher", None);
        let tab1 = hub.join("alice", None);
        let tab2 = hub.join("alice", None);
        assert_eq!(tab2.users, r#"["alice","watcher"]"#);
        let joins = drain(&mut watcher);
        assert_eq!(joins.len(), 1, "{joins:?}");
        assert!(joins[0].contains("\"join\""));
        hub.leave(tab1.id, true);
        assert!(drain(&mut watcher).is_empty());
        hub.leave(tab2.id, true);
        let leaves = drain(&mut watcher);
        assert_eq!(leaves.len(), 1);
        assert!(leaves[0].contains("\"leave\""));
        assert_eq!(hub.user_count(), 1);
    }

    #[test]
    fn rename_moves_every_tab_and_refuses_taken_names() {
        let hub = hub(100);
        let tab1 = hub.join("alice", None);
        let mut tab2 = hub.join("alice", None);
        let _bob = hub.join("bob", None);
        drain(&mut tab2);
        assert_eq!(
            hub.rename(tab1.id, "bob").unwrap_err().code,
            ErrorCode::NameTaken
        );
        assert_eq!(&*hub.rename(tab1.id, "carol").unwrap(), "carol");
        let seen = drain(&mut tab2);
        assert_eq!(seen[0], "renamed:carol");
        assert!(seen[1].contains("\"rename\""));
        assert_eq!(hub.user_count(), 2);
        assert_eq!(hub.join("Bob", None).users, r#"["Bob","bob","carol"]"#);
    }

    #[test]
    fn a_connect_storm_sends_presence_in_one_frame_per_window() {
        let hub = hub(1000);
        let mut watcher = hub.join("watcher", None);
        // A fresh window, after the one the watcher's own join opened.
        let start = Instant::now() + PRESENCE_WINDOW;
        let mut state = hub.state();
        let users: Vec<Arc<str>> = (0..PRESENCE_BURST + 3)
            .map(|i| Arc::from(format!("u{i:02}")))
            .collect();
        for name in &users {
            state.names.insert(name.clone(), 1);
            hub.presence_changed(&mut state, name, true, start);
        }
        // The last one leaves again within the window.
        let gone = users.last().unwrap();
        state.names.remove(gone);
        hub.presence_changed(&mut state, gone, false, start);
        drop(state);
        let joins = drain(&mut watcher);
        assert_eq!(joins.len(), PRESENCE_BURST);
        assert!(joins.iter().all(|f| f.contains("\"join\"")));

        hub.end_presence_window(&mut hub.state(), start + PRESENCE_WINDOW / 2, false);
        assert!(drain(&mut watcher).is_empty(), "held until the window ends");
        hub.end_presence_window(&mut hub.state(), start + PRESENCE_WINDOW, false);
        let held = drain(&mut watcher);
        assert_eq!(held.len(), 1);
        let frame: serde_json::Value = serde_json::from_str(&held[0]).unwrap();
        assert_eq!(frame["type"], "presence");
        assert_eq!(frame["joined"], serde_json::json!(["u16", "u17"]));
        assert_eq!(frame["left"], serde_json::json!(["u18"]));
    }

    #[test]
    fn overflowing_backlog_stops_delivery_and_signals() {
        let hub = hub(3);
        let joined = hub.join("slow", None);
        for seq in 0..10 {
            hub.broadcast_message(seq, &Frame::from("x"));
        }
        assert!(joined.backlog.has_overflowed());
        assert_eq!(joined.outbound.len(), 3);
    }
}
