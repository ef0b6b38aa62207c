//! The fan-out bench: how many people lanchat serves and how fast messages
//! reach them, measured in the same run as two broadcast servers: the stock
//! warp design and a Node `ws` one.
//!
//! `cargo bench --bench fanout -- [MODE] [OPTIONS]`; `--help` lists them.
//! It starts `target/release/lanchat` (built by `cargo bench`) on an
//! ephemeral loopback port with a temp database, the warp design (this
//! binary again, `serve-warp`) and `benches/peers/server.js` (after `npm ci`
//! if needed), fresh for every measurement; or it targets running servers
//! given with `--url` and `--peer-url`.
//!
//! Modules: [`client`] (one WebSocket client, the clock, ledger and
//! histogram), [`fleet`] (many clients and the timed phases), [`target`]
//! (starting servers, reading `/proc`), [`report`] (table, CSV, chart),
//! [`cluster`] (two instances sharing PostgreSQL), [`postgres`] (a
//! private PostgreSQL for it) and [`warp_design`] (the warp peer).

mod client;
mod cluster;
mod fleet;
mod postgres;
mod report;
mod target;
mod warp_design;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};

use crate::client::{Body, Text};
use crate::fleet::{Fleet, Phase, Senders};
use crate::report::{Figure, Goal, Step, number};
use crate::target::{Kind, Server, Source, Usage};

/// Files a server process keeps open besides its clients (listener, epoll,
/// database, logs), with room to spare.
const FD_HEADROOM: u64 = 100;
/// A phase during which other processes used more CPU than this was
/// disturbed; a failing one is measured again, at most [`RETRIES`] times.
const DISTURBED_CPU_S: f64 = 1.0;
const RETRIES: usize = 2;

/// Whether something else on the machine took a real share of the CPU.
fn disturbed(phase: &Phase) -> bool {
    phase.others_cpu_s.is_some_and(|s| s > DISTURBED_CPU_S)
}

/// How long a server is left to settle after a phase before usage is read.
const SETTLE: Duration = Duration::from_secs(1);
/// How long a server just started is left to finish starting before its
/// baseline is read.
const START_PAUSE: Duration = Duration::from_millis(300);

/// Fan-out load generator for lanchat, the stock warp design and a Node `ws`
/// peer.
#[derive(Debug, Parser)]
#[command(name = "fanout")]
struct Args {
    /// What to measure.
    #[arg(value_enum, default_value_t = Mode::All)]
    mode: Mode,

    /// Clients (fixed: 1000; scale: 10000; ingest: receivers; cluster:
    /// 1000 for latency, spread over both instances).
    #[arg(long)]
    clients: Option<usize>,
    /// Clients that send (fixed: 10; ingest: 100; cluster: 10 for latency).
    #[arg(long)]
    senders: Option<usize>,
    /// Broadcasts per second, all senders together (fixed: 1000; scale: 5;
    /// cluster: 200).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of sending in each timed phase.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Characters of chat text in each message (filler text).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Ingest: what the messages say. Each value given (repeat the flag, or
    /// comma-separate) is measured apart, e.g. `--text plain,markdown`.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Text::Filler])]
    text: Vec<Text>,

    /// Ramp: clients added per step.
    #[arg(long, default_value_t = 1000)]
    step: usize,
    /// Ramp: broadcasts per second at each step, from random clients.
    #[arg(long, default_value_t = 5.0)]
    step_rate: f64,
    /// Ramp: seconds of broadcasting at each step.
    #[arg(long, default_value_t = 4.0)]
    step_duration: f64,
    /// Ramp: stop once p95 passes this many milliseconds.
    #[arg(long, default_value_t = 500.0)]
    p95_limit: f64,
    /// Ramp: most clients (default: the open-file limit less headroom).
    #[arg(long)]
    max_clients: Option<usize>,

    /// Ingest: unacknowledged messages each sender may have in flight. Each
    /// value given (repeat the flag, or comma-separate) is measured apart.
    #[arg(long, value_delimiter = ',', default_values_t = [2, 4])]
    window: Vec<usize>,

    /// Cluster: clients on the instance that is killed.
    #[arg(long, default_value_t = 200)]
    presence_clients: usize,
    /// Cluster: how many times that instance is killed (and started again).
    #[arg(long, default_value_t = 3)]
    kills: usize,

    /// Measure a running lanchat at this address (host:port or ws:// URL)
    /// instead of starting one.
    #[arg(long)]
    url: Option<String>,
    /// Measure a running peer at this address instead of starting one.
    #[arg(long)]
    peer_url: Option<String>,
    /// Skip the Node `ws` peer.
    #[arg(long)]
    no_peer: bool,
    /// Skip the stock warp design.
    #[arg(long)]
    no_warp: bool,
    /// Skip lanchat.
    #[arg(long)]
    no_lanchat: bool,
    /// Extra flag for the lanchat we start (repeat for more), e.g.
    /// `--server-arg=--memory` to measure without the disk.
    #[arg(long, allow_hyphen_values = true)]
    server_arg: Vec<String>,

    /// Start lanchat with --tls, and connect its clients over wss
    /// (trusting its local CA).
    #[arg(long)]
    tls: bool,

    /// Generator worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,

    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Everything below, as the README reports it.
    All,
    /// N clients, S senders, total rate R, for D seconds.
    Fixed,
    /// Fixed, at rising rates: the most deliveries/s with p99 ≤ 100 ms.
    Throughput,
    /// +1000 clients per step until p95 passes 500 ms or the fd limit.
    Ramp,
    /// 10k connects (time), idle RSS per connection, then latency at 5/s.
    Scale,
    /// 100 senders into 10 receivers, paced by acks (after commit).
    Ingest,
    /// Two instances sharing a private PostgreSQL: ingest against SQLite,
    /// latency within and across instances, presence after kill -9. Not
    /// part of `all`; needs PostgreSQL's binaries.
    Cluster,
    /// The cost of TLS: fixed and scale, lanchat without and with --tls,
    /// alternating (no peer), and the ratios. Not part of `all`.
    Tls,
    /// Redraw the ramp chart from target/bench/fanout-ramp-steps.csv (for
    /// steps gathered in several runs).
    Chart,
    /// Serve the stock warp design (the bench starts itself this way).
    #[value(hide = true)]
    ServeWarp,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.mode == Mode::ServeWarp {
        return warp_design::serve();
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

struct Bench {
    args: Args,
    /// Lanchat is started with `--tls` now (`--tls`, or the tls mode's
    /// second half).
    tls: bool,
    lanchat: Option<Source>,
    warp: Option<Source>,
    peer: Option<Source>,
    out: PathBuf,
    figures: Vec<Figure>,
    steps: Vec<Step>,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let out = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("bench");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let source = |url: &Option<String>| -> anyhow::Result<Source> {
        match url {
            None => Ok(Source::Spawn),
            Some(url) => parse_addr(url).map(Source::Running),
        }
    };
    let mut bench = Bench {
        lanchat: (!args.no_lanchat).then(|| source(&args.url)).transpose()?,
        warp: (!args.no_warp).then_some(Source::Spawn),
        peer: (!args.no_peer)
            .then(|| source(&args.peer_url))
            .transpose()?,
        out,
        figures: Vec::new(),
        steps: Vec::new(),
        tls: args.tls,
        args,
    };
    print_machine();
    let mode = bench.args.mode;
    if mode == Mode::Chart {
        let steps = report::read_steps(&bench.out.join("fanout-ramp-steps.csv"))?;
        bench.steps = steps;
        return bench.finish(mode);
    }
    if mode == Mode::Cluster {
        bench.cluster().await?;
        return bench.finish(mode);
    }
    if mode == Mode::Tls {
        bench.tls_cost().await;
        return bench.finish(mode);
    }
    let modes = [
        Mode::Scale,
        Mode::Fixed,
        Mode::Throughput,
        Mode::Ingest,
        Mode::Ramp,
    ];
    for part in modes
        .into_iter()
        .filter(|m| mode == Mode::All || mode == *m)
    {
        for (kind, source) in bench.kinds() {
            let result = match part {
                Mode::Scale => bench.scale(kind, &source).await,
                Mode::Fixed => bench.fixed(kind, &source).await,
                Mode::Throughput => bench.throughput(kind, &source).await,
                Mode::Ingest => bench.ingest(kind, &source).await,
                Mode::Ramp
                | Mode::All
                | Mode::Chart
                | Mode::Cluster
                | Mode::Tls
                | Mode::ServeWarp => bench.ramp(kind, &source).await,
            };
            // One server failing a part (say, cutting off clients it finds
            // too slow) leaves its rows empty; the rest still runs.
            if let Err(err) = result {
                bench.say(kind, format_args!("{part:?} stopped: {err:#}"));
            }
        }
    }
    bench.finish(mode)
}

/// The server's CPU microseconds per message sent in an ingest phase.
fn cpu_per_message_us(phase: &Phase) -> Option<f64> {
    Some(phase.server_cpu_s? * 1e6 / phase.tally.sent.max(1) as f64)
}

fn text_name(text: Text) -> String {
    format!("{text:?}").to_lowercase()
}

/// How long to time the renderer on one kind of text.
const RENDER_TIMING: Duration = Duration::from_secs(1);

/// `lanchat::render` on the bench's texts of `body`'s kind, in a loop on
/// this thread for [`RENDER_TIMING`] (no server running): the generator's
/// CPU microseconds per call, and the calls. Mentions resolve as the
/// bench's online clients would, without the hub's lookup.
fn render_cost(body: Body) -> (f64, u64) {
    let texts: Vec<String> = (0..4)
        .map(|id| client::chat_text(id, 1_764_000_000_000, id as usize, body))
        .collect();
    let resolve = |word: &str| word.starts_with('u').then(|| word.to_owned());
    let before = Usage::of_self().unwrap_or_default();
    let started = std::time::Instant::now();
    let mut calls = 0;
    while started.elapsed() < RENDER_TIMING {
        for text in &texts {
            std::hint::black_box(lanchat::render(std::hint::black_box(text), &resolve));
        }
        calls += texts.len() as u64;
    }
    let cpu_s = Usage::of_self().unwrap_or_default().cpu_since(&before);
    (cpu_s * 1e6 / calls as f64, calls)
}

/// Accepts `host:port`, `ws://host:port/...` or `http://host:port/...`; only
/// loopback addresses.
fn parse_addr(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let addr: SocketAddr = rest
        .parse()
        .with_context(|| format!("{url}: expected a loopback ip:port"))?;
    if !addr.ip().is_loopback() {
        bail!("{url}: the bench only sends traffic to loopback addresses");
    }
    Ok(addr)
}

fn print_machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let fds = target::open_file_limit().map_or("?".to_owned(), |n| n.to_string());
    println!("machine: {cores} cores ({cpu}), open-file limit {fds} per process");
}

impl Bench {
    fn kinds(&self) -> Vec<(Kind, Source)> {
        let mut kinds = Vec::new();
        if let Some(source) = &self.lanchat {
            kinds.push((Kind::Lanchat, source.clone()));
        }
        if let Some(source) = &self.warp {
            kinds.push((Kind::Warp, source.clone()));
        }
        if let Some(source) = &self.peer {
            kinds.push((Kind::Peer, source.clone()));
        }
        kinds
    }

    async fn fleet(&self, kind: Kind, source: &Source) -> anyhow::Result<Fleet> {
        let mut extra = self.args.server_arg.clone();
        if self.tls && kind == Kind::Lanchat {
            extra.push("--tls".to_owned());
        }
        let server = Server::start(kind, source, &self.out, &extra)?;
        tokio::time::sleep(START_PAUSE).await;
        Ok(Fleet::new(server, self.args.size))
    }

    fn figure(&mut self, figure: Figure) {
        self.figures.push(figure);
    }

    /// Sets `kind`'s value of the figure named `name`, adding the row if new.
    fn set(&mut self, name: &str, unit: &'static str, goal: Goal, kind: Kind, value: Option<f64>) {
        let tls_name;
        let name = if self.tls {
            tls_name = format!("TLS · {name}");
            tls_name.as_str()
        } else {
            name
        };
        let index = match self.figures.iter().position(|f| f.name == name) {
            Some(index) => index,
            None => {
                self.figure(Figure::new(name, unit, goal));
                self.figures.len() - 1
            }
        };
        let figure = &mut self.figures[index];
        match kind {
            Kind::Lanchat => figure.lanchat = value,
            Kind::Peer => figure.peer = value,
            Kind::Warp => figure.warp = value,
        }
    }

    fn set_text(&mut self, name: &str, kind: Kind, text: String) {
        if let Some(figure) = self.figures.iter_mut().find(|f| f.name == name) {
            match kind {
                Kind::Lanchat => figure.lanchat_text = Some(text),
                Kind::Peer => figure.peer_text = Some(text),
                Kind::Warp => figure.warp_text = Some(text),
            }
        }
    }

    /// Latency, delivery and server usage rows for one phase.
    fn phase_rows(&mut self, label: &str, kind: Kind, phase: &Phase, p50: Goal, p99: Goal) {
        let l = &phase.latency;
        self.set(&format!("{label}: p50"), "ms", p50, kind, Some(l.p50));
        self.set(
            &format!("{label}: p95"),
            "ms",
            Goal::None,
            kind,
            Some(l.p95),
        );
        self.set(&format!("{label}: p99"), "ms", p99, kind, Some(l.p99));
        self.set(
            &format!("{label}: max"),
            "ms",
            Goal::None,
            kind,
            Some(l.max),
        );
        let t = &phase.tally;
        self.set(
            &format!("{label}: delivered"),
            "%",
            Goal::AtLeast(100.0),
            kind,
            Some(100.0 * t.fraction()),
        );
        self.set(
            &format!("{label}: lost + extra"),
            "frames",
            Goal::AtMost(0.0),
            kind,
            Some((t.lost + t.extra) as f64),
        );
        self.set_costs(label, kind, phase);
    }

    /// What a phase cost the server, and how much else ran meanwhile.
    fn set_costs(&mut self, label: &str, kind: Kind, phase: &Phase) {
        self.set(
            &format!("{label}: server CPU"),
            "s",
            Goal::None,
            kind,
            phase.server_cpu_s,
        );
        self.set(
            &format!("{label}: server RSS"),
            "MiB",
            Goal::None,
            kind,
            phase.server_rss_kib.map(|k| k as f64 / 1024.0),
        );
        self.set(
            &format!("{label}: other processes' CPU (disturbance)"),
            "s",
            Goal::None,
            kind,
            phase.others_cpu_s,
        );
    }

    fn say(&self, kind: Kind, what: impl std::fmt::Display) {
        eprintln!("[{}] {what}", kind.name());
    }

    /// 10k connects, idle RSS per connection, and latency at 5 broadcasts/s.
    async fn scale(&mut self, kind: Kind, source: &Source) -> anyhow::Result<()> {
        let n = self.args.clients.unwrap_or(10_000);
        let rate = self.args.rate.unwrap_or(5.0);
        let label = format!("{}k clients, {rate}/s", n / 1000);
        let mut fleet = self.fleet(kind, source).await?;
        let idle_before = fleet.snapshot().server;
        let growth = fleet.grow(n).await?;
        self.say(
            kind,
            format_args!(
                "{n} upgraded in {:.2} s, welcomed in {:.2} s",
                growth.upgraded.as_secs_f64(),
                growth.ready.as_secs_f64()
            ),
        );
        let settled = fleet.barrier().await?;
        tokio::time::sleep(SETTLE).await;
        let idle_after = fleet.snapshot().server;
        self.set(
            &format!("connect: {n} upgraded"),
            "s",
            Goal::AtMost(2.0),
            kind,
            Some(growth.upgraded.as_secs_f64()),
        );
        self.set(
            &format!("connect: {n} welcomed"),
            "s",
            Goal::None,
            kind,
            Some(growth.ready.as_secs_f64()),
        );
        self.set(
            &format!("connect: {n} settled (all presence delivered)"),
            "s",
            Goal::None,
            kind,
            Some((growth.ready + settled).as_secs_f64()),
        );
        let per_conn = match (idle_before, idle_after) {
            (Some(b), Some(a)) => Some(a.rss_kib.saturating_sub(b.rss_kib) as f64 / n as f64),
            _ => None,
        };
        self.say(
            kind,
            format_args!("idle RSS per connection: {per_conn:?} KiB"),
        );
        self.set(
            &format!("idle: RSS per connection at {n}"),
            "KiB",
            Goal::AtMost(16.0),
            kind,
            per_conn,
        );
        let duration = Duration::from_secs_f64(self.args.duration);
        let phase = fleet.broadcast_at(Senders::Random, rate, duration).await?;
        self.say(
            kind,
            format_args!(
                "{label}: {:?}, delivered {:.4}, others' CPU {:?} s",
                phase.latency,
                phase.tally.fraction(),
                phase.others_cpu_s
            ),
        );
        let (p50, p99) = if n == 10_000 && rate == 5.0 {
            (Goal::AtMost(20.0), Goal::AtMost(40.0))
        } else {
            (Goal::None, Goal::None)
        };
        self.phase_rows(&label, kind, &phase, p50, p99);
        Ok(())
    }

    /// The tls mode: fixed, then scale, each once without TLS and once with
    /// it, back to back so both see the same machine; then the ratios.
    async fn tls_cost(&mut self) {
        let source = self.lanchat.clone().unwrap_or(Source::Spawn);
        for part in [Mode::Fixed, Mode::Scale] {
            for tls in [false, true] {
                self.tls = tls;
                let result = match part {
                    Mode::Fixed => self.fixed(Kind::Lanchat, &source).await,
                    _ => self.scale(Kind::Lanchat, &source).await,
                };
                if let Err(err) = result {
                    self.say(
                        Kind::Lanchat,
                        format_args!("{part:?} (TLS {tls}) stopped: {err:#}"),
                    );
                }
            }
        }
        self.tls = false;
        let value = |bench: &Bench, name: &str| {
            bench
                .figures
                .iter()
                .find(|f| f.name == name)
                .and_then(|f| f.lanchat)
        };
        let n = self.args.clients;
        let fixed = format!(
            "{} clients, {} senders, {}/s",
            n.unwrap_or(1000),
            self.args.senders.unwrap_or(10),
            self.args.rate.unwrap_or(1000.0)
        );
        let scale_n = n.unwrap_or(10_000);
        for (what, name) in [
            ("deliveries/s", format!("{fixed}: deliveries/s")),
            ("p99", format!("{fixed}: p99")),
            (
                "idle RSS per connection",
                format!("idle: RSS per connection at {scale_n}"),
            ),
            (
                "scale p99",
                format!(
                    "{}k clients, {}/s: p99",
                    scale_n / 1000,
                    self.args.rate.unwrap_or(5.0)
                ),
            ),
        ] {
            let plain = value(self, &name);
            let tls = value(self, &format!("TLS · {name}"));
            if let (Some(plain), Some(tls)) = (plain, tls) {
                println!(
                    "TLS/plain, {what}: {:.3}× ({} against {})",
                    tls / plain,
                    number(tls),
                    number(plain)
                );
            } else {
                println!("TLS/plain, {what}: not measured ({name})");
            }
        }
    }

    /// N clients, S senders, total rate R.
    async fn fixed(&mut self, kind: Kind, source: &Source) -> anyhow::Result<()> {
        let n = self.args.clients.unwrap_or(1000);
        let senders = self.args.senders.unwrap_or(10);
        let rate = self.args.rate.unwrap_or(1000.0);
        let label = format!("{n} clients, {senders} senders, {rate}/s");
        let target = n == 1000 && rate >= 1000.0;
        let mut fleet = self.fleet(kind, source).await?;
        let phase = self.fixed_phase(&mut fleet, n, senders, rate).await?;
        self.say(
            kind,
            format_args!(
                "{label}: {:.0} deliveries/s, {:?}, {:?}, generator CPU {:?} s",
                phase.deliveries_per_s(),
                phase.latency,
                phase.tally,
                phase.generator_cpu_s
            ),
        );
        // Offered load caps this at rate × clients; the throughput mode
        // finds the most the server sustains.
        self.set(
            &format!("{label}: deliveries/s"),
            "1/s",
            Goal::None,
            kind,
            Some(phase.deliveries_per_s()),
        );
        let p99 = if target {
            Goal::AtMost(100.0)
        } else {
            Goal::None
        };
        self.phase_rows(&label, kind, &phase, Goal::None, p99);
        self.set(
            &format!("{label}: generator CPU"),
            "s",
            Goal::None,
            kind,
            phase.generator_cpu_s,
        );
        Ok(())
    }

    /// Grows `fleet` to `n` clients, then the first `senders` broadcast at
    /// `rate` in all for `--duration`.
    async fn fixed_phase(
        &self,
        fleet: &mut Fleet,
        n: usize,
        senders: usize,
        rate: f64,
    ) -> anyhow::Result<Phase> {
        fleet.grow(n).await?;
        fleet.barrier().await?;
        let duration = Duration::from_secs_f64(self.args.duration);
        fleet
            .broadcast_at(Senders::First(senders), rate, duration)
            .await
    }

    /// The fixed setup at rising rates, each for at most 5 s: the highest
    /// rate whose p99 stays within 100 ms with everything delivered.
    async fn throughput(&mut self, kind: Kind, source: &Source) -> anyhow::Result<()> {
        const RATES: [f64; 11] = [
            30.0, 60.0, 125.0, 250.0, 500.0, 750.0, 1000.0, 1250.0, 1500.0, 2000.0, 3000.0,
        ];
        const P99_LIMIT_MS: f64 = 100.0;
        let n = self.args.clients.unwrap_or(1000);
        let senders = self.args.senders.unwrap_or(10);
        let name = format!("{n} clients: most deliveries/s with p99 ≤ {P99_LIMIT_MS} ms");
        let goal = if n == 1000 {
            Goal::AtLeast(1_000_000.0)
        } else {
            Goal::None
        };
        let mut fleet = self.fleet(kind, source).await?;
        fleet.grow(n).await?;
        fleet.barrier().await?;
        let duration = Duration::from_secs_f64(self.args.duration.min(5.0));
        let mut best: Option<f64> = None;
        for rate in RATES {
            let mut attempt = 0;
            let (phase, passed) = loop {
                let phase = fleet
                    .broadcast_at(Senders::First(senders), rate, duration)
                    .await?;
                let passed = phase.latency.p99 <= P99_LIMIT_MS && phase.tally.lost == 0;
                attempt += 1;
                if passed || !disturbed(&phase) || attempt > RETRIES {
                    break (phase, passed);
                }
                self.say(kind, format_args!("{rate}/s: disturbed, again"));
                fleet.barrier().await?;
            };
            let l = phase.latency;
            self.say(
                    kind,
                    format_args!(
                        "{rate}/s: {:.0} deliveries/s, p50 {:.1} p99 {:.1} ms, delivered {:.4}, others' CPU {:?} s: {}",
                        phase.deliveries_per_s(),
                        l.p50,
                        l.p99,
                        phase.tally.fraction(),
                        phase.others_cpu_s,
                        if passed { "pass" } else { "fail" }
                    ),
                );
            if !passed {
                break;
            }
            best = Some(phase.deliveries_per_s());
            fleet.barrier().await?;
        }
        self.set(&name, "1/s", goal, kind, Some(best.unwrap_or(0.0)));
        if best.is_none() {
            self.set_text(
                &name,
                kind,
                format!("< {}", report::number(RATES[0] * n as f64)),
            );
        }
        Ok(())
    }

    /// Senders paced by their acks, into a few receivers, at each window
    /// and with each kind of text; plain against markdown when both are
    /// given, and what lanchat's renderer alone costs for each.
    async fn ingest(&mut self, kind: Kind, source: &Source) -> anyhow::Result<()> {
        let texts = self.args.text.clone();
        for window in self.args.window.clone() {
            let mut rates = Vec::new();
            for &text in &texts {
                let phase = self.ingest_with(kind, source, window, text).await?;
                rates.push((text, phase.messages_per_s(), cpu_per_message_us(&phase)));
            }
            let of = |wanted: Text| rates.iter().find(|(text, ..)| *text == wanted);
            if let (Some(plain), Some(markdown)) = (of(Text::Plain), of(Text::Markdown)) {
                let label = self.ingest_label(window);
                self.set(
                    &format!("{label}: markdown against plain, msgs/s"),
                    "%",
                    Goal::AtLeast(-10.0),
                    kind,
                    Some(100.0 * (markdown.1 / plain.1 - 1.0)),
                );
                let extra = markdown.2.zip(plain.2).map(|(m, p)| m - p);
                self.set(
                    &format!("{label}: markdown less plain, server CPU per message"),
                    "µs",
                    Goal::None,
                    kind,
                    extra,
                );
            }
        }
        if kind == Kind::Lanchat {
            for text in texts {
                let (cpu_us, calls) = render_cost(Body {
                    text,
                    size: self.args.size,
                });
                self.say(
                    kind,
                    format_args!(
                        "render {text:?}: {cpu_us:.2} CPU-µs per message over {calls} calls"
                    ),
                );
                self.set(
                    &format!(
                        "lanchat::render alone, {}: CPU per message",
                        text_name(text)
                    ),
                    "µs",
                    Goal::None,
                    kind,
                    Some(cpu_us),
                );
            }
        }
        Ok(())
    }

    /// Ingest's senders and receivers: 100 and 10, or as given (in the
    /// ingest mode; the cluster mode's options are for its latency part).
    fn ingest_shape(&self) -> (usize, usize) {
        match self.args.mode {
            Mode::Cluster => (100, 10),
            _ => (
                self.args.senders.unwrap_or(100),
                self.args.clients.unwrap_or(10),
            ),
        }
    }

    fn ingest_label(&self, window: usize) -> String {
        let (senders, receivers) = self.ingest_shape();
        format!("ingest {senders}→{receivers}, window {window}")
    }

    async fn ingest_with(
        &mut self,
        kind: Kind,
        source: &Source,
        window: usize,
        text: Text,
    ) -> anyhow::Result<Phase> {
        let mut label = self.ingest_label(window);
        if text != Text::Filler {
            label = format!("{label}, {}", text_name(text));
        }
        let fleet = self.fleet(kind, source).await?.with_text(text);
        let goal = Goal::AtLeast(20_000.0);
        self.ingest_on(fleet, kind, &label, window, goal).await
    }

    /// Ingest with `fleet`'s servers: its rows under `label`, the acked
    /// rate's target `goal`.
    async fn ingest_on(
        &mut self,
        mut fleet: Fleet,
        kind: Kind,
        label: &str,
        window: usize,
        goal: Goal,
    ) -> anyhow::Result<Phase> {
        let (senders, receivers) = self.ingest_shape();
        fleet.grow(senders + receivers).await?;
        fleet.barrier().await?;
        let duration = Duration::from_secs_f64(self.args.duration);
        let phase = fleet.ingest(senders, window, duration).await?;
        self.say(
            kind,
            format_args!(
                "{label}: {:.0} msgs/s, {:?}, {:?}, server {:?} CPU-µs/msg, others' CPU {:?} s",
                phase.messages_per_s(),
                phase.latency,
                phase.tally,
                cpu_per_message_us(&phase),
                phase.others_cpu_s
            ),
        );
        self.set(
            &format!("{label}: acked msgs/s (lanchat: persisted)"),
            "1/s",
            goal,
            kind,
            Some(phase.messages_per_s()),
        );
        self.set(
            &format!("{label}: p99"),
            "ms",
            Goal::None,
            kind,
            Some(phase.latency.p99),
        );
        self.set(
            &format!("{label}: delivered"),
            "%",
            Goal::AtLeast(100.0),
            kind,
            Some(100.0 * phase.tally.fraction()),
        );
        self.set(
            &format!("{label}: server CPU per message"),
            "µs",
            Goal::None,
            kind,
            cpu_per_message_us(&phase),
        );
        self.set_costs(label, kind, &phase);
        Ok(phase)
    }

    /// The websocket-shootout method: add clients a step at a time, time
    /// broadcasts from random clients at each step, stop when p95 passes the
    /// limit or the next step would pass the open-file limit.
    async fn ramp(&mut self, kind: Kind, source: &Source) -> anyhow::Result<()> {
        let fd_cap = target::open_file_limit()
            .map_or(usize::MAX, |n| n.saturating_sub(FD_HEADROOM) as usize);
        let cap = self.args.max_clients.unwrap_or(fd_cap).min(fd_cap);
        let limit = self.args.p95_limit;
        let name = format!("ramp: most clients with p95 ≤ {limit} ms");
        let mut fleet = self.fleet(kind, source).await?;
        let mut passed = 0;
        let mut why = "fd limit";
        while fleet.len() < cap {
            let next = (fleet.len() + self.args.step).min(cap);
            let growth = match fleet.grow(next).await {
                Ok(growth) => growth,
                Err(err) => {
                    self.say(kind, format_args!("step {next}: {err:#}"));
                    why = "connect failed";
                    break;
                }
            };
            if let Err(err) = fleet.barrier().await {
                self.say(kind, format_args!("step {next}: {err:#}"));
                why = "presence did not settle";
                break;
            }
            let duration = Duration::from_secs_f64(self.args.step_duration);
            let mut attempt = 0;
            let phase = loop {
                let phase = fleet
                    .broadcast_at(Senders::Random, self.args.step_rate, duration)
                    .await?;
                let passed = phase.latency.p95 <= limit && phase.tally.lost == 0;
                attempt += 1;
                if passed || !disturbed(&phase) || attempt > RETRIES {
                    break phase;
                }
                self.say(kind, format_args!("step {next}: disturbed, again"));
                fleet.barrier().await?;
            };
            let l = phase.latency;
            self.say(
                    kind,
                    format_args!(
                        "step {next}: connect {:.2} s, p50 {:.1} p95 {:.1} p99 {:.1} max {:.1} ms, delivered {:.4}, rss {:?} KiB, others' CPU {:?} s",
                        growth.ready.as_secs_f64(),
                        l.p50,
                        l.p95,
                        l.p99,
                        l.max,
                        phase.tally.fraction(),
                        phase.server_rss_kib,
                        phase.others_cpu_s
                    ),
                );
            self.steps.push(Step {
                server: kind.name(),
                clients: next,
                p50_ms: l.p50,
                p95_ms: l.p95,
                p99_ms: l.p99,
                max_ms: l.max,
                delivered: phase.tally.fraction(),
                connect_s: growth.ready.as_secs_f64(),
                rss_mib: phase.server_rss_kib.map(|k| k as f64 / 1024.0),
                cpu_s: phase.server_cpu_s,
            });
            if l.p95 > limit || phase.tally.lost > 0 {
                why = if l.p95 > limit { "p95" } else { "lost frames" };
                break;
            }
            passed = next;
        }
        let text = if why == "fd limit" {
            format!("≥ {passed} (fd limit)")
        } else {
            format!("{passed} (then {why})")
        };
        self.say(kind, &text);
        self.set(
            &name,
            "clients",
            Goal::AtLeast(cap as f64),
            kind,
            Some(passed as f64),
        );
        self.set_text(&name, kind, text);
        Ok(())
    }

    /// The fan-out lead the issue asks for: lanchat's most deliveries/s
    /// against each peer's, as rows of their own with their targets (2× the
    /// warp design's, 10× ws's).
    fn lead_rows(&mut self) {
        let leads: Vec<(String, [Option<f64>; 3])> = self
            .figures
            .iter()
            .filter(|f| f.name.contains("most deliveries/s"))
            .map(|f| (f.name.clone(), [f.lanchat, f.warp, f.peer]))
            .collect();
        for (name, [lanchat, warp, ws]) in leads {
            for (peer, value, times) in [("the warp design", warp, 2.0), ("ws", ws, 10.0)] {
                if let (Some(lanchat), Some(peer_value)) = (lanchat, value)
                    && peer_value > 0.0
                {
                    let mut row = Figure::new(
                        format!("{name}: lanchat against {peer}"),
                        "×",
                        Goal::AtLeast(times),
                    );
                    row.lanchat = Some(lanchat / peer_value);
                    self.figure(row);
                }
            }
        }
    }

    fn finish(&mut self, mode: Mode) -> anyhow::Result<()> {
        self.lead_rows();
        let table = report::table(&self.figures);
        println!("\n{table}");
        let name = format!("{mode:?}").to_lowercase();
        let csv = self.out.join(format!("fanout-{name}.csv"));
        report::write_csv(&csv, &self.figures)?;
        println!("CSV: {}", csv.display());
        if !self.steps.is_empty() {
            let steps = self.out.join("fanout-ramp-steps.csv");
            report::write_steps(&steps, &self.steps)?;
            let svg = self.out.join("fanout-ramp.svg");
            let title = format!(
                "Broadcast latency at the recipient, {} broadcasts/s, 2 cores shared",
                self.args.step_rate
            );
            report::chart(&svg, &self.steps, &title)?;
            println!("steps: {}\nchart: {}", steps.display(), svg.display());
        }
        if let Some(usage) = Usage::of_self() {
            println!("generator: {:.1} CPU s in all", usage.cpu_s);
        }
        Ok(())
    }
}
