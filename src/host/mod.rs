//! The host's tools: who may use them, and the rules the host sets.
//!
//! Whoever runs lanchat holds the host secret, printed at start-up as a
//! link with the secret in its fragment; the page keeps it and sends it
//! with every host action (`commands/host/`). Only its hash is stored.
//! The host's rules are mutes, bans and each room's rules (slow mode,
//! read-only, locked, closed). The parts:
//! - [`rules`]: the rules as they are stored;
//! - [`secret`]: making the secret, and its link.
//!
//! The rules live in memory and every change is queued to the store, in
//! order with the messages. Every [`REREAD`] they are read back ([`watch`]),
//! so a rule another instance set, or a secret `lanchat host-link`
//! replaced, holds here within that time. A read that could undo a change
//! of this instance's still on its way is dropped, and the next one taken.

pub mod rules;
pub mod secret;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::clock::now_millis;
use crate::ids::{ConnId, UserId, hex, random_bytes};
use crate::protocol::{ErrorCode, LOBBY, Refusal};
use crate::store::{Change, Store, Subject};
use crate::sync::lock;
pub use rules::{Ban, Bot, Mute, Pin, RoomRules, Rule, Target};

/// How often the rules are read back from the store.
pub const REREAD: Duration = Duration::from_secs(2);

/// Proof that a connection gave the host secret: the hash it matched. It
/// stops holding when the secret is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof([u8; 32]);

/// Handle to the host's rules. Cheap to clone.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// Every rule, by the key it is stored under. Held for lookups and
    /// updates only; saving is queued to the store.
    rules: Mutex<BTreeMap<String, Rule>>,
    /// When each poster last posted in each room with slow mode, by
    /// (room, poster). Forgotten by the hourly sweep.
    posted: Mutex<HashMap<(String, String), Instant>>,
    /// The browser (its id's hash) behind each connection that offered one.
    browsers: Mutex<HashMap<ConnId, String>>,
    /// Connections in host mode: they hear the host's view when it changes.
    hosts: Mutex<HashSet<ConnId>>,
    /// Each room's raised hands, in the order they went up. In memory only:
    /// a classroom's queue lasts as long as the class.
    hands: Mutex<HashMap<String, Vec<String>>>,
}

impl Host {
    /// Rebuilds the rules the store kept, and sets the host secret: `given`
    /// (`--host-secret`), or a new one, which replaces what was stored.
    /// Returns the secret, for the host link.
    pub fn load(
        store: Store,
        records: Vec<(String, String)>,
        given: Option<&str>,
    ) -> (Host, String) {
        let host = Host {
            inner: Arc::new(Inner {
                store,
                rules: Mutex::new(parse_all(records)),
                posted: Mutex::new(HashMap::new()),
                browsers: Mutex::new(HashMap::new()),
                hosts: Mutex::new(HashSet::new()),
                hands: Mutex::new(HashMap::new()),
            }),
        };
        let secret = given.map_or_else(secret::new_secret, str::to_owned);
        host.set(Rule::Secret {
            hash: secret::hash_hex(&secret),
        });
        (host, secret)
    }

    fn rules(&self) -> MutexGuard<'_, BTreeMap<String, Rule>> {
        lock(&self.inner.rules)
    }

    /// Stores `rule`, replacing the one with its key.
    fn set(&self, rule: Rule) {
        let key = rule.key();
        let value = rule.to_json();
        self.rules().insert(key.clone(), rule);
        self.inner.store.save(Change::Host {
            key,
            value: Some(value),
        });
    }

    fn remove(&self, key: &str) -> Option<Rule> {
        let removed = self.rules().remove(key)?;
        self.inner.store.save(Change::Host {
            key: key.to_owned(),
            value: None,
        });
        Some(removed)
    }

    /// Takes in the rules as stored now (see [`watch`]).
    fn refresh(&self, records: Vec<(String, String)>) {
        *self.rules() = parse_all(records);
    }

    /// Whether `secret` is the host secret; the proof, if it is.
    pub fn verify(&self, secret: &str) -> Option<Proof> {
        let offered = secret::hash(secret);
        (self.secret_hash() == Some(offered)).then_some(Proof(offered))
    }

    /// Whether a proof given earlier still holds (the secret was not
    /// replaced since).
    pub fn holds(&self, proof: &Proof) -> bool {
        self.secret_hash() == Some(proof.0)
    }

    fn secret_hash(&self) -> Option<[u8; 32]> {
        match self.rules().get(rules::SECRET_KEY) {
            Some(Rule::Secret { hash }) => secret::parse_hash(hash),
            _ => None,
        }
    }

    /// The connection is in host mode from now on, until it ends.
    pub fn enter_host_mode(&self, conn: ConnId) {
        lock(&self.inner.hosts).insert(conn);
    }

    /// The connections in host mode.
    pub fn host_connections(&self) -> Vec<ConnId> {
        lock(&self.inner.hosts).iter().copied().collect()
    }

    /// Notes the browser behind a connection (the hash of its id).
    pub fn connected(&self, conn: ConnId, browser: Option<String>) {
        if let Some(browser) = browser {
            lock(&self.inner.browsers).insert(conn, browser);
        }
    }

    /// Forgets a connection that ended.
    pub fn disconnected(&self, conn: ConnId) {
        lock(&self.inner.browsers).remove(&conn);
        lock(&self.inner.hosts).remove(&conn);
    }

    /// The browsers behind these connections.
    pub fn browsers_of(&self, conns: &[ConnId]) -> Vec<String> {
        let browsers = lock(&self.inner.browsers);
        let mut found: Vec<String> = conns
            .iter()
            .filter_map(|conn| browsers.get(conn).cloned())
            .collect();
        found.sort();
        found.dedup();
        found
    }

    /// Mutes `target` until `until` (ms), or until lifted.
    pub fn mute(&self, target: Target, name: &str, until: Option<i64>) {
        self.set(Rule::Mute(Mute {
            target,
            name: name.to_owned(),
            until,
        }));
    }

    /// Lifts the mute on `target`, if there was one.
    pub fn unmute(&self, target: &Target) -> Option<Mute> {
        match self.remove(&rules::mute_key(target))? {
            Rule::Mute(mute) => Some(mute),
            _ => None,
        }
    }

    /// The mute in force on the user, or on the name, if any.
    pub fn mute_of(&self, user: Option<&UserId>, name: &str) -> Option<Mute> {
        let rules = self.rules();
        let now = now_millis();
        [
            user.map(|user| Target::User(user.to_string())),
            Some(Target::Name(name.to_lowercase())),
        ]
        .into_iter()
        .flatten()
        .find_map(|target| match rules.get(&rules::mute_key(&target)) {
            Some(Rule::Mute(mute)) if in_force(mute.until, now) => Some(mute.clone()),
            _ => None,
        })
    }

    /// Bans `target` (seen from `browsers`) until `until`, or for good.
    pub fn ban(
        &self,
        target: Target,
        name: &str,
        browsers: Vec<String>,
        until: Option<i64>,
        reason: &str,
    ) -> Ban {
        let ban = Ban {
            id: hex(&random_bytes::<8>()),
            target,
            name: name.to_owned(),
            browsers,
            until,
            reason: reason.to_owned(),
        };
        self.set(Rule::Ban(ban.clone()));
        ban
    }

    /// Lifts ban `id`, if there is one.
    pub fn unban(&self, id: &str) -> Option<Ban> {
        match self.remove(&format!("ban:{id}"))? {
            Rule::Ban(ban) => Some(ban),
            _ => None,
        }
    }

    /// The ban that keeps out a connection under `name` (owned by `user`)
    /// from `browser`, if any. A browser seen under a banned name is added
    /// to its ban, so it cannot come back under another.
    pub fn ban_on(&self, name: &str, user: Option<&UserId>, browser: Option<&str>) -> Option<Ban> {
        let now = now_millis();
        let found = {
            let rules = self.rules();
            rules.values().find_map(|rule| match rule {
                Rule::Ban(ban) if in_force(ban.until, now) => {
                    let by_target = match &ban.target {
                        Target::User(id) => user.is_some_and(|user| **user == **id),
                        Target::Name(banned) => *banned == name.to_lowercase(),
                    };
                    let by_browser =
                        browser.is_some_and(|browser| ban.browsers.iter().any(|b| b == browser));
                    (by_target || by_browser).then(|| ban.clone())
                }
                _ => None,
            })
        }?;
        if let Some(browser) = browser
            && !found.browsers.iter().any(|b| b == browser)
        {
            let mut learned = found.clone();
            learned.browsers.push(browser.to_owned());
            log::info!(
                "host: a browser came back under {:?}; its ban covers it now",
                found.name
            );
            self.set(Rule::Ban(learned));
        }
        Some(found)
    }

    /// Every mute and ban in force, for the host's view.
    pub fn mutes_and_bans(&self) -> (Vec<Mute>, Vec<Ban>) {
        let now = now_millis();
        let rules = self.rules();
        let mut mutes = Vec::new();
        let mut bans = Vec::new();
        for rule in rules.values() {
            match rule {
                Rule::Mute(mute) if in_force(mute.until, now) => mutes.push(mute.clone()),
                Rule::Ban(ban) if in_force(ban.until, now) => bans.push(ban.clone()),
                _ => {}
            }
        }
        (mutes, bans)
    }

    /// `room`'s rules (all off unless the host set some).
    pub fn room_rules(&self, room: &str) -> RoomRules {
        match self.rules().get(&rules::room_key(room)) {
            Some(Rule::Room { rules, .. }) => *rules,
            _ => RoomRules::default(),
        }
    }

    /// The rooms with rules, and their rules.
    pub fn ruled_rooms(&self) -> Vec<(String, RoomRules)> {
        self.rules()
            .values()
            .filter_map(|rule| match rule {
                Rule::Room { room, rules } => Some((room.clone(), *rules)),
                _ => None,
            })
            .collect()
    }

    /// Sets `room`'s rules; all off removes them.
    pub fn set_room_rules(&self, room: &str, rules: RoomRules) {
        if rules == RoomRules::default() {
            self.remove(&rules::room_key(room));
        } else {
            self.set(Rule::Room {
                room: room.to_owned(),
                rules,
            });
        }
    }

    /// Pins `pin` in its room, replacing the room's pinned one.
    pub fn pin(&self, pin: Pin) {
        self.set(Rule::Pin(pin));
    }

    /// Takes down `room`'s pinned announcement, if it has one.
    pub fn unpin(&self, room: &str) -> Option<Pin> {
        match self.remove(&rules::pin_key(room))? {
            Rule::Pin(pin) => Some(pin),
            _ => None,
        }
    }

    /// `room`'s pinned announcement.
    pub fn pin_of(&self, room: &str) -> Option<Pin> {
        match self.rules().get(&rules::pin_key(room)) {
            Some(Rule::Pin(pin)) => Some(pin.clone()),
            _ => None,
        }
    }

    /// Every pinned announcement.
    pub fn pins(&self) -> Vec<Pin> {
        self.rules()
            .values()
            .filter_map(|rule| match rule {
                Rule::Pin(pin) => Some(pin.clone()),
                _ => None,
            })
            .collect()
    }

    /// Makes a bot named `name` that may post in `rooms`; returns it and its
    /// token, which is shown once and kept only as its hash.
    pub fn create_bot(&self, name: &str, rooms: Vec<String>) -> (Bot, String) {
        let token = format!("bot_{}", hex(&random_bytes::<24>()));
        let bot = Bot {
            id: hex(&random_bytes::<8>()),
            name: name.to_owned(),
            hash: secret::hash_hex(&token),
            rooms,
            created: now_millis(),
        };
        self.set(Rule::Bot(bot.clone()));
        (bot, token)
    }

    /// Revokes bot `id`: its token stops working at once.
    pub fn revoke_bot(&self, id: &str) -> Option<Bot> {
        match self.remove(&format!("bot:{id}"))? {
            Rule::Bot(bot) => Some(bot),
            _ => None,
        }
    }

    /// The bot whose token this is.
    pub fn bot_by_token(&self, token: &str) -> Option<Bot> {
        let hash = secret::hash_hex(token);
        self.bots().into_iter().find(|bot| bot.hash == hash)
    }

    /// Every bot.
    pub fn bots(&self) -> Vec<Bot> {
        self.rules()
            .values()
            .filter_map(|rule| match rule {
                Rule::Bot(bot) => Some(bot.clone()),
                _ => None,
            })
            .collect()
    }

    /// Whether `name` is a bot's (in any letter case): nobody else may use
    /// it.
    pub fn is_bot_name(&self, name: &str) -> bool {
        self.bots()
            .iter()
            .any(|bot| bot.name.eq_ignore_ascii_case(name))
    }

    /// Raises (`up`) or lowers `name`'s hand in `room`; the queue after, if
    /// it changed.
    pub fn hand(&self, room: &str, name: &str, up: bool) -> Option<Vec<String>> {
        let mut hands = lock(&self.inner.hands);
        let queue = hands.entry(room.to_owned()).or_default();
        let at = queue
            .iter()
            .position(|raised| raised.eq_ignore_ascii_case(name));
        match (up, at) {
            (true, None) => queue.push(name.to_owned()),
            (false, Some(at)) => {
                queue.remove(at);
            }
            _ => return None,
        }
        let after = queue.clone();
        if after.is_empty() {
            hands.remove(room);
        }
        Some(after)
    }

    /// `room`'s raised hands, in order.
    pub fn hands_of(&self, room: &str) -> Vec<String> {
        lock(&self.inner.hands)
            .get(room)
            .cloned()
            .unwrap_or_default()
    }

    /// The rooms with hands up, and their queues.
    pub fn raised_hands(&self) -> Vec<(String, Vec<String>)> {
        lock(&self.inner.hands)
            .iter()
            .map(|(room, queue)| (room.clone(), queue.clone()))
            .collect()
    }

    /// Refuses a post from a muted user or name (not the host).
    pub fn check_mute(
        &self,
        user: Option<&UserId>,
        name: &str,
        as_host: bool,
    ) -> Result<(), Refusal> {
        match self.mute_of(user, name) {
            Some(mute) if !as_host => {
                let refusal = Refusal::new(
                    ErrorCode::Muted,
                    "the host muted you: you can read but not post",
                );
                Err(match mute.until {
                    Some(until) => refusal.retry_after(until_from_now(until)),
                    None => refusal,
                })
            }
            _ => Ok(()),
        }
    }

    /// Refuses a post in a closed room, or (but from the host) in a
    /// read-only one.
    pub fn check_room(&self, room: &str, as_host: bool) -> Result<(), Refusal> {
        let rules = self.room_rules(room);
        if rules.closed {
            Err(Refusal::new(ErrorCode::Closed, "the host closed this room"))
        } else if rules.read_only && !as_host {
            Err(Refusal::new(
                ErrorCode::ReadOnly,
                "this room is read-only: only the host posts here",
            ))
        } else {
            Ok(())
        }
    }

    /// Refuses a new message in a room with slow mode sooner than its
    /// wait after the poster's last one (the host is exempt). A message let
    /// in starts the poster's next wait.
    pub fn check_slow(
        &self,
        room: &str,
        user: Option<&UserId>,
        name: &str,
        as_host: bool,
    ) -> Result<(), Refusal> {
        let rules = self.room_rules(room);
        if rules.slow == 0 || as_host {
            return Ok(());
        }
        let poster = match user {
            Some(user) => user.to_string(),
            None => format!("~{}", name.to_lowercase()),
        };
        let wait = Duration::from_secs(u64::from(rules.slow));
        let now = Instant::now();
        let mut posted = lock(&self.inner.posted);
        let key = (room.to_owned(), poster);
        if let Some(last) = posted.get(&key) {
            let since = now.saturating_duration_since(*last);
            if since < wait {
                return Err(Refusal::new(
                    ErrorCode::SlowMode,
                    format!("slow mode: one message every {} s here", rules.slow),
                )
                .retry_after(wait - since));
            }
        }
        posted.insert(key, now);
        Ok(())
    }

    /// Whether someone new may join `room` (the host has not locked or
    /// closed it).
    pub fn check_join(&self, room: &str) -> Result<(), Refusal> {
        let rules = self.room_rules(room);
        if rules.closed {
            Err(Refusal::new(ErrorCode::Closed, "the host closed this room"))
        } else if rules.locked {
            Err(Refusal::new(
                ErrorCode::Locked,
                "the host locked this room: nobody new can join",
            ))
        } else {
            Ok(())
        }
    }

    /// Forgets mutes and bans that ran out, and slow-mode waits that are
    /// over. Run by the hourly sweep.
    pub fn sweep(&self) {
        let now = now_millis();
        let expired: Vec<String> = self
            .rules()
            .iter()
            .filter(|(_, rule)| match rule {
                Rule::Mute(mute) => !in_force(mute.until, now),
                Rule::Ban(ban) => !in_force(ban.until, now),
                _ => false,
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in expired {
            self.remove(&key);
        }
        // The longest slow mode is an hour.
        lock(&self.inner.posted).retain(|_, at| at.elapsed() < Duration::from_secs(3600));
    }
}

/// Reads the rules back from the store every [`REREAD`] until the store
/// stops, so the rules of other instances and of `lanchat host-link` hold
/// here too.
pub async fn watch(host: Host) {
    let store = host.inner.store.clone();
    let mut every = tokio::time::interval(REREAD);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        // A change of this instance's on its way would be undone by a read
        // that missed it: wait for the next turn.
        let Some(mark) = store.settled(&Subject::Host) else {
            continue;
        };
        match store.host_state().await {
            Ok(records) if store.unchanged(&Subject::Host, mark) => host.refresh(records),
            Ok(_) => {}
            Err(err) => {
                log::debug!("cannot read the host's rules again: {err:#}");
                if store_stopped(&err) {
                    return;
                }
            }
        }
    }
}

fn store_stopped(err: &anyhow::Error) -> bool {
    err.to_string().contains("the store has stopped")
}

/// The rules from their stored rows; a row this build cannot read is left
/// out, with a warning.
fn parse_all(records: Vec<(String, String)>) -> BTreeMap<String, Rule> {
    records
        .into_iter()
        .filter_map(|(key, value)| match serde_json::from_str::<Rule>(&value) {
            Ok(rule) => Some((key, rule)),
            Err(err) => {
                log::warn!("skipping the host rule {key}: {err}");
                None
            }
        })
        .collect()
}

/// Whether a rule lasting `until` (ms; `None`: for good) holds at `now`.
fn in_force(until: Option<i64>, now: i64) -> bool {
    until.is_none_or(|until| until > now)
}

fn until_from_now(until: i64) -> Duration {
    Duration::from_millis(until.saturating_sub(now_millis()).max(0) as u64)
}

/// Who a name is, for a mute or a ban: its owner's user id if someone owns
/// it, else the name itself.
pub fn target_of(user: Option<UserId>, name: &str) -> Target {
    match user {
        Some(user) => Target::User(user.to_string()),
        None => Target::Name(name.to_lowercase()),
    }
}

/// The `rules` frame that tells a page `room`'s rules.
pub fn rules_frame(room: &str, rules: RoomRules) -> String {
    crate::protocol::encode(&crate::protocol::ServerFrame::Rules {
        room,
        slow: rules.slow,
        read_only: rules.read_only,
        locked: rules.locked,
        closed: rules.closed,
        keep: rules.keep,
    })
}

/// The `pinned` frame that shows a page `pin`.
pub fn pinned_frame(pin: &Pin) -> String {
    crate::protocol::encode(&crate::protocol::ServerFrame::Pinned {
        room: &pin.room,
        seq: pin.seq,
        message: &pin.message,
        html: &pin.html,
        timestamp: pin.at,
    })
}

/// The `hands` frame for `room`'s queue.
pub fn hands_frame(room: &str, queue: &[String]) -> String {
    crate::protocol::encode(&crate::protocol::ServerFrame::Hands { room, queue })
}

/// Whether the host may set rules for `room`: any room but the lobby may be
/// locked or closed; the lobby, where everyone is, may be slowed or made
/// read-only only.
pub fn rules_allowed(room: &str, rules: &RoomRules) -> bool {
    room != LOBBY || !(rules.locked || rules.closed)
}
