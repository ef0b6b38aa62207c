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
//!
//! Even batched, listing every name to everyone costs O(N²) bytes: 10k
//! connects sent about 1 GB of names. So past the roster limit the lobby
//! stops listing everyone: `welcome` lists only the newcomer and the people
//! who share a room with them, comings and goings go only to those people,
//! everyone gets the online count at most once per [`ONLINE_INTERVAL`], and
//! clients find other names with `who`. Below three quarters of the limit
//! everyone gets the full list again; the gap keeps a crowd hovering at the
//! limit from switching back and forth.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::protocol::{ErrorCode, Frame, LOBBY, Refusal, ServerFrame, encode, with_users};

pub type ConnId = u64;

/// How long presence changes may be held in a storm.
pub const PRESENCE_WINDOW: Duration = Duration::from_millis(250);
/// Presence changes sent one frame each per window before the rest are held.
/// At 16 per 250 ms, ordinary comings and goings are never held.
pub const PRESENCE_BURST: usize = 16;
/// How often the online count goes out while the roster is incomplete.
pub const ONLINE_INTERVAL: Duration = Duration::from_secs(1);
/// Most names in one `who` answer.
pub const WHO_LIMIT: usize = 50;

/// Something for a session to do, in queue order.
#[derive(Debug)]
pub enum Outbound {
    /// Chat messages committed together, shared by every recipient. The
    /// session drops those its history replay already covered.
    Messages(Arc<MessageRun>),
    /// Any other frame (presence, typing, replies).
    Event(Frame),
    /// Another tab renamed this user; the session now speaks as `to`.
    Renamed { to: Arc<str> },
}

impl Outbound {
    /// What it adds to a backlog: bytes, and frames to write.
    pub fn size(&self) -> (usize, usize) {
        match self {
            Outbound::Messages(run) => (run.bytes, run.messages.len()),
            Outbound::Event(frame) => (frame.len(), 1),
            Outbound::Renamed { to } => (to.len(), 0),
        }
    }
}

/// Lobby messages from one commit, as `(seq, frame)` in `seq` order. One
/// queue item per recipient for the whole run, not one per message: at a
/// few hundred connections and thousands of messages a second, the queue
/// operations and reference counts per message were a tenth of the work.
#[derive(Debug)]
pub struct MessageRun {
    pub messages: Vec<(u64, Frame)>,
    bytes: usize,
}

impl MessageRun {
    fn new(messages: Vec<(u64, Frame)>) -> MessageRun {
        let bytes = messages.iter().map(|(_, frame)| frame.len()).sum();
        MessageRun { messages, bytes }
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
    /// Called by the session as it takes an item off its queue to write.
    pub fn taken(&self, (bytes, frames): (usize, usize)) {
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
        self.frames.fetch_sub(frames, Ordering::Relaxed);
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
    /// Everyone online, this user included, sorted, as a JSON array; past
    /// the roster limit only this user and their neighbours.
    pub users: String,
    /// Whether `users` is everyone.
    pub complete: bool,
    /// How many names are online.
    pub online: usize,
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
    /// More names are online than the roster limit: see the module docs.
    large: bool,
    /// The online count last sent while `large`, and when.
    online_sent: (usize, Option<Instant>),
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
        json_array(self.sorted.values().map(String::as_str))
    }

    /// Up to `limit` names whose lowercase starts with `lower_prefix`, as a
    /// JSON array.
    fn starting_with(&self, lower_prefix: &str, limit: usize) -> String {
        let from = (lower_prefix.to_owned(), Arc::<str>::from(""));
        json_array(
            self.sorted
                .range(from..)
                .take_while(|((lower, _), _)| lower.starts_with(lower_prefix))
                .take(limit)
                .map(|(_, json)| json.as_str()),
        )
    }
}

/// Joins encoded JSON values into an array.
fn json_array<'a>(values: impl Iterator<Item = &'a str> + Clone) -> String {
    let len: usize = values.clone().map(|json| json.len() + 1).sum();
    let mut out = String::with_capacity(len + 2);
    out.push('[');
    for (i, json) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(json);
    }
    out.push(']');
    out
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
    roster_limit: usize,
}

impl Hub {
    pub fn new(limit: BacklogLimit, roster_limit: usize) -> Self {
        Hub {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                next_id: AtomicU64::new(1),
                limit,
                roster_limit,
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
    /// `join` to everyone else, or past the roster limit to its
    /// `neighbours`: the users it shares a room with.
    pub fn join(
        &self,
        username: &str,
        user_id: Option<Arc<str>>,
        neighbours: &[Arc<str>],
    ) -> Joined {
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
            // Before this connection is listed, so the newcomer hears of the
            // mode from its welcome alone.
            self.update_roster_mode(&mut state);
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
            if state.large {
                let frame = encode(&ServerFrame::Join {
                    room: LOBBY,
                    username: &username,
                    timestamp: now_millis(),
                });
                self.send_to_users_locked(&state, neighbours, &Frame::from(frame), Some(&username));
            } else {
                self.presence_changed(&mut state, &username, true, Instant::now());
            }
        }
        let (users, complete) = if state.large {
            (neighbour_roster(&state, &username, neighbours), false)
        } else {
            (state.roster.to_json(), true)
        };
        Joined {
            id,
            outbound,
            backlog,
            users,
            complete,
            online: state.names.len(),
        }
    }

    /// Switches between listing everyone and counting when the number
    /// online crosses the roster limit's thresholds, and tells everyone.
    fn update_roster_mode(&self, state: &mut State) {
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
            self.fan_out(state, Frame::from(frame), None);
        } else if state.large && online <= limit * 3 / 4 {
            state.large = false;
            let roster = ServerFrame::Roster {
                complete: true,
                online,
            };
            let frame = with_users(&roster, &state.roster.to_json());
            self.fan_out(state, Frame::from(frame), None);
        }
    }

    /// Online names starting with `prefix`, in any letter case, as a `who`
    /// frame.
    pub fn who(&self, prefix: &str) -> String {
        let state = self.state();
        let users = state
            .roster
            .starting_with(&prefix.to_lowercase(), WHO_LIMIT);
        let who = ServerFrame::Who {
            prefix,
            online: state.names.len(),
        };
        with_users(&who, &users)
    }

    /// The names of whichever of `users` are online, in roster order.
    pub fn online_names(&self, users: &[Arc<str>]) -> Vec<String> {
        let state = self.state();
        let mut names = online_among(&state, users);
        sort_names(&mut names);
        names.into_iter().map(|name| name.to_string()).collect()
    }

    /// Sends the online count if it changed and the last one is old enough.
    fn announce_online(&self, state: &mut State, now: Instant) {
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
        self.fan_out(state, Frame::from(frame), None);
    }

    /// Removes a connection. The last connection of a name announces `leave`
    /// if `announce` is set (past the roster limit, to its `neighbours`).
    pub fn leave(&self, id: ConnId, announce: bool, neighbours: &[Arc<str>]) {
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
            if state.large {
                let frame = encode(&ServerFrame::Leave {
                    room: LOBBY,
                    username: &client.username,
                    timestamp: now_millis(),
                });
                self.send_to_users_locked(&state, neighbours, &Frame::from(frame), None);
            } else {
                self.presence_changed(&mut state, &client.username, false, Instant::now());
            }
        }
        // At shutdown nobody needs the list back.
        if last && announce {
            self.update_roster_mode(&mut state);
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
        for client in state.clients.values_mut() {
            if client.username == from {
                client.username = to.clone();
            }
        }
        for (&conn, client) in &state.clients {
            if conn != id && client.username == to {
                // Counted like any other item: the session subtracts it.
                self.deliver(client, Outbound::Renamed { to: to.clone() });
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

    /// Sends chat messages from one commit, as `(seq, frame)` in `seq`
    /// order, to every connection as one run. Nothing for none.
    pub fn broadcast_messages(&self, messages: Vec<(u64, Frame)>) {
        if messages.is_empty() {
            return;
        }
        let run = Arc::new(MessageRun::new(messages));
        let state = self.state();
        for client in state.clients.values() {
            self.deliver(client, Outbound::Messages(run.clone()));
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
        self.send_to_users_locked(&state, users, frame, skip_user);
    }

    fn send_to_users_locked(
        &self,
        state: &State,
        users: &[Arc<str>],
        frame: &Frame,
        skip_user: Option<&str>,
    ) {
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
        let (size, count) = outbound.size();
        let frames = backlog.frames.fetch_add(count, Ordering::Relaxed) + count;
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

/// `username` and whichever of `neighbours` are online, in roster order, as
/// a JSON array.
fn neighbour_roster(state: &State, username: &Arc<str>, neighbours: &[Arc<str>]) -> String {
    let mut names = online_among(state, neighbours);
    names.push(username);
    sort_names(&mut names);
    let names: Vec<&str> = names.into_iter().map(|name| &**name).collect();
    serde_json::to_string(&names).expect("strings serialize")
}

/// The names of whichever of `users` are online.
fn online_among<'a>(state: &'a State, users: &[Arc<str>]) -> Vec<&'a Arc<str>> {
    users
        .iter()
        .filter_map(|user| state.users.get(user)?.first())
        .filter_map(|conn| Some(&state.clients.get(conn)?.username))
        .collect()
}

/// Roster order, each name once.
fn sort_names(names: &mut Vec<&Arc<str>>) {
    names.sort_by_cached_key(|name| Roster::key(name));
    names.dedup();
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
        Hub::new(
            BacklogLimit {
                bytes: 1 << 20,
                frames,
            },
            100,
        )
    }

    fn drain(joined: &mut Joined) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(item) = joined.outbound.try_recv() {
            match item {
                Outbound::Messages(run) => {
                    out.extend(run.messages.iter().map(|(_, frame)| frame.to_string()))
                }
                Outbound::Event(frame) => out.push(frame.to_string()),
                Outbound::Renamed { to } => out.push(format!("renamed:{to}")),
            }
        }
        out
    }

    #[test]
    fn presence_counts_a_name_once() {
        let hub = hub(100);
        let mut watcher = hub.join("watcher", None, &[]);
        let tab1 = hub.join("alice", None, &[]);
        let tab2 = hub.join("alice", None, &[]);
        assert_eq!(tab2.users, r#"["alice","watcher"]"#);
        let joins = drain(&mut watcher);
        assert_eq!(joins.len(), 1, "{joins:?}");
        assert!(joins[0].contains("\"join\""));
        hub.leave(tab1.id, true, &[]);
        assert!(drain(&mut watcher).is_empty());
        hub.leave(tab2.id, true, &[]);
        let leaves = drain(&mut watcher);
        assert_eq!(leaves.len(), 1);
        assert!(leaves[0].contains("\"leave\""));
        assert_eq!(hub.user_count(), 1);
    }

    #[test]
    fn rename_moves_every_tab_and_refuses_taken_names() {
        let hub = hub(100);
        let tab1 = hub.join("alice", None, &[]);
        let mut tab2 = hub.join("alice", None, &[]);
        let _bob = hub.join("bob", None, &[]);
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
        assert_eq!(hub.join("Bob", None, &[]).users, r#"["Bob","bob","carol"]"#);
    }

    /// What the hub adds to a backlog, the session takes off again: a
    /// rename in one tab leaves the other tab's backlog at zero.
    #[test]
    fn a_rename_keeps_the_backlog_count_exact() {
        let hub = hub(100);
        let tab1 = hub.join("alice", None, &[]);
        let mut tab2 = hub.join("alice", None, &[]);
        hub.rename(tab1.id, "carol").unwrap();
        while let Ok(item) = tab2.outbound.try_recv() {
            tab2.backlog.taken(item.size());
        }
        assert_eq!(tab2.backlog.bytes.load(Ordering::Relaxed), 0);
        assert_eq!(tab2.backlog.frames.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_connect_storm_sends_presence_in_one_frame_per_window() {
        let hub = hub(1000);
        let mut watcher = hub.join("watcher", None, &[]);
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
    fn past_the_roster_limit_names_go_only_to_neighbours() {
        let hub = Hub::new(
            BacklogLimit {
                bytes: 1 << 20,
                frames: 100,
            },
            2,
        );
        let (ua, uc): (Arc<str>, Arc<str>) = (Arc::from("ua"), Arc::from("uc"));
        let mut a = hub.join("a", Some(ua.clone()), std::slice::from_ref(&uc));
        let mut b = hub.join("b", None, &[]);
        assert!(b.complete);
        assert_eq!(b.users, r#"["a","b"]"#);
        drain(&mut a);
        let mut c = hub.join("c", Some(uc.clone()), std::slice::from_ref(&ua));
        assert!(!c.complete);
        assert_eq!((c.online, c.users.as_str()), (3, r#"["a","c"]"#));
        let to_a = drain(&mut a);
        assert_eq!(to_a.len(), 2, "{to_a:?}");
        assert_eq!(to_a[0], r#"{"type":"roster","complete":false,"online":3}"#);
        assert!(to_a[1].contains(r#""type":"join""#) && to_a[1].contains(r#""c""#));
        let to_b = drain(&mut b);
        assert_eq!(to_b, [r#"{"type":"roster","complete":false,"online":3}"#]);

        assert!(hub.who("").contains(r#""users":["a","b","c"]"#));
        assert!(hub.who("B").contains(r#""users":["b"]"#));
        assert!(hub.who("d").contains(r#""users":[]"#));

        // Nobody shares a room with b: its leave goes to no one, and the
        // count follows once per interval.
        hub.leave(b.id, true, &[]);
        assert!(drain(&mut a).is_empty() && drain(&mut c).is_empty());
        let later = Instant::now() + ONLINE_INTERVAL;
        hub.announce_online(&mut hub.state(), later);
        let count = drain(&mut a);
        assert_eq!(count.len(), 1);
        assert!(count[0].starts_with(r#"{"type":"online","online":2,"#));
        hub.announce_online(&mut hub.state(), later + ONLINE_INTERVAL);
        assert!(drain(&mut a).is_empty(), "unchanged counts are not resent");

        // Down to 3/4 of the limit: everyone is listed again.
        hub.leave(c.id, true, std::slice::from_ref(&ua));
        let to_a = drain(&mut a);
        assert_eq!(to_a.len(), 2, "{to_a:?}");
        assert!(to_a[0].contains(r#""type":"leave""#));
        assert_eq!(
            to_a[1],
            r#"{"type":"roster","complete":true,"online":1,"users":["a"]}"#
        );
    }

    #[test]
    fn overflowing_backlog_stops_delivery_and_signals() {
        let hub = hub(3);
        let joined = hub.join("slow", None, &[]);
        for seq in 0..10 {
            hub.broadcast_messages(vec![(seq, Frame::from("x"))]);
        }
        assert!(joined.backlog.has_overflowed());
        assert_eq!(joined.outbound.len(), 3);
    }
}
