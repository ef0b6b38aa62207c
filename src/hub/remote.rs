//! Names online on other instances sharing the database, and what this hub
//! tells them.
//!
//! Each other instance counts as one connection of every name it holds, so
//! a name online on two instances stays online while either holds it, and a
//! user who moves from a dying instance to another never flaps. This hub
//! says what changes here through [`Local`]: a name's first connection
//! here and its last, renames, and events for users (typing, rooms,
//! invitations). Messages do not go this way: every instance reads them
//! from the database's log, in seq order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::{Hub, Outbound, State, name_counted_in, name_counted_out};
use crate::audience::Audience;
use crate::ids::UserId;
use crate::protocol::Frame;

/// What changed on this instance that the others need to hear.
#[derive(Debug, Clone)]
pub enum Local {
    /// The first connection of `name` here (owned by `user`, if it is).
    Online {
        name: Arc<str>,
        user: Option<UserId>,
    },
    /// The last connection of `name` here went.
    Offline { name: Arc<str> },
    /// `from` renamed itself `to` on its connections here.
    Rename { from: Arc<str>, to: Arc<str> },
    /// A frame for the connections of `to` (all but those named `except`).
    Event {
        to: Audience,
        except: Option<String>,
        frame: Frame,
    },
}

impl Hub {
    /// Starts telling the cluster what changes here; call once.
    pub fn connect_cluster(&self) -> mpsc::UnboundedReceiver<Local> {
        let (tell, told) = mpsc::unbounded_channel();
        if self.inner.cluster.set(tell).is_err() {
            log::warn!("the hub was connected to a cluster twice");
        }
        told
    }

    pub(super) fn tell(&self, local: Local) {
        if let Some(cluster) = self.inner.cluster.get() {
            let _ = cluster.send(local);
        }
    }

    /// Tells other instances of an event for users; replies to one
    /// connection stay here.
    pub(super) fn relay(&self, to: &Audience, frame: &Frame, except: Option<&str>) {
        if self.inner.cluster.get().is_none() || matches!(to, Audience::Connection(_)) {
            return;
        }
        self.tell(Local::Event {
            to: to.clone(),
            except: except.map(str::to_owned),
            frame: frame.clone(),
        });
    }

    /// How many connections of `name` are on this instance.
    pub(super) fn local_count(&self, state: &State, name: &str) -> usize {
        let elsewhere = state
            .remote
            .values()
            .filter(|names| names.contains_key(name))
            .count();
        state
            .names
            .get(name)
            .map_or(0, |count| count.saturating_sub(elsewhere))
    }

    /// The names online here, and whose they are: what this instance
    /// announces again after it lost touch with the others.
    pub fn local_names(&self) -> Vec<(Arc<str>, Option<UserId>)> {
        let state = self.state();
        let mut names: HashMap<Arc<str>, Option<UserId>> = HashMap::new();
        for client in state.clients.values() {
            let user = names.entry(client.username.clone()).or_default();
            if user.is_none() {
                user.clone_from(&client.user_id);
            }
        }
        names.into_iter().collect()
    }

    /// The other instances this hub knows names on.
    pub fn remote_instances(&self) -> Vec<String> {
        self.state().remote.keys().cloned().collect()
    }

    /// `name` came online on `instance`. `neighbours` are the users it
    /// shares a room with, who hear of it past the roster limit.
    pub fn remote_online(
        &self,
        instance: &str,
        name: &str,
        user: Option<UserId>,
        neighbours: &[UserId],
    ) {
        let mut state = self.state();
        let names = state.remote.entry(instance.to_owned()).or_default();
        if names.contains_key(name) {
            return;
        }
        let name: Arc<str> = Arc::from(name);
        names.insert(name.clone(), user.clone());
        if let Some(user) = user {
            let entry = state
                .remote_users
                .entry(user)
                .or_insert_with(|| (name.clone(), 0));
            entry.1 += 1;
        }
        let now = Instant::now();
        self.end_presence_window(&mut state, now, false);
        if name_counted_in(&mut state, &name) {
            self.update_roster_mode(&mut state);
            self.came_online(&mut state, &name, neighbours, now);
        }
    }

    /// `name` went offline on `instance`.
    pub fn remote_offline(&self, instance: &str, name: &str, neighbours: &[UserId]) {
        let mut state = self.state();
        self.drop_remote(&mut state, instance, name, neighbours);
    }

    /// `instance` renamed `from` to `to`: the name moves here too, with
    /// this user's tabs here.
    pub fn remote_rename(&self, instance: &str, from: &str, to: &str) {
        let mut state = self.state();
        let Some(names) = state.remote.get_mut(instance) else {
            return;
        };
        let Some((from, user)) = names.remove_entry(from) else {
            return;
        };
        let to: Arc<str> = Arc::from(to);
        names.insert(to.clone(), user.clone());
        if let Some(user) = user
            && let Some(entry) = state.remote_users.get_mut(&user)
        {
            entry.0 = to.clone();
        }
        self.move_name(&mut state, &from, &to, None);
    }

    /// `instance` holds exactly `online` now: what it said when this hub
    /// (re)joined, or after it lost touch.
    pub fn remote_set(
        &self,
        instance: &str,
        online: Vec<(String, Option<UserId>)>,
        neighbours: impl Fn(&UserId) -> Vec<UserId>,
    ) {
        let known: Vec<(Arc<str>, Option<UserId>)> = {
            let state = self.state();
            state.remote.get(instance).map_or_else(Vec::new, |names| {
                names.iter().map(|(n, u)| (n.clone(), u.clone())).collect()
            })
        };
        let near = |user: &Option<UserId>| user.as_ref().map(&neighbours).unwrap_or_default();
        for (name, user) in &known {
            if !online.iter().any(|(n, _)| n == &**name) {
                self.remote_offline(instance, name, &near(user));
            }
        }
        for (name, user) in online {
            let neighbours = near(&user);
            self.remote_online(instance, &name, user, &neighbours);
        }
    }

    /// `instance` stopped, or has not been heard from for too long: every
    /// name it held goes offline, unless it is online elsewhere.
    pub fn forget_instance(&self, instance: &str, neighbours: impl Fn(&UserId) -> Vec<UserId>) {
        let mut state = self.state();
        let Some(names) = state.remote.get(instance) else {
            return;
        };
        let names: Vec<(Arc<str>, Option<UserId>)> =
            names.iter().map(|(n, u)| (n.clone(), u.clone())).collect();
        for (name, user) in names {
            let near = user.as_ref().map(&neighbours).unwrap_or_default();
            self.drop_remote(&mut state, instance, &name, &near);
        }
        state.remote.remove(instance);
    }

    /// Delivers a frame from another instance to the connections of `to`
    /// here (everyone when `None`), except those named `except`.
    pub fn remote_event(&self, to: Option<Vec<UserId>>, except: Option<&str>, frame: Frame) {
        let audience = match to {
            Some(users) => Audience::Users(users),
            None => Audience::Everyone,
        };
        self.send_locked(&self.state(), &audience, &Outbound::event(frame), except);
    }

    fn drop_remote(&self, state: &mut State, instance: &str, name: &str, neighbours: &[UserId]) {
        let Some(names) = state.remote.get_mut(instance) else {
            return;
        };
        let Some((name, user)) = names.remove_entry(name) else {
            return;
        };
        if let Some(user) = user
            && let Some(entry) = state.remote_users.get_mut(&user)
        {
            entry.1 -= 1;
            if entry.1 == 0 {
                state.remote_users.remove(&user);
            }
        }
        let now = Instant::now();
        self.end_presence_window(state, now, false);
        if name_counted_out(state, &name) {
            self.went_offline(state, &name, neighbours, now);
            self.update_roster_mode(state);
        }
    }
}
