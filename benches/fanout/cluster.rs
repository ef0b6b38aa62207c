//! The cluster mode: two lanchat instances sharing one private PostgreSQL
//! (`--postgres`), with clients spread evenly over them (client `i` on
//! instance `i % 2`). Three parts, each on a database of its own with fresh
//! instances:
//!
//! 1. durable ingest into the cluster, senders on both instances paced by
//!    their acks, against one instance on SQLite measured the same way
//!    just after (the ingest mode's code), and what each process spent;
//! 2. delivery latency at 1,000 clients and 200 messages/s, split by
//!    whether sender and recipient are on the same instance;
//! 3. presence after `kill -9`: how long an observer on the surviving
//!    instance takes to hear that every user of the killed one has left.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use serde_json::Value;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Latency};
use crate::fleet::{Fleet, Phase};
use crate::postgres::Postgres;
use crate::report::Goal;
use crate::target::{self, Kind, Server, Source};
use crate::{Bench, START_PAUSE, cpu_per_message_us};

/// The target for durable ingest into the cluster.
const INGEST_TARGET: f64 = 10_000.0;
/// The target for p99 across instances.
const P99_TARGET_MS: f64 = 100.0;
/// The latency part's defaults: clients, senders, messages per second.
const CLIENTS: usize = 1000;
const SENDERS: usize = 10;
const RATE: f64 = 200.0;
/// How long the observer waits for any one presence change to arrive.
const PRESENCE_TIMEOUT: Duration = Duration::from_secs(30);
/// The instances' names, in the table and their logs.
const INSTANCES: [&str; 2] = ["A", "B"];

impl Bench {
    /// The three parts on one PostgreSQL; a failing part leaves its rows
    /// empty and the rest still runs.
    pub(crate) async fn cluster(&mut self) -> anyhow::Result<()> {
        let pg = Postgres::start(&self.out.join("postgres.log"))?;
        self.say(
            Kind::Lanchat,
            format_args!("{} on 127.0.0.1:{}, fsync on", pg.version(), pg.port),
        );
        let mut failures = Vec::new();
        for window in self.args.window.clone() {
            if let Err(err) = self.cluster_ingest(&pg, window).await {
                failures.push(format!("ingest, window {window}: {err:#}"));
            }
        }
        if let Err(err) = self.cluster_latency(&pg).await {
            failures.push(format!("latency: {err:#}"));
        }
        if let Err(err) = self.cluster_presence(&pg).await {
            failures.push(format!("presence: {err:#}"));
        }
        for failure in &failures {
            self.say(Kind::Lanchat, format_args!("cluster {failure}"));
        }
        Ok(())
    }

    /// One instance on database `url`, logging to `cluster-{db}-{name}.log`.
    fn instance(&self, url: &str, db: &str, name: &str) -> anyhow::Result<Server> {
        let log = self.out.join(format!("cluster-{db}-{name}.log"));
        let mut extra = self.args.server_arg.clone();
        extra.extend(["--postgres".to_owned(), url.to_owned()]);
        target::start_lanchat(&log, &extra)
            .with_context(|| format!("instance {name} on {db} did not start"))
    }

    /// A new database `db` and the URL to it, with both instances on it.
    async fn instances(&self, pg: &Postgres, db: &str) -> anyhow::Result<(String, Vec<Server>)> {
        let url = pg.create_database(db)?;
        let servers = INSTANCES
            .iter()
            .map(|name| self.instance(&url, db, name))
            .collect::<anyhow::Result<Vec<_>>>()?;
        tokio::time::sleep(START_PAUSE).await;
        Ok((url, servers))
    }

    /// Clients spread over both instances of a new database `db`, with
    /// PostgreSQL's processes counted as serving them.
    async fn cluster_fleet(&self, pg: &Postgres, db: &str) -> anyhow::Result<Fleet> {
        let (_, servers) = self.instances(pg, db).await?;
        let fleet = Fleet::spread(servers, self.args.size);
        Ok(match pg.pid() {
            Some(pid) => fleet.helped_by(pid),
            None => fleet,
        })
    }

    /// Ingest at `window` into the cluster, then into one instance on
    /// SQLite, each on fresh servers.
    async fn cluster_ingest(&mut self, pg: &Postgres, window: usize) -> anyhow::Result<()> {
        let kind = Kind::Lanchat;
        let shape = self.ingest_label(window);
        let label = format!("2 instances + PostgreSQL: {shape}");
        let fleet = self.cluster_fleet(pg, &format!("ingest_{window}")).await?;
        let goal = Goal::AtLeast(INGEST_TARGET);
        let cluster = self.ingest_on(fleet, kind, &label, window, goal).await?;
        self.parts_rows(&label, &cluster);
        let sqlite_label = format!("1 instance on SQLite: {shape}");
        let fleet = self.fleet(kind, &Source::Spawn).await?;
        let sqlite = self
            .ingest_on(fleet, kind, &sqlite_label, window, Goal::AtLeast(20_000.0))
            .await?;
        self.set(
            &format!("{label}: msgs/s against 1 instance on SQLite"),
            "%",
            Goal::None,
            kind,
            Some(100.0 * (cluster.messages_per_s() / sqlite.messages_per_s() - 1.0)),
        );
        let extra = cpu_per_message_us(&cluster)
            .zip(cpu_per_message_us(&sqlite))
            .map(|(c, s)| c - s);
        self.set(
            &format!("{label}: all server CPU per message less SQLite's"),
            "µs",
            Goal::None,
            kind,
            extra,
        );
        Ok(())
    }

    /// Broadcasts from senders on both instances to clients on both.
    async fn cluster_latency(&mut self, pg: &Postgres) -> anyhow::Result<()> {
        let kind = Kind::Lanchat;
        let n = self.args.clients.unwrap_or(CLIENTS);
        let senders = self.args.senders.unwrap_or(SENDERS);
        let rate = self.args.rate.unwrap_or(RATE);
        let label = format!("2 instances: {n} clients, {senders} senders, {rate}/s");
        let mut fleet = self.cluster_fleet(pg, "latency").await?;
        let phase = self.fixed_phase(&mut fleet, n, senders, rate).await?;
        let cross = fleet.stats.cross_instance.summary();
        let same = fleet.stats.same_instance.summary();
        self.say(
            kind,
            format_args!(
                "{label}: across {cross:?}, within {same:?}, {:?}, {} dropped, others' CPU {:?} s",
                phase.tally,
                fleet.dropped(),
                phase.others_cpu_s
            ),
        );
        let target = n == CLIENTS && rate >= RATE;
        let p99 = Goal::AtMost(P99_TARGET_MS);
        let splits = [
            (
                "across instances",
                cross,
                if target { p99 } else { Goal::None },
            ),
            ("within an instance", same, Goal::None),
        ];
        for (which, latency, p99) in splits {
            self.split_rows(&format!("{label}, {which}"), &latency, p99);
        }
        self.phase_rows(
            &format!("{label}, all"),
            kind,
            &phase,
            Goal::None,
            Goal::None,
        );
        self.parts_rows(&label, &phase);
        Ok(())
    }

    /// What each process serving the cluster spent per message in `phase`.
    fn parts_rows(&mut self, label: &str, phase: &Phase) {
        let parts = INSTANCES
            .iter()
            .map(|name| format!("instance {name}"))
            .chain(["PostgreSQL (all its processes)".to_owned()]);
        let mut said = Vec::new();
        for (part, cpu_s) in parts.zip(&phase.parts_cpu_s) {
            let us = cpu_s.map(|s| s * 1e6 / phase.tally.sent.max(1) as f64);
            said.push(format!("{part} {us:.1?}"));
            let name = format!("{label}: {part}, CPU per message");
            self.set(&name, "µs", Goal::None, Kind::Lanchat, us);
        }
        let said = said.join(", ");
        self.say(Kind::Lanchat, format_args!("{label}: CPU-µs/msg {said}"));
    }

    fn split_rows(&mut self, label: &str, latency: &Latency, p99: Goal) {
        let kind = Kind::Lanchat;
        let p50 = Some(latency.p50);
        self.set(&format!("{label}: p50"), "ms", Goal::None, kind, p50);
        self.set(&format!("{label}: p99"), "ms", p99, kind, Some(latency.p99));
    }

    /// Kills instance B (`kill -9`) with its clients on it, a few times,
    /// and times how long an observer on A takes to hear them all leave.
    async fn cluster_presence(&mut self, pg: &Postgres) -> anyhow::Result<()> {
        let kind = Kind::Lanchat;
        let n = self.args.presence_clients;
        let rounds = self.args.kills.max(1);
        let db = "presence";
        let (url, mut servers) = self.instances(pg, db).await?;
        let mut b = servers.pop();
        let a = servers.pop().context("no instance A")?;
        let names: HashSet<String> = (0..n).map(|i| format!("u{i}")).collect();
        let mut observer = Observer::connect(&a, names).await?;
        let (mut first, mut all) = (Vec::new(), Vec::new());
        for round in 1..=rounds {
            let server = match b.take() {
                Some(server) => server,
                None => {
                    let server = self.instance(&url, db, &format!("B{round}"))?;
                    tokio::time::sleep(START_PAUSE).await;
                    server
                }
            };
            let mut fleet = Fleet::new(server, self.args.size);
            fleet.grow(n).await?;
            let joined = observer.until("join", |online| online == n).await?;
            let killed = Instant::now();
            fleet.servers[0].kill();
            observer.until("first leave", |online| online < n).await?;
            first.push(killed.elapsed().as_secs_f64());
            observer.until("last leave", |online| online == 0).await?;
            all.push(killed.elapsed().as_secs_f64());
            self.say(
                kind,
                format_args!(
                    "presence round {round}: {n} joins heard on A {:.2} s after they connected; \
                     kill -9 B: first leave after {:.2} s, all {n} after {:.2} s",
                    joined.as_secs_f64(),
                    first[first.len() - 1],
                    all[all.len() - 1]
                ),
            );
        }
        let label = format!("kill -9 of an instance with {n} clients");
        let of = format!("of {rounds}");
        let rows = [
            (
                format!("{label}: first leave heard on the other, median {of}"),
                median(&first),
            ),
            (
                format!("{label}: all {n} leaves heard, median {of}"),
                median(&all),
            ),
            (
                format!("{label}: all {n} leaves heard, least {of}"),
                least(&all),
            ),
            (
                format!("{label}: all {n} leaves heard, most {of}"),
                most(&all),
            ),
        ];
        for (name, value) in rows {
            self.set(&name, "s", Goal::None, kind, value);
        }
        Ok(())
    }
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied()
}

fn least(values: &[f64]) -> Option<f64> {
    values.iter().copied().min_by(f64::total_cmp)
}

fn most(values: &[f64]) -> Option<f64> {
    values.iter().copied().max_by(f64::total_cmp)
}

/// A client of its own on the surviving instance that reads every frame
/// and keeps count of how many of the watched names it takes for online.
struct Observer {
    online: watch::Receiver<usize>,
    reader: tokio::task::JoinHandle<()>,
}

impl Observer {
    async fn connect(server: &Server, watched: HashSet<String>) -> anyhow::Result<Observer> {
        let url = format!("ws://{}/ws/observer", server.addr);
        let ws = client::open(server.addr, &url, None).await?;
        let (tx, online) = watch::channel(0);
        let reader = tokio::spawn(async move {
            // The write half stays here, so the connection stays open.
            let (_sink, mut stream) = ws.split();
            let mut roster = Roster {
                watched,
                online: HashSet::new(),
                counted: None,
            };
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                if let Ok(frame) = serde_json::from_str::<Value>(&text) {
                    roster.apply(&frame);
                    let now = roster.count();
                    tx.send_if_modified(|online| std::mem::replace(online, now) != now);
                }
            }
        });
        Ok(Observer { online, reader })
    }

    /// Waits until the count of watched names online passes `done`, at most
    /// [`PRESENCE_TIMEOUT`]; how long that took.
    async fn until(
        &mut self,
        what: &str,
        done: impl Fn(usize) -> bool,
    ) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let wait = self.online.wait_for(|online| done(*online));
        let outcome = tokio::time::timeout(PRESENCE_TIMEOUT, wait)
            .await
            .map(|heard| heard.is_ok());
        match outcome {
            Ok(true) => Ok(started.elapsed()),
            Ok(false) => bail!("the observer's connection closed before the {what}"),
            Err(_) => bail!(
                "the observer heard no {what} within {PRESENCE_TIMEOUT:?} ({} online)",
                *self.online.borrow()
            ),
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Who the observer takes for online among the watched names, from
/// lanchat's presence frames: `join` and `leave` one name at a time,
/// `presence` several at once, and the lists in `welcome` and `roster`.
/// Past the roster limit names are no longer listed, only counted
/// (`online`), and every name but the observer's is taken for watched.
struct Roster {
    watched: HashSet<String>,
    online: HashSet<String>,
    /// The watched names online, while the lobby only counts them.
    counted: Option<usize>,
}

impl Roster {
    fn apply(&mut self, frame: &Value) {
        let names = |key: &str| {
            let list = frame[key].as_array().map(Vec::as_slice).unwrap_or_default();
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let others_online = frame["online"]
            .as_u64()
            .map(|n| n.saturating_sub(1) as usize);
        match frame["type"].as_str().unwrap_or_default() {
            "join" => self.mark(frame["username"].as_str(), true),
            "leave" => self.mark(frame["username"].as_str(), false),
            "presence" => {
                for name in names("joined") {
                    self.mark(Some(&name), true);
                }
                for name in names("left") {
                    self.mark(Some(&name), false);
                }
            }
            "welcome" | "roster" if frame["complete"].as_bool() == Some(true) => {
                self.counted = None;
                self.online = names("users")
                    .into_iter()
                    .filter(|name| self.watched.contains(name))
                    .collect();
            }
            "welcome" | "roster" | "online" => self.counted = others_online,
            _ => {}
        }
    }

    fn mark(&mut self, name: Option<&str>, online: bool) {
        let Some(name) = name.filter(|name| self.watched.contains(*name)) else {
            return;
        };
        if online {
            self.online.insert(name.to_owned());
        } else {
            self.online.remove(name);
        }
    }

    fn count(&self) -> usize {
        self.counted.unwrap_or(self.online.len())
    }
}
