//! Who is connected, under which name, and fan-out to them.
//!
//! The hub is an `Arc<Mutex<..>>` map of every connection's unbounded
//! queue. Anything for more than the connection that asked goes through
//! [`Hub::send`] with an [`Audience`]. The parts:
//! - [`backlog`]: what waits in a queue and the limit on it;
//! - [`presence`]: who hears of whose comings and goings, and large lobbies;
//! - [`roster`]: the online names, kept sorted and encoded;
//! - [`remote`]: names online on other instances sharing the database, and
//!   what this hub tells them.

mod backlog;
mod presence;
mod remote;
mod roster;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use tokio::sync::mpsc;

pub use backlog::{Backlog, BacklogLimit, MessageRun, Outbound};
pub use remote::Local;

use crate::audience::Audience;
use crate::clock::now_millis;
use crate::ids::{ConnId, UserId};
use crate::protocol::{ErrorCode, Frame, LOBBY, Refusal, ServerFrame, encode, with_users};
use crate::sync::lock;
use crate::username::look_alike_key;
use presence::PresenceWindow;
use roster::{Roster, sort_names};

/// Most names in one `who` answer.
pub const WHO_LIMIT: usize = 50;

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
    user_id: Option<UserId>,
    queue: mpsc::UnboundedSender<Outbound>,
    backlog: Arc<Backlog>,
}

#[derive(Default)]
struct State {
    clients: HashMap<ConnId, Client>,
    /// Connections per online name, for presence, counting each other
    /// instance the name is online on as one: a name joins with its first
    /// connection anywhere and leaves with its last.
    names: HashMap<Arc<str>, usize>,
    /// The names online on each other instance, and whose they are.
    remote: HashMap<String, HashMap<Arc<str>, Option<UserId>>>,
    /// Owned users online on other instances: their name, and on how many.
    remote_users: HashMap<UserId, (Arc<str>, usize)>,
    /// Connections per owned user, for rooms and direct messages.
    users: HashMap<UserId, Vec<ConnId>>,
    /// The online name each look ([`look_alike_key`]) belongs to, so nobody
    /// can come online as a look-alike of someone who is.
    looks: HashMap<String, Arc<str>>,
    roster: Roster,
    presence: PresenceWindow,
    /// More names are online than the roster limit: see [`presence`].
    large: bool,
    /// The online count last sent while `large`, and when.
    online_sent: (usize, Option<Instant>),
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
    /// Where this hub tells other instances what changed here; unset with
    /// no other instances.
    cluster: OnceLock<mpsc::UnboundedSender<Local>>,
}

impl Hub {
    pub fn new(limit: BacklogLimit, roster_limit: usize) -> Self {
        Hub {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                next_id: AtomicU64::new(1),
                limit,
                roster_limit,
                cluster: OnceLock::new(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    /// Registers a connection. The first connection of a name announces
    /// `join` to everyone else, or past the roster limit to its
    /// `neighbours`: the users it shares a room with.
    pub fn join(&self, username: &str, user_id: Option<UserId>, neighbours: &[UserId]) -> Joined {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, outbound) = mpsc::unbounded_channel();
        let backlog = Arc::new(Backlog::default());
        let mut state = self.state();
        // A window that is over is sent before this change, or it would
        // list this name as it is after the change and the change's own
        // frame would say it again. One clock reading serves both.
        let now = Instant::now();
        self.end_presence_window(&mut state, now, false);
        let username: Arc<str> = match state.names.get_key_value(username) {
            Some((name, _)) => name.clone(),
            None => Arc::from(username),
        };
        let first = name_counted_in(&mut state, &username);
        if first {
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
            self.came_online(&mut state, &username, neighbours, now);
        }
        if self.local_count(&state, &username) == 1 {
            self.tell(Local::Online {
                name: username.clone(),
                user: user_id_of(&state, id),
            });
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

    /// Removes a connection. The last connection of a name announces `leave`
    /// if `announce` is set (past the roster limit, to its `neighbours`).
    pub fn leave(&self, id: ConnId, announce: bool, neighbours: &[UserId]) {
        let mut state = self.state();
        let Some(client) = state.clients.remove(&id) else {
            return;
        };
        // As in `join`: the window first, with the change's one clock reading.
        let now = Instant::now();
        self.end_presence_window(&mut state, now, false);
        if let Some(user) = &client.user_id
            && let Some(conns) = state.users.get_mut(user)
        {
            conns.retain(|&conn| conn != id);
            if conns.is_empty() {
                state.users.remove(user);
            }
        }
        let last_here = self.local_count(&state, &client.username) == 1;
        let last = name_counted_out(&mut state, &client.username);
        // At shutdown nobody is leaving, and nobody needs the list back.
        if last_here && announce {
            self.tell(Local::Offline {
                name: client.username.clone(),
            });
        }
        if last && announce {
            self.went_offline(&mut state, &client.username, neighbours, now);
            self.update_roster_mode(&mut state);
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
            )
            .detail("in_use")
            .param("name", to));
        }
        if let Some(online) = state.looks.get(&look_alike_key(to))
            && *online != from
        {
            return Err(look_alike_refusal(online));
        }
        let to: Arc<str> = Arc::from(to);
        self.move_name(&mut state, &from, &to, Some(id));
        self.tell(Local::Rename {
            from,
            to: to.clone(),
        });
        Ok(to)
    }

    /// Moves every connection of `from` here to `to`, and the name's count,
    /// and tells everyone here. Every tab but `renamer` hears `Renamed`.
    fn move_name(
        &self,
        state: &mut State,
        from: &Arc<str>,
        to: &Arc<str>,
        renamer: Option<ConnId>,
    ) {
        // Held presence goes first, so no one hears of a rename before the
        // join it follows.
        self.end_presence_window(state, Instant::now(), true);
        let count = state.names.remove(from).unwrap_or(0);
        state.names.insert(to.clone(), count);
        state.roster.remove(from);
        state.roster.insert(to);
        forget_look(state, from);
        state.looks.insert(look_alike_key(to), to.clone());
        for client in state.clients.values_mut() {
            if client.username == *from {
                client.username = to.clone();
            }
        }
        for (&conn, client) in &state.clients {
            if Some(conn) != renamer && client.username == *to {
                let to = Arc::new(to.to_string());
                self.deliver(client, Outbound::Renamed { to });
            }
        }
        let frame = encode(&ServerFrame::Rename {
            room: LOBBY,
            from,
            to,
            timestamp: now_millis(),
        });
        let item = Outbound::event(frame);
        self.send_locked(state, &Audience::Everyone, &item, None);
    }

    /// Refuses `name` if it looks like a different name that is online.
    pub fn check_look_alike(&self, name: &str) -> Result<(), Refusal> {
        match self.state().looks.get(&look_alike_key(name)) {
            Some(online) if &**online != name => Err(look_alike_refusal(online)),
            _ => Ok(()),
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

    /// The online name that is `name` in any letter case, for mentions.
    pub fn find_online(&self, name: &str) -> Option<Arc<str>> {
        self.state().roster.find(name).cloned()
    }

    /// Which of `users` are online (all online owners when `users` is
    /// `None`), at most `limit` of them: whom an `@here` reaches.
    pub fn online_users(&self, users: Option<&[UserId]>, limit: usize) -> Vec<UserId> {
        let state = self.state();
        let online =
            |user: &UserId| state.users.contains_key(user) || state.remote_users.contains_key(user);
        match users {
            Some(users) => users
                .iter()
                .filter(|user| online(user))
                .take(limit)
                .cloned()
                .collect(),
            None => {
                let elsewhere = state.remote_users.keys();
                let everywhere = state.users.keys().chain(elsewhere);
                let unique: std::collections::HashSet<&UserId> = everywhere.collect();
                unique.into_iter().take(limit).cloned().collect()
            }
        }
    }

    /// The names of whichever of `users` are online, in roster order.
    pub fn online_names(&self, users: &[UserId]) -> Vec<String> {
        let state = self.state();
        let mut names = online_among(&state, users);
        sort_names(&mut names);
        names.into_iter().map(|name| name.to_string()).collect()
    }

    /// The connections under `name` here.
    pub fn connections_named(&self, name: &str) -> Vec<ConnId> {
        let state = self.state();
        state
            .clients
            .iter()
            .filter(|(_, client)| &*client.username == name)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Sends `frame` to every connection under `name` here, then closes
    /// each (1008, `reason`): the host removing someone. Returns how many.
    pub fn remove_name(&self, name: &str, frame: Frame, reason: &'static &'static str) -> usize {
        let state = self.state();
        let frame = Arc::new(frame);
        let mut removed = 0;
        for client in state.clients.values() {
            if &*client.username == name {
                self.deliver(client, Outbound::Event(frame.clone()));
                // Past any backlog limit: a connection closing anyway.
                let _ = client.queue.send(Outbound::Close(reason));
                removed += 1;
            }
        }
        removed
    }

    pub fn connection_count(&self) -> usize {
        self.state().clients.len()
    }

    pub fn user_count(&self) -> usize {
        self.state().names.len()
    }

    /// Queues `item` for every connection in `to`, here and, for an event
    /// to users, on the other instances.
    pub fn send(&self, to: &Audience, item: Outbound) {
        if let Outbound::Event(frame) = &item {
            self.relay(to, frame, None);
        }
        self.send_locked(&self.state(), to, &item, None);
    }

    /// Queues a frame for every connection in `to` except those named
    /// `name` (every tab of whoever caused it), here and elsewhere.
    pub fn send_except(&self, to: &Audience, frame: Frame, name: &str) {
        self.relay(to, &frame, Some(name));
        self.send_locked(&self.state(), to, &Outbound::event(frame), Some(name));
    }

    fn send_locked(&self, state: &State, to: &Audience, item: &Outbound, except: Option<&str>) {
        let deliver = |client: &Client| {
            if except.is_none_or(|name| &*client.username != name) {
                self.deliver(client, item.clone());
            }
        };
        match to {
            Audience::Everyone => state.clients.values().for_each(deliver),
            Audience::Users(users) => users
                .iter()
                .flat_map(|user| state.users.get(user).into_iter().flatten())
                .filter_map(|conn| state.clients.get(conn))
                .for_each(deliver),
            Audience::Connection(id) => state.clients.get(id).into_iter().for_each(deliver),
        }
    }

    fn deliver(&self, client: &Client, item: Outbound) {
        if client.backlog.admit(&item, self.inner.limit) {
            // A send fails only when the session has already ended; its
            // `leave` is on the way.
            let _ = client.queue.send(item);
        }
    }
}

/// Counts one more connection (or instance) of `name`; true if it is the
/// first, when the name joins the roster and takes its look.
fn name_counted_in(state: &mut State, name: &Arc<str>) -> bool {
    let count = state.names.entry(name.clone()).or_insert(0);
    *count += 1;
    if *count > 1 {
        return false;
    }
    state.roster.insert(name);
    state
        .looks
        .entry(look_alike_key(name))
        .or_insert_with(|| name.clone());
    true
}

/// Counts one connection (or instance) of `name` less; true if it was the
/// last, when the name leaves the roster and its look.
fn name_counted_out(state: &mut State, name: &Arc<str>) -> bool {
    match state.names.get_mut(name) {
        Some(count) if *count > 1 => {
            *count -= 1;
            false
        }
        _ => {
            state.names.remove(name);
            state.roster.remove(name);
            forget_look(state, name);
            true
        }
    }
}

/// Stops reserving `name`'s look, if it was the name holding it.
fn forget_look(state: &mut State, name: &Arc<str>) {
    let look = look_alike_key(name);
    if state.looks.get(&look) == Some(name) {
        state.looks.remove(&look);
    }
}

fn look_alike_refusal(online: &str) -> Refusal {
    Refusal::new(
        ErrorCode::NameTaken,
        format!("that looks too much like \"{online}\", who is online; pick another name"),
    )
    .detail("looks_like")
    .param("name", online)
}

/// `username` and whichever of `neighbours` are online, in roster order, as
/// a JSON array.
fn neighbour_roster(state: &State, username: &Arc<str>, neighbours: &[UserId]) -> String {
    let mut names = online_among(state, neighbours);
    names.push(username);
    sort_names(&mut names);
    let names: Vec<&str> = names.into_iter().map(|name| &**name).collect();
    serde_json::to_string(&names).expect("strings serialize")
}

/// The names of whichever of `users` are online, here or elsewhere.
fn online_among<'a>(state: &'a State, users: &[UserId]) -> Vec<&'a Arc<str>> {
    users
        .iter()
        .filter_map(|user| {
            let here = state.users.get(user).and_then(|conns| conns.first());
            match here.and_then(|conn| state.clients.get(conn)) {
                Some(client) => Some(&client.username),
                None => state.remote_users.get(user).map(|(name, _)| name),
            }
        })
        .collect()
}

/// The owner behind connection `id`, if it owns its name.
fn user_id_of(state: &State, id: ConnId) -> Option<UserId> {
    state.clients.get(&id)?.user_id.clone()
}
