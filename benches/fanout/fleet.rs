//! A fleet of clients on one server (or spread over several instances of a
//! cluster), and the measured phases run with it: connecting, a barrier,
//! broadcasts at a rate, and ack-paced ingest.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::sync::Semaphore;
use tokio::time::sleep_until;

use crate::client::{Body, Client, Latency, Stats, Tally, Text};
use crate::target::{Server, Usage, machine_busy_s};

/// Connects in flight at once; well under the servers' listen backlogs.
const CONNECT_CONCURRENCY: usize = 256;
/// How long a barrier broadcast may take to reach everyone.
const BARRIER_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to wait for deliveries after the last send.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Clients connected to one server, or spread over several: client `i`
/// connects to server `i % servers.len()`.
pub struct Fleet {
    pub servers: Vec<Server>,
    /// Other processes serving them (a database), by pid: what they use
    /// counts as the servers' (see [`Usage::of_tree`]).
    helpers: Vec<u32>,
    pub stats: Arc<Stats>,
    clients: Vec<Arc<Client>>,
    body: Body,
}

/// How long growing the fleet took.
#[derive(Debug, Clone, Copy)]
pub struct Growth {
    /// Until every new client had its `101`.
    pub upgraded: Duration,
    /// Until every new client had its first frame.
    pub ready: Duration,
}

/// The result of one timed phase.
#[derive(Debug, Clone)]
pub struct Phase {
    pub tally: Tally,
    pub latency: Latency,
    /// From the first send until the last delivery (or the drain timeout).
    pub elapsed: Duration,
    /// Server usage during the phase, if we started the server: every
    /// server's CPU and its helpers' together, the servers' RSS summed.
    pub server_cpu_s: Option<f64>,
    pub server_rss_kib: Option<u64>,
    /// CPU of each server, then of each helper.
    pub parts_cpu_s: Vec<Option<f64>>,
    pub generator_cpu_s: Option<f64>,
    /// CPU seconds used by everything else on the machine meanwhile; more
    /// than a little means the figures were disturbed.
    pub others_cpu_s: Option<f64>,
}

impl Phase {
    pub fn deliveries_per_s(&self) -> f64 {
        (self.tally.delivered - self.tally.extra) as f64 / self.elapsed.as_secs_f64()
    }

    pub fn messages_per_s(&self) -> f64 {
        self.tally.sent as f64 / self.elapsed.as_secs_f64()
    }
}

/// Usage readings at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The servers' together.
    pub server: Option<Usage>,
    /// Each server's, then each helper's.
    pub parts: Vec<Option<Usage>>,
    pub generator: Option<Usage>,
    pub machine_busy_s: Option<f64>,
}

/// Who sends during a phase.
#[derive(Debug, Clone, Copy)]
pub enum Senders {
    /// The first `n` clients share the rate evenly.
    First(usize),
    /// Each broadcast comes from a client picked at random.
    Random,
}

impl Fleet {
    /// A fleet whose broadcasts carry `size` characters of filler.
    pub fn new(server: Server, size: usize) -> Fleet {
        Fleet::spread(vec![server], size)
    }

    /// A fleet spread evenly over `servers` (instances sharing a database),
    /// whose stats tell deliveries within an instance from those across.
    pub fn spread(servers: Vec<Server>, size: usize) -> Fleet {
        Fleet {
            stats: Stats::spread(servers.len()),
            servers,
            helpers: Vec::new(),
            clients: Vec::new(),
            body: Body {
                text: Text::Filler,
                size,
            },
        }
    }

    /// The same fleet, with process `pid` (and its children) serving it.
    pub fn helped_by(mut self, pid: u32) -> Fleet {
        self.helpers.push(pid);
        self
    }

    /// The same fleet, broadcasting chat of kind `text` instead.
    pub fn with_text(mut self, text: Text) -> Fleet {
        self.body.text = text;
        self
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn dropped(&self) -> u64 {
        self.stats.dropped.load(Ordering::Relaxed)
    }

    /// Connects clients until there are `total`, at most
    /// [`CONNECT_CONCURRENCY`] at a time.
    pub async fn grow(&mut self, total: usize) -> anyhow::Result<Growth> {
        let started = Instant::now();
        let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
        let mut tasks = Vec::new();
        for index in self.clients.len()..total {
            let permit = gate.clone().acquire_owned().await?;
            let server = &self.servers[index % self.servers.len()];
            let url = server.url(index);
            let addr = server.addr;
            let tls = server.tls.clone();
            let stats = self.stats.clone();
            tasks.push(tokio::spawn(async move {
                let offset = started.elapsed();
                let result = Client::connect(addr, &url, tls.as_ref(), index, stats).await;
                drop(permit);
                result.map(|c| (c.client, offset + c.upgraded, offset + c.ready))
            }));
        }
        let (mut upgraded, mut ready) = (Duration::ZERO, Duration::ZERO);
        let mut failure = None;
        for task in tasks {
            match task.await? {
                Ok((client, up, rd)) => {
                    upgraded = upgraded.max(up);
                    ready = ready.max(rd);
                    self.clients.push(Arc::new(client));
                }
                Err(err) => failure = Some(err),
            }
        }
        if let Some(err) = failure {
            return Err(err).with_context(|| {
                format!(
                    "only {} of {total} clients connected to {}",
                    self.clients.len(),
                    self.servers[0].kind.name()
                )
            });
        }
        Ok(Growth { upgraded, ready })
    }

    /// Sends one untimed broadcast and waits until every client has it. Since
    /// each connection is FIFO, everything queued before it (a join storm)
    /// has then been delivered too.
    pub async fn barrier(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let first = self.clients.first().context("no clients")?;
        let id = first
            .broadcast(&self.stats, self.body)
            .await?
            .context("the ledger is full")?;
        let want = self.clients.len() as u64;
        loop {
            let tally = self.stats.ledger.tally(id, id + 1, want);
            if tally.delivered >= want {
                return Ok(started.elapsed());
            }
            if started.elapsed() > BARRIER_TIMEOUT {
                bail!(
                    "barrier: only {} of {want} clients got the broadcast in {BARRIER_TIMEOUT:?} \
                     ({} connections dropped)",
                    tally.delivered,
                    self.dropped()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Sends `rate` broadcasts per second for `duration`, then waits for
    /// them to be delivered to every client.
    pub async fn broadcast_at(
        &self,
        senders: Senders,
        rate: f64,
        duration: Duration,
    ) -> anyhow::Result<Phase> {
        let before = self.snapshot();
        let from = self.stats.start_timing();
        let started = Instant::now();
        let deadline = started + duration;
        let total = (rate * duration.as_secs_f64()).round() as u64;
        let mut tasks = Vec::new();
        match senders {
            Senders::First(n) => {
                let n = n.clamp(1, self.clients.len());
                let per_sender = rate / n as f64;
                for (i, client) in self.clients[..n].iter().enumerate() {
                    // Spread the senders' first sends over one period.
                    let offset = Duration::from_secs_f64(i as f64 / rate);
                    let count = total / n as u64 + u64::from((i as u64) < total % n as u64);
                    let pick = client.clone();
                    tasks.push(tokio::spawn(self.drive(
                        move |_| pick.clone(),
                        per_sender,
                        count,
                        started + offset,
                        deadline,
                    )));
                }
            }
            Senders::Random => {
                let clients = self.clients.clone();
                let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
                let pick = move |_| {
                    // xorshift: cheap, repeatable picks.
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    clients[(seed % clients.len() as u64) as usize].clone()
                };
                tasks.push(tokio::spawn(
                    self.drive(pick, rate, total, started, deadline),
                ));
            }
        }
        for task in tasks {
            task.await??;
        }
        let to = self.stats.ledger.mark();
        self.finish(from, to, started, before).await
    }

    /// Sends from `pick(i)` at `rate` per second from `start`, `count` times,
    /// stopping at `deadline`.
    fn drive(
        &self,
        mut pick: impl FnMut(u64) -> Arc<Client> + Send + 'static,
        rate: f64,
        count: u64,
        start: Instant,
        deadline: Instant,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'static {
        let stats = self.stats.clone();
        let body = self.body;
        async move {
            let period = Duration::from_secs_f64(1.0 / rate);
            for i in 0..count {
                let due = start + period.mul_f64(i as f64);
                if due >= deadline {
                    break;
                }
                sleep_until(due.into()).await;
                // A closed connection ends this sender; the ledger counts
                // what it no longer receives as lost.
                if !matches!(pick(i).broadcast(&stats, body).await, Ok(Some(_))) {
                    break;
                }
            }
            Ok(())
        }
    }

    /// The first `senders` clients send as fast as acknowledgements allow:
    /// each keeps at most `window` messages unacknowledged, where the echo
    /// of its own message (after the commit, for lanchat) is the ack.
    pub async fn ingest(
        &self,
        senders: usize,
        window: usize,
        duration: Duration,
    ) -> anyhow::Result<Phase> {
        let before = self.snapshot();
        let from = self.stats.start_timing();
        let started = Instant::now();
        let deadline = started + duration;
        let mut tasks = Vec::new();
        for client in &self.clients[..senders.min(self.clients.len())] {
            let client = client.clone();
            let stats = self.stats.clone();
            let body = self.body;
            client.acks.forget_permits(client.acks.available_permits());
            client.acks.add_permits(window);
            tasks.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    let ack = tokio::time::timeout_at(deadline.into(), client.acks.acquire()).await;
                    let Ok(Ok(permit)) = ack else { break };
                    permit.forget();
                    if !matches!(client.broadcast(&stats, body).await, Ok(Some(_))) {
                        break;
                    }
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        let to = self.stats.ledger.mark();
        self.finish(from, to, started, before).await
    }

    /// Waits until broadcasts `from..to` reached everyone or stopped
    /// arriving, then sums up the phase.
    async fn finish(
        &self,
        from: u64,
        to: u64,
        started: Instant,
        before: Snapshot,
    ) -> anyhow::Result<Phase> {
        let per = self.clients.len() as u64;
        let sent_all = Instant::now();
        let mut last_count = 0;
        let mut last_progress = Instant::now();
        let tally = loop {
            let tally = self.stats.ledger.tally(from, to, per);
            if tally.delivered != last_count {
                last_count = tally.delivered;
                last_progress = Instant::now();
            }
            if tally.lost == 0 || sent_all.elapsed() > DRAIN_TIMEOUT {
                break tally;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        let elapsed = last_progress.max(sent_all) - started;
        let after = self.snapshot();
        let cpu = |after: Option<Usage>, before: Option<Usage>| Some(after?.cpu_since(&before?));
        let parts_cpu_s: Vec<Option<f64>> = (after.parts.iter().zip(&before.parts))
            .map(|(a, b)| cpu(*a, *b))
            .collect();
        let server_cpu_s = parts_cpu_s.iter().copied().sum::<Option<f64>>();
        let generator_cpu_s = cpu(after.generator, before.generator);
        let others_cpu_s = (|| {
            let busy = after.machine_busy_s? - before.machine_busy_s?;
            Some((busy - server_cpu_s? - generator_cpu_s?).max(0.0))
        })();
        Ok(Phase {
            tally,
            latency: self.stats.latency.summary(),
            elapsed,
            server_cpu_s,
            server_rss_kib: after.server.map(|u| u.rss_kib),
            parts_cpu_s,
            generator_cpu_s,
            others_cpu_s,
        })
    }

    /// The servers', the generator's and the machine's usage right now.
    pub fn snapshot(&self) -> Snapshot {
        let servers: Vec<Option<Usage>> = self.servers.iter().map(Server::usage).collect();
        let helpers = self.helpers.iter().map(|&pid| Usage::of_tree(pid));
        Snapshot {
            server: Usage::sum(servers.iter().copied()),
            parts: servers.into_iter().chain(helpers).collect(),
            generator: Usage::of_self(),
            machine_busy_s: machine_busy_s(),
        }
    }
}
