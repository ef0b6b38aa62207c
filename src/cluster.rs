//! Several instances sharing one PostgreSQL (`--postgres`): what each
//! hears from the others, and what it tells them.
//!
//! A notice is a doorbell ([`crate::store::postgres::notice`]): "room R's
//! log grew" makes the store read the log after the last seq it reported,
//! so ordering comes from the database and a missed notice costs nothing;
//! "these rooms, names or files changed" makes this instance read them
//! again. Presence and frames for users (typing, rooms, invitations) ride
//! in the notices themselves.
//!
//! Each instance heartbeats every [`HEARTBEAT`]; one not heard from for
//! [`DEAD_AFTER`] is taken for dead and its names go offline here, unless
//! they are online on another instance too. Whenever the notices
//! connection is (re)made, this instance reads everything it may have
//! missed: every room's log, names, rooms, files and who is online where.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::hub::Local;
use crate::ids::UserId;
use crate::metrics;
use crate::session::Context;
pub use crate::store::postgres::cluster::Listener;
use crate::store::postgres::cluster::{self as db, NameChange};
use crate::store::postgres::{self, News, Notice, PgUrl, Touched, load};
use crate::store::{Relay, Subject};

/// How often an instance says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// How long an instance may stay silent before the others take it for
/// dead. With [`HEARTBEAT`], its users show offline within about 10 s.
pub const DEAD_AFTER: Duration = Duration::from_secs(7);
/// How long the users of an instance that stopped cleanly stay online
/// elsewhere, time for them to reconnect to another instance.
pub const GONE_GRACE: Duration = Duration::from_secs(3);
/// The longest wait between attempts to reach PostgreSQL again.
const MAX_RETRY: Duration = Duration::from_secs(2);
/// How soon what waited for this instance's own changes is read again.
const SETTLE_RETRY: Duration = Duration::from_millis(50);
/// Connections the cluster keeps: presence writes and reads.
const POOL_SIZE: usize = 2;

/// Starts listening before the store loads what it holds, so nothing
/// another instance changes meanwhile goes unheard.
pub async fn listen(url: &PgUrl) -> anyhow::Result<Listener> {
    db::listen(url).await
}

/// Runs until `stop`: listens to the other instances (on `listener` first,
/// made before the store loaded) and tells them what `told` says changed
/// here. Then says this instance is gone.
pub async fn run(
    url: PgUrl,
    listener: Listener,
    instance: String,
    context: Context,
    told: mpsc::UnboundedReceiver<Local>,
    stop: CancellationToken,
) {
    let pool = match postgres::pool(&url, POOL_SIZE) {
        Ok(pool) => pool,
        Err(err) => return log::error!("the cluster cannot start: {err:#}"),
    };
    let cluster = Cluster {
        pool,
        instance,
        context,
        heard_from: HashMap::new(),
        unpublished: false,
        unsettled: HashSet::new(),
    };
    cluster.run(&url, listener, told, stop).await;
}

struct Cluster {
    pool: Pool,
    instance: String,
    context: Context,
    /// When each other instance last said anything.
    heard_from: HashMap<String, Instant>,
    /// A change to this instance's names could not be written: they are
    /// all written again once PostgreSQL answers.
    unpublished: bool,
    /// Names, rooms and files another instance changed while this one had
    /// a change of its own to them on its way: read again shortly.
    unsettled: HashSet<Subject>,
}

impl Cluster {
    async fn run(
        mut self,
        url: &PgUrl,
        first: Listener,
        mut told: mpsc::UnboundedReceiver<Local>,
        stop: CancellationToken,
    ) {
        let mut retry = Duration::from_millis(100);
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut first = Some(first);
        let mut settle = tokio::time::interval(SETTLE_RETRY);
        settle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        'connect: while !stop.is_cancelled() {
            // The store loaded names, rooms and files after the first
            // listener was made; after a break they are read again.
            let reread_state = first.is_none();
            let mut listener = match first.take() {
                Some(listener) => listener,
                None => match db::listen(url).await {
                    Ok(listener) => listener,
                    Err(err) => {
                        log::warn!("{err:#}; trying again in {retry:?}");
                        self.idle(&mut told, &mut heartbeat, &stop, retry).await;
                        retry = (retry * 2).min(MAX_RETRY);
                        continue;
                    }
                },
            };
            retry = Duration::from_millis(100);
            if let Err(err) = self.resync(reread_state).await {
                log::warn!("cannot read what the other instances did: {err:#}");
                self.idle(&mut told, &mut heartbeat, &stop, retry).await;
                continue;
            }
            log::info!("listening to the other instances");
            loop {
                tokio::select! {
                    () = stop.cancelled() => break 'connect,
                    payload = listener.heard.recv() => match payload {
                        Some(payload) => self.hear(&payload).await,
                        None => continue 'connect,
                    },
                    Some(first) = told.recv() => self.tell(first, &mut told).await,
                    _ = heartbeat.tick() => self.beat().await,
                    _ = settle.tick() => self.reread_unsettled().await,
                }
            }
        }
        if let Err(err) = db::leave(&self.pool, &self.instance).await {
            log::warn!("cannot tell the other instances this one stops: {err:#}");
        }
    }

    /// Waits `pause` while the notices connection is down, still telling
    /// what changes here and keeping the heartbeat.
    async fn idle(
        &mut self,
        told: &mut mpsc::UnboundedReceiver<Local>,
        heartbeat: &mut tokio::time::Interval,
        stop: &CancellationToken,
        pause: Duration,
    ) {
        let until = tokio::time::sleep(pause);
        tokio::pin!(until);
        loop {
            tokio::select! {
                () = &mut until => return,
                () = stop.cancelled() => return,
                Some(first) = told.recv() => self.tell(first, told).await,
                _ = heartbeat.tick() => self.beat().await,
            }
        }
    }

    /// Reads all that may have been missed while not listening: the rooms'
    /// logs and who is online where, and with `reread_state` names, rooms
    /// and files.
    async fn resync(&mut self, reread_state: bool) -> anyhow::Result<()> {
        let context = &self.context;
        if reread_state {
            // What this instance changed meanwhile is saved first, so the
            // state read back has it.
            context.store.barrier().await;
            let client = self.pool.get().await?;
            let everything = |_: &str| true;
            let claims = load::claims(&client, None).await?;
            context.identity.refresh(None, claims, everything);
            let rooms = load::rooms(&client, None).await?;
            context.rooms.refresh(None, rooms, everything);
            let files = load::files(&client, None).await?;
            context.files.refresh(None, files, everything);
        }
        for room in db::rooms(&self.pool).await? {
            context.store.catch_up(&room);
        }
        let context = self.context.clone();
        self.publish_all().await?;
        let live = db::instances(&self.pool, &self.instance, DEAD_AFTER).await?;
        let now = Instant::now();
        self.heard_from = live.iter().map(|id| (id.clone(), now)).collect();
        for gone in context.hub.remote_instances() {
            if !self.heard_from.contains_key(&gone) {
                self.forget(&gone);
            }
        }
        let mut online: HashMap<String, Vec<(String, Option<UserId>)>> =
            live.into_iter().map(|id| (id, Vec::new())).collect();
        for (instance, name, user) in
            db::presence(&self.pool, &self.instance, None, DEAD_AFTER).await?
        {
            online
                .entry(instance)
                .or_default()
                .push((name, user.map(UserId::from)));
        }
        for (instance, names) in online {
            self.set_presence(&instance, names);
        }
        Ok(())
    }

    /// Writes every name online here again, and asks the others to read
    /// them.
    async fn publish_all(&mut self) -> anyhow::Result<()> {
        let names: Vec<(String, Option<String>)> = self
            .context
            .hub
            .local_names()
            .into_iter()
            .map(|(name, user)| (name.to_string(), user.map(|user| user.to_string())))
            .collect();
        db::republish(&self.pool, &self.instance, &names).await?;
        self.unpublished = false;
        Ok(())
    }

    async fn beat(&mut self) {
        if self.unpublished
            && let Err(err) = self.publish_all().await
        {
            log::debug!("cannot write the names online here yet: {err:#}");
        }
        if let Err(err) = db::heartbeat(&self.pool, &self.instance, DEAD_AFTER).await {
            log::debug!("cannot heartbeat: {err:#}");
        }
        // A doorbell whose catch-up failed (PostgreSQL busy or restarting)
        // is made up here: the store reads only the logs that grew.
        match db::rooms(&self.pool).await {
            Ok(rooms) => rooms
                .iter()
                .for_each(|room| self.context.store.catch_up(room)),
            Err(err) => log::debug!("cannot list the rooms: {err:#}"),
        }
        let silent: Vec<String> = self
            .heard_from
            .iter()
            .filter(|(_, heard)| heard.elapsed() > DEAD_AFTER)
            .map(|(instance, _)| instance.clone())
            .collect();
        for instance in silent {
            log::info!("instance {instance} has gone quiet; its users go offline");
            self.forget(&instance);
        }
    }

    /// Tells the others what changed here: `first` and whatever else is
    /// queued behind it, presence in one transaction.
    async fn tell(&mut self, first: Local, told: &mut mpsc::UnboundedReceiver<Local>) {
        let mut changes = Vec::new();
        let mut next = Some(first);
        while let Some(local) = next {
            match local {
                Local::Event { to, except, frame } => {
                    self.context.store.relay(Relay { to, except, frame });
                }
                change => changes.push(change),
            }
            next = told.try_recv().ok();
        }
        if changes.is_empty() {
            return;
        }
        // A name claimed or renamed here is saved before anyone hears it
        // is online.
        self.context.store.barrier().await;
        let names: Vec<NameChange> = changes
            .iter()
            .filter_map(|change| match change {
                Local::Online { name, user } => Some(NameChange::Online {
                    name,
                    user: user.as_deref(),
                }),
                Local::Offline { name } => Some(NameChange::Offline { name }),
                Local::Rename { from, to } => Some(NameChange::Rename { from, to }),
                Local::Event { .. } => None,
            })
            .collect();
        if let Err(err) = db::publish(&self.pool, &self.instance, &names).await {
            log::warn!("cannot tell the other instances who is online here: {err:#}");
            self.unpublished = true;
        }
    }

    /// Acts on one notice from another instance.
    async fn hear(&mut self, payload: &str) {
        let notice = match db::receive(&self.pool, payload).await {
            Ok(notice) => notice,
            Err(err) => return log::warn!("cannot read a notice from another instance: {err:#}"),
        };
        let Notice { from, news } = notice;
        if from == self.instance {
            return;
        }
        metrics::get().postgres_notices.inc();
        // A notice from nobody is for every instance, this one too.
        let known = from.is_empty()
            || self
                .heard_from
                .insert(from.clone(), Instant::now())
                .is_some();
        let context = &self.context;
        match news {
            News::Log { rooms } => {
                for (room, seq) in rooms {
                    let known = context.store.latest_seq(&room);
                    log::debug!("{from} logged {room} to {seq}; {known} known here");
                    if known < seq {
                        context.store.catch_up(&room);
                    }
                }
            }
            News::State { touched } => {
                if let Err(err) = self.reread(touched).await {
                    log::warn!("cannot read what another instance changed: {err:#}");
                }
            }
            News::Event { to, except, frame } => {
                let to = to.map(|users| users.into_iter().map(UserId::from).collect());
                context
                    .hub
                    .remote_event(to, except.as_deref(), frame.into());
            }
            News::Presence { name, user, online } => {
                // An offline notice does not say whose the name was.
                let user = user
                    .map(UserId::from)
                    .or_else(|| context.identity.user_of(&name));
                let neighbours = self.neighbours(user.as_ref());
                if online {
                    context.hub.remote_online(&from, &name, user, &neighbours);
                } else {
                    context.hub.remote_offline(&from, &name, &neighbours);
                }
            }
            News::Rename { from: old, to } => context.hub.remote_rename(&from, &old, &to),
            News::Alive if known => {}
            News::Alive | News::Present => self.read_presence(&from).await,
            // Its users are reconnecting elsewhere: they go offline after a
            // grace, so those who moved never show as gone.
            News::Gone => {
                let now = Instant::now();
                let silent_since = now.checked_sub(DEAD_AFTER - GONE_GRACE).unwrap_or(now);
                self.heard_from.insert(from, silent_since);
            }
            // `receive` reads kept notices.
            News::Kept { .. } => {}
        }
    }

    /// Reads again the rooms, names and files another instance changed.
    /// Those with a change of this instance's on its way, or made while
    /// they are read, wait in `unsettled` and are read again after.
    async fn reread(&mut self, touched: Touched) -> anyhow::Result<()> {
        let store = &self.context.store;
        let mut marks = HashMap::new();
        let mut ready = Touched::default();
        for subject in touched.subjects() {
            match store.settled(&subject) {
                Some(mark) => {
                    ready.add(&subject);
                    marks.insert(subject, mark);
                }
                None => {
                    self.unsettled.insert(subject);
                }
            }
        }
        if ready.is_empty() {
            return Ok(());
        }
        let client = self.pool.get().await?;
        let context = &self.context;
        let unchanged = |subject: Subject| {
            marks
                .get(&subject)
                .is_some_and(|m| store.unchanged(&subject, *m))
        };
        let mut skipped = Vec::new();
        if !ready.claims.is_empty() {
            let claims = load::claims(&client, Some(&ready.claims)).await?;
            let may_replace = |name: &str| unchanged(Subject::Claim(name.to_owned()));
            let names = context
                .identity
                .refresh(Some(&ready.claims), claims, may_replace);
            skipped.extend(names.into_iter().map(Subject::Claim));
        }
        if !ready.rooms.is_empty() {
            let rooms = load::rooms(&client, Some(&ready.rooms)).await?;
            let may_replace = |room: &str| unchanged(Subject::Room(room.to_owned()));
            let rooms = context
                .rooms
                .refresh(Some(&ready.rooms), rooms, may_replace);
            skipped.extend(rooms.into_iter().map(Subject::Room));
        }
        if !ready.files.is_empty() {
            let files = load::files(&client, Some(&ready.files)).await?;
            let may_replace = |id: &str| unchanged(Subject::File(id.to_owned()));
            let files = context
                .files
                .refresh(Some(&ready.files), files, may_replace);
            skipped.extend(files.into_iter().map(Subject::File));
        }
        self.unsettled.extend(skipped);
        Ok(())
    }

    /// Reads again what waited for this instance's own changes to settle.
    async fn reread_unsettled(&mut self) {
        if self.unsettled.is_empty() {
            return;
        }
        let mut touched = Touched::default();
        for subject in std::mem::take(&mut self.unsettled) {
            touched.add(&subject);
        }
        if let Err(err) = self.reread(touched).await {
            log::warn!("cannot read what another instance changed: {err:#}");
        }
    }

    async fn read_presence(&mut self, instance: &str) {
        match db::presence(&self.pool, &self.instance, Some(instance), DEAD_AFTER).await {
            Ok(found) => {
                let names = found
                    .into_iter()
                    .map(|(_, name, user)| (name, user.map(UserId::from)))
                    .collect();
                self.set_presence(instance, names);
            }
            Err(err) => log::warn!("cannot read who is online on {instance}: {err:#}"),
        }
    }

    fn set_presence(&self, instance: &str, names: Vec<(String, Option<UserId>)>) {
        let rooms = &self.context.rooms;
        self.context
            .hub
            .remote_set(instance, names, |user| rooms.neighbours(user));
    }

    fn forget(&mut self, instance: &str) {
        self.heard_from.remove(instance);
        let rooms = &self.context.rooms;
        self.context
            .hub
            .forget_instance(instance, |user| rooms.neighbours(user));
    }

    fn neighbours(&self, user: Option<&UserId>) -> Vec<UserId> {
        user.map(|user| self.context.rooms.neighbours(user))
            .unwrap_or_default()
    }
}
