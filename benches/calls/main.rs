//! The calls bench: one presenter sharing a screen at a fixed bitrate to N
//! viewers through lanchat's SFU, and the chat beside it.
//!
//! `cargo bench --bench calls -- [--receivers 1,10,30] [--kbps 2000]
//! [--fps 15] [--seconds 10]`. For each N it starts `target/release/lanchat`
//! fresh (loopback, `--rtc-address 127.0.0.1`), connects a presenter and N
//! viewers ([`peer`]: real lanchat users with str0m sessions of their own,
//! which do not decode, so thirty fit beside the server), waits until every
//! viewer has a picture, and measures for `--seconds`:
//!
//! - the server's CPU per forwarded Mbit/s (N × the share's bitrate);
//! - each viewer's frame loss (frames sent in the window it never got);
//! - the end-to-end delay of every frame (each carries the time it was sent;
//!   sender and viewers share this process's clock), p50, p95 and max: what
//!   the SFU adds, as the clients do nothing but packetise;
//! - the server's memory per participant (resident memory in the call less
//!   before it, over N + 1).
//!
//! Then the chat: the p99 delivery time of lobby messages (20 clients, 100
//! messages a second) with no call, and again with the largest call going.
//! The machine is shared: the load average is printed with the figures.

mod chat;
/// The server's own WebRTC crypto (str0m is built with none).
#[path = "../../src/calls/crypto/mod.rs"]
#[allow(dead_code, unused_imports)] // its unit tests are not run here
mod crypto;
mod peer;
#[path = "../fanout/target.rs"]
#[allow(dead_code)]
mod target;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use tokio::sync::{mpsc, oneshot};

use crate::peer::{Sent, Share};
use crate::target::{Server, Usage, machine_busy_s, start_lanchat};

/// Screen share through the SFU to N viewers, and the chat beside it.
#[derive(Debug, Parser)]
#[command(name = "calls")]
struct Args {
    /// Viewers of each run (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 10, 30])]
    receivers: Vec<usize>,
    /// The share's bitrate, kbit/s.
    #[arg(long, default_value_t = 2000)]
    kbps: u32,
    /// The share's frames a second.
    #[arg(long, default_value_t = 15)]
    fps: u32,
    /// Seconds measured in each run.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Skip the chat's p99 beside the call.
    #[arg(long)]
    no_chat: bool,
    /// Cargo passes this to every bench.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The targets, for 30 viewers of a 2 Mbit/s share.
const TARGET_LOSS_PCT: f64 = 1.0;
const TARGET_P95_MS: f64 = 50.0;
const TARGET_CHAT_RATIO: f64 = 2.0;
/// The longest the presenter may take to be in its call, and then its
/// viewers to have a picture.
const SETTLE: Duration = Duration::from_secs(60);
/// After the measured window: frames on their way still arrive.
const DRAIN: Duration = Duration::from_secs(1);
/// The server's SFU thread, by the name `/proc` shows.
const SFU_THREAD: &str = "lanchat-sfu";

/// One run's figures.
struct Run {
    receivers: usize,
    /// Frames the presenter sent in the window.
    frames: u64,
    /// Server CPU in the window, % of one core.
    cpu_pct: f64,
    /// The share's payload the viewers received, over the window.
    forwarded_mbps: f64,
    loss_mean_pct: f64,
    loss_max_pct: f64,
    /// p50, p95 and max of every frame every viewer received.
    delay_ms: [f64; 3],
    rss_per_participant_kib: f64,
    /// CPU-seconds the bench's own clients used in the window, and every
    /// other process on the machine (not the server, not the bench).
    bench_cpu_s: f64,
    others_cpu_s: f64,
    /// The SFU thread's time in the window: on a core, and runnable but
    /// waiting for one (ms). A long wait means the machine starved it.
    sfu_ran_ms: f64,
    sfu_waited_ms: f64,
}

impl Run {
    /// Server CPU (% of a core) per Mbit/s received; NaN when nothing was.
    fn cpu_per_mbps(&self) -> f64 {
        if self.forwarded_mbps > 0.0 {
            self.cpu_pct / self.forwarded_mbps
        } else {
            f64::NAN
        }
    }

    fn met(&self) -> bool {
        self.loss_max_pct < TARGET_LOSS_PCT && self.delay_ms[1] < TARGET_P95_MS
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.receivers.is_empty() || args.fps == 0 || args.seconds <= 0.0 {
        bail!("--receivers, --fps and --seconds need values above zero");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!(
        "calls bench: one presenter, a {} kbit/s {} fps screen share, {} s measured; \
         load average before: {}",
        args.kbps,
        args.fps,
        args.seconds,
        load_average()
    );
    let mut runs = Vec::new();
    for &receivers in &args.receivers {
        let run = runtime.block_on(measure(&args, receivers))?;
        print_run(&run);
        runs.push(run);
    }
    let chat = if args.no_chat {
        None
    } else {
        let largest = args.receivers.iter().copied().max().unwrap_or(30);
        Some(runtime.block_on(chat_beside_a_call(&args, largest))?)
    };
    print_table(&args, &runs, chat);
    println!("load average after: {}", load_average());
    Ok(())
}

fn lanchat() -> anyhow::Result<Server> {
    let logs = std::env::temp_dir().join("lanchat-calls-bench.log");
    start_lanchat(
        &logs,
        &[
            "--memory",
            "--rtc-address",
            "127.0.0.1",
            "--screen-kbps",
            "50000",
        ]
        .map(String::from),
    )
}

/// A call of one presenter and `receivers` viewers, running until the
/// stop flag is set.
struct Call {
    stop: Arc<AtomicBool>,
    counting: Arc<AtomicBool>,
    presenter: tokio::task::JoinHandle<anyhow::Result<Sent>>,
    viewers: Vec<tokio::task::JoinHandle<anyhow::Result<peer::Seen>>>,
}

impl Call {
    /// Stops the presenter and the viewers and waits for them.
    async fn end(self) -> anyhow::Result<(Sent, Vec<peer::Seen>)> {
        self.stop.store(true, Ordering::Relaxed);
        let sent = self.presenter.await??;
        let mut seen = Vec::new();
        for viewer in self.viewers {
            seen.push(viewer.await??);
        }
        Ok((sent, seen))
    }
}

async fn start_call(
    server: &Server,
    receivers: usize,
    share: Share,
    start: Instant,
) -> anyhow::Result<Call> {
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let room = "share";
    let (ready, in_call) = oneshot::channel();
    let mut presenter = tokio::spawn(peer::present(
        server.addr,
        room,
        share,
        start,
        counting.clone(),
        stop.clone(),
        ready,
    ));
    // The room and its call exist once the presenter is in it.
    if tokio::time::timeout(SETTLE, in_call).await.is_err() {
        stop.store(true, Ordering::Relaxed);
        if presenter.is_finished() {
            (&mut presenter).await??;
        }
        bail!("the presenter was not in its call after {SETTLE:?}");
    }
    let (first, mut pictures) = mpsc::unbounded_channel();
    let mut viewers = Vec::new();
    for index in 0..receivers {
        viewers.push(tokio::spawn(peer::watch(
            server.addr,
            room,
            format!("viewer{index}"),
            start,
            stop.clone(),
            first.clone(),
        )));
    }
    let deadline = tokio::time::Instant::now() + SETTLE;
    let mut with_picture = 0;
    while with_picture < receivers {
        match tokio::time::timeout_at(deadline, pictures.recv()).await {
            Ok(Some(_)) => with_picture += 1,
            _ => {
                stop.store(true, Ordering::Relaxed);
                for viewer in viewers {
                    if let Ok(Err(err)) = viewer.await {
                        eprintln!("a viewer failed: {err:#}");
                    }
                }
                bail!("only {with_picture} of {receivers} viewers had a picture after {SETTLE:?}");
            }
        }
    }
    Ok(Call {
        stop,
        counting,
        presenter,
        viewers,
    })
}

async fn measure(args: &Args, receivers: usize) -> anyhow::Result<Run> {
    let server = lanchat()?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.usage().context("no /proc for the server")?;
    let start = Instant::now();
    let share = Share {
        kbps: args.kbps,
        fps: args.fps,
    };
    let call = start_call(&server, receivers, share, start).await?;
    // Settled: every viewer has a picture.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = server.pid().context("no pid for the server")?;
    let from = server.usage().context("no /proc for the server")?;
    let sfu_from = thread_sched_ns(pid, SFU_THREAD);
    let (machine_from, bench_from) = (machine_busy_s(), Usage::of_self());
    call.counting.store(true, Ordering::Relaxed);
    let window = Duration::from_secs_f64(args.seconds);
    tokio::time::sleep(window).await;
    call.counting.store(false, Ordering::Relaxed);
    let to = server.usage().context("no /proc for the server")?;
    let sfu_to = thread_sched_ns(pid, SFU_THREAD);
    let (machine_to, bench_to) = (machine_busy_s(), Usage::of_self());
    let (sfu_ran_ms, sfu_waited_ms) = match (sfu_from, sfu_to) {
        (Some(earlier), Some(later)) => (
            later.0.saturating_sub(earlier.0) as f64 / 1e6,
            later.1.saturating_sub(earlier.1) as f64 / 1e6,
        ),
        _ => (f64::NAN, f64::NAN),
    };
    let server_cpu_s = to.cpu_since(&from);
    let bench_cpu_s = match (bench_from, bench_to) {
        (Some(earlier), Some(later)) => later.cpu_since(&earlier),
        _ => f64::NAN,
    };
    let others_cpu_s = match (machine_from, machine_to) {
        (Some(earlier), Some(later)) => later - earlier - server_cpu_s - bench_cpu_s,
        _ => f64::NAN,
    };
    tokio::time::sleep(DRAIN).await;
    let (sent, seen) = call.end().await?;
    let frames = sent.last - sent.first + 1;
    let mut losses = Vec::new();
    let mut delays = Vec::new();
    let mut received = 0u64;
    for viewer in &seen {
        let mut got = HashSet::new();
        for &(number, delay) in &viewer.frames {
            if (sent.first..=sent.last).contains(&number) && got.insert(number) {
                delays.push(delay);
            }
        }
        received += got.len() as u64;
        losses.push(100.0 * (1.0 - got.len() as f64 / frames as f64));
    }
    delays.sort_unstable();
    let at = |q: f64| {
        delays
            .get(((delays.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let seconds = window.as_secs_f64();
    Ok(Run {
        receivers,
        frames,
        cpu_pct: server_cpu_s / seconds * 100.0,
        forwarded_mbps: (received * sent.frame_bytes as u64 * 8) as f64 / seconds / 1e6,
        loss_mean_pct: losses.iter().sum::<f64>() / losses.len().max(1) as f64,
        loss_max_pct: losses.iter().copied().fold(0.0, f64::max),
        delay_ms: [at(0.5), at(0.95), at(1.0)],
        rss_per_participant_kib: to.rss_kib.saturating_sub(before.rss_kib) as f64
            / (receivers + 1) as f64,
        bench_cpu_s,
        others_cpu_s,
        sfu_ran_ms,
        sfu_waited_ms,
    })
}

fn print_run(run: &Run) {
    println!(
        "{:>3} viewers: {} frames sent; server CPU {:.1} % of a core for {:.1} Mbit/s forwarded \
         ({:.2} % per Mbit/s); frame loss mean {:.2} %, worst viewer {:.2} %; \
         delay p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms; {:.0} KiB per participant; \
         CPU-s in the window: the bench's clients {:.1}, other processes {:.1}; \
         the SFU thread ran {:.0} ms and waited {:.0} ms for a core",
        run.receivers,
        run.frames,
        run.cpu_pct,
        run.forwarded_mbps,
        run.cpu_per_mbps(),
        run.loss_mean_pct,
        run.loss_max_pct,
        run.delay_ms[0],
        run.delay_ms[1],
        run.delay_ms[2],
        run.rss_per_participant_kib,
        run.bench_cpu_s,
        run.others_cpu_s,
        run.sfu_ran_ms,
        run.sfu_waited_ms,
    );
}

/// The figures as a markdown table, for `benches/README.md`, each beside
/// its target.
fn print_table(args: &Args, runs: &[Run], chat: Option<(f64, f64)>) {
    println!();
    println!(
        "| viewers | forwarded Mbit/s | server CPU % of a core | CPU % per Mbit/s | \
         frame loss mean / worst (%) | delay p50 / p95 / max (ms) | RSS per participant (KiB) | \
         SFU thread ran / waited for a core (ms) | target: loss < {TARGET_LOSS_PCT} %, p95 < {TARGET_P95_MS} ms |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for run in runs {
        let target = match (run.receivers, args.kbps) {
            (30, 2000) => {
                if run.met() {
                    "met"
                } else {
                    "not met"
                }
            }
            _ if run.met() => "(met; the target is for 30 at 2000 kbit/s)",
            _ => "(not met; the target is for 30 at 2000 kbit/s)",
        };
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.2} / {:.2} | {:.1} / {:.1} / {:.1} | {:.0} | {:.0} / {:.0} | {target} |",
            run.receivers,
            run.forwarded_mbps,
            run.cpu_pct,
            run.cpu_per_mbps(),
            run.loss_mean_pct,
            run.loss_max_pct,
            run.delay_ms[0],
            run.delay_ms[1],
            run.delay_ms[2],
            run.rss_per_participant_kib,
            run.sfu_ran_ms,
            run.sfu_waited_ms,
        );
    }
    if let Some((quiet, busy)) = chat {
        let ratio = busy / quiet.max(0.001);
        let met = if ratio <= TARGET_CHAT_RATIO {
            "met"
        } else {
            "not met"
        };
        println!();
        println!(
            "chat p99: {quiet:.1} ms with no call, {busy:.1} ms beside the call ({ratio:.2}x; \
             target within {TARGET_CHAT_RATIO}x: {met})"
        );
    }
}

/// The chat's p99 with no call, then beside a call of `receivers`, on one
/// server: (no call, beside the call) in ms.
async fn chat_beside_a_call(args: &Args, receivers: usize) -> anyhow::Result<(f64, f64)> {
    let server = lanchat()?;
    let window = Duration::from_secs_f64(args.seconds);
    let quiet = chat::p99(server.addr, window, "quiet").await?;
    let share = Share {
        kbps: args.kbps,
        fps: args.fps,
    };
    let call = start_call(&server, receivers, share, Instant::now()).await?;
    call.counting.store(true, Ordering::Relaxed);
    let busy = chat::p99(server.addr, window, "busy").await?;
    call.counting.store(false, Ordering::Relaxed);
    call.end().await?;
    println!(
        "chat p99: {quiet:.1} ms with no call, {busy:.1} ms beside a call of {receivers} viewers \
         ({:.2}x)",
        busy / quiet.max(0.001)
    );
    Ok((quiet, busy))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// Nanoseconds the thread `name` of process `pid` has run, and has waited
/// runnable for a core, from `/proc/<pid>/task/*/schedstat`.
fn thread_sched_ns(pid: u32, name: &str) -> Option<(u64, u64)> {
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let dir = task.ok()?.path();
        if std::fs::read_to_string(dir.join("comm")).ok()?.trim() == name {
            let stat = std::fs::read_to_string(dir.join("schedstat")).ok()?;
            let mut fields = stat.split_whitespace().map(|f| f.parse::<u64>().ok());
            return Some((fields.next()??, fields.next()??));
        }
    }
    None
}
