//! Who is connected, under which name, and fan-out to them.
//!
//! Each connection has an unbounded queue of frames, drained by its session.
//! "Unbounded" is bounded here: the hub counts what each queue holds, and a
//! connection whose backlog passes the limit gets no more frames and is told
//! to close, so a client that stops reading cannot grow our memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, mpsc};

use crate::protocol::{ErrorCode, Frame, LOBBY, Refusal, ServerFrame, encode};

pub type ConnId = u64;

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
    /// Everyone online, this user included, sorted.
    pub users: Vec<String>,
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
        let username: Arc<str> = match state.names.get_key_value(username) {
            Some((name, _)) => name.clone(),
            None => Arc::from(username),
        };
        let count = state.names.entry(username.clone()).or_insert(0);
        *count += 1;
        let first = *count == 1;
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
            let frame = encode(&ServerFrame::Join {
                room: LOBBY,
                username: &username,
                timestamp: now_millis(),
            });
            self.fan_out(&state, Frame::from(frame), Some(&username));
        }
        let users = sorted_names(&state);
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
                true
            }
        };
        if last && announce {
            let frame = encode(&ServerFrame::Leave {
                room: LOBBY,
                username: &client.username,
                timestamp: now_millis(),
            });
            self.fan_out(&state, Frame::from(frame), None);
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
        let to: Arc<str> = Arc::from(to);
        let count = state.names.remove(&from).unwrap_or(0);
        state.names.insert(to.clone(), count);
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

fn sorted_names(state: &State) -> Vec<String> {
    let mut names: Vec<String> = state.names.keys().map(|name| name.to_string()).collect();
    names.sort_unstable_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));
    names
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
        assert_eq!(tab2.users, vec!["alice", "watcher"]);
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
