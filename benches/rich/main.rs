//! The rich-messages bench: a reader away while a room changed 10,000
//! times comes back and resumes with `since`, against replaying the same
//! changes frame by frame as they were broadcast.
//!
//! `cargo bench --bench rich -- [OPTIONS]`; `--help` lists them. It starts
//! `target/release/lanchat` (or `LANCHAT_BENCH_BINARY`) on a loopback port
//! with a temp history file; people (owned names) write the lobby through
//! the WebSocket ([`mix`]: messages, edits, deletions, reactions on and
//! off, mostly on the newest messages) while a watcher stays connected and
//! keeps every change frame it hears. Then:
//!
//! - **resume**: the reader reconnects with `since` the seq it had, several
//!   times; each is timed from the TCP connect to the `history` frame, the
//!   last of the resume, and its text bytes are counted;
//! - **the log, frame by frame**: the watcher's frames since that seq, what
//!   a naive replay would send, counted and applied to the reader's old
//!   state ([`state`]);
//! - **the check**: a fresh client pages the whole history; the resumed
//!   state must equal it message for message, and the frame-by-frame state
//!   must show the same text, HTML, deletions and reactions.
//!
//! The ingest side of rich messages (markdown against plain text) is the
//! fan-out bench's: `cargo bench --bench fanout -- ingest --text plain,markdown`.

#[path = "../search/chat.rs"]
#[allow(dead_code)] // the search bench uses the rest
mod chat;
#[path = "../fanout/client.rs"]
#[allow(dead_code)] // the fan-out bench uses the rest
mod client;
mod mix;
#[path = "../fanout/report.rs"]
#[allow(dead_code)] // the fan-out bench uses the rest
mod report;
mod state;
#[path = "../fanout/target.rs"]
#[allow(dead_code)] // the fan-out bench uses the rest
mod target;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use serde_json::{Value, json};

use crate::chat::{Arrival, Owner};
use crate::mix::Mix;
use crate::state::Room;
use crate::target::{Kind, Server, Source, Usage, machine_busy_s};

/// The frames that carry a change of the room's log.
const CHANGE_FRAMES: [&str; 4] = ["message", "edit", "delete", "react"];
/// The largest page a `history` request gets.
const PAGE: u64 = 200;

/// Rich-messages bench for lanchat: resuming after many changes.
#[derive(Debug, Parser)]
#[command(name = "rich")]
struct Args {
    /// Changes made while the reader is away.
    #[arg(long, default_value_t = 10_000)]
    changes: usize,
    /// Changes (the same mix) before the reader leaves.
    #[arg(long, default_value_t = 500)]
    before: usize,
    /// People writing, each with an owned name.
    #[arg(long, default_value_t = 8)]
    people: usize,
    /// Times the reader resumes, each timed.
    #[arg(long, default_value_t = 10)]
    resumes: usize,
    /// Most seconds the writing may take before the bench gives up.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Where the server's log goes.
    #[arg(long, default_value = "target/bench/rich")]
    out: PathBuf,

    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average: {}", load.trim());
    let server = Server::start(Kind::Lanchat, &Source::Spawn, &args.out, &[])?;
    let addr = server.addr;
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut people = Vec::new();
    for person in 0..args.people {
        people.push(Owner::connect(addr, &format!("p{person}"), None).await?);
    }
    let watcher = Owner::connect(addr, "watcher", None).await?;
    let heard = tokio::spawn(hear(watcher, args.before + args.changes));
    let mut mix = Mix::new(args.people, []);
    write(&mut people, &mut mix, args.before, deadline).await?;

    let (reader, since, token) = full_history(addr, "reader", None).await?;
    let started = Instant::now();
    write(&mut people, &mut mix, args.changes, deadline).await?;
    let written = started.elapsed();
    println!(
        "{} changes written in {:.1} s ({:.0}/s), the reader away since seq {since}",
        args.changes,
        written.as_secs_f64(),
        args.changes as f64 / written.as_secs_f64()
    );
    let heard = heard.await.context("the watcher panicked")??;
    let live: Vec<&(u64, String)> = heard.iter().filter(|(seq, _)| *seq > since).collect();

    // Resume, several times, each from the same old state.
    let mut times = Vec::new();
    let mut bytes = 0;
    let mut resumed = Room::default();
    let mut replayed = 0;
    let server_before = server.usage().unwrap_or_default();
    let busy_before = machine_busy_s().unwrap_or_default();
    let ours_before = Usage::of_self().unwrap_or_default();
    for _ in 0..args.resumes {
        let started = Instant::now();
        let (owner, arrival) = Owner::arrive(addr, "reader", Some(&token), Some(since)).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        bytes = owner.received;
        drop(owner);
        if arrival.history["has_more"] == true {
            bail!(
                "the resume was cut at the server's cap (has_more): {} messages",
                messages(&arrival.history)
            );
        }
        replayed = messages(&arrival.history);
        resumed = reader.clone();
        resumed.absorb(&arrival.history);
        // Let the connection's leave settle before the next one.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let server_cpu_s = server.usage().unwrap_or_default().cpu_since(&server_before);
    let ours = Usage::of_self().unwrap_or_default().cpu_since(&ours_before);
    let others_cpu_s =
        (machine_busy_s().unwrap_or_default() - busy_before - server_cpu_s - ours).max(0.0);

    // What each way costs the client: parse, then apply.
    let (_, last) = Owner::arrive(addr, "reader", Some(&token), Some(since)).await?;
    let resume_text = last.history.to_string();
    let cpu = Instant::now();
    let mut again = reader.clone();
    again.absorb(&serde_json::from_str(&resume_text)?);
    let resume_apply = cpu.elapsed();
    let cpu = Instant::now();
    let mut naive = reader.clone();
    for (_, text) in &live {
        naive.apply(&serde_json::from_str(text)?);
    }
    let naive_apply = cpu.elapsed();
    let naive_bytes: usize = live.iter().map(|(_, text)| text.len()).sum();

    let (fresh, ..) = full_history(addr, "fresh", None).await?;
    let resume_equal = resumed.messages == fresh.messages && again == resumed;
    let naive_equal = naive.view() == fresh.view();
    let changed = fresh
        .messages
        .values()
        .filter(|message| message["version"].as_u64() > Some(since))
        .count();

    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let max = times[times.len() - 1];
    println!("\n## Resume after {} changes\n", args.changes);
    println!(
        "{} messages in the room, {changed} of them changed while away; others' CPU during the \
         resumes {others_cpu_s:.2} s\n",
        fresh.messages.len()
    );
    println!("| figure | resume (`since`) | the log, frame by frame | log / resume |");
    println!("|---|---:|---:|---:|");
    println!(
        "| frames | 2 (`welcome`, `history` with {replayed} messages) | {} | |",
        live.len()
    );
    println!(
        "| text bytes | {} | {} | {:.1}× |",
        report::number(bytes as f64),
        report::number(naive_bytes as f64),
        naive_bytes as f64 / bytes as f64
    );
    println!(
        "| connect to the last frame, median / max of {} (ms) | {median:.1} / {max:.1} | \
         (not offered by the server) | |",
        times.len()
    );
    println!(
        "| server CPU per resume (ms) | {:.1} | | |",
        server_cpu_s * 1000.0 / args.resumes as f64
    );
    println!(
        "| client: parse and apply (ms) | {:.1} | {:.1} | {:.1}× |",
        ms(resume_apply),
        ms(naive_apply),
        naive_apply.as_secs_f64() / resume_apply.as_secs_f64()
    );
    println!(
        "| state equals a fresh client's full history | {} | {} (text, HTML, deletions, reactions) | |",
        yes(resume_equal),
        yes(naive_equal)
    );
    if !resume_equal || !naive_equal {
        bail!("a client's state differs from the fresh client's full history");
    }
    Ok(())
}

/// Makes `count` changes drawn from `mix`, each answered before the next.
async fn write(
    people: &mut [Owner],
    mix: &mut Mix,
    count: usize,
    deadline: Instant,
) -> anyhow::Result<()> {
    for _ in 0..count {
        if Instant::now() > deadline {
            bail!("the changes took longer than --timeout");
        }
        let change = mix.next();
        let answer = people[change.person].act(&change.frame).await?;
        mix.stored(&change, &answer);
    }
    Ok(())
}

/// The watcher: keeps every change frame until it has heard `count`, with
/// the seq of each.
async fn hear(mut watcher: Owner, count: usize) -> anyhow::Result<Vec<(u64, String)>> {
    let mut heard = Vec::with_capacity(count);
    while heard.len() < count {
        let text = watcher.next_text().await?;
        let frame: Value = serde_json::from_str(&text)?;
        let is_change = CHANGE_FRAMES.iter().any(|kind| frame["type"] == *kind);
        if let (true, Some(seq)) = (is_change, frame["seq"].as_u64()) {
            heard.push((seq, text));
        }
    }
    Ok(heard)
}

/// Connects as `name` and pages the lobby back to its first message: the
/// whole room, the seq it is at (the `welcome`'s), and the name's token.
async fn full_history(
    addr: SocketAddr,
    name: &str,
    token: Option<&str>,
) -> anyhow::Result<(Room, u64, String)> {
    let (mut owner, Arrival { welcome, history }) = Owner::arrive(addr, name, token, None).await?;
    let seq = welcome["seq"].as_u64().context("a welcome without seq")?;
    let mut room = Room::default();
    room.absorb(&history);
    let mut page = history;
    while page["has_more"] == true {
        let oldest = room.messages.keys().next().copied().unwrap_or_default();
        let ask = json!({"type":"history","before":oldest,"limit":PAGE});
        page = owner.ask(&ask, "history").await?;
        room.absorb(&page);
    }
    Ok((room, seq, owner.token.clone()))
}

fn messages(history: &Value) -> usize {
    history["messages"].as_array().map_or(0, Vec::len)
}

fn ms(took: Duration) -> f64 {
    took.as_secs_f64() * 1000.0
}

fn yes(met: bool) -> &'static str {
    if met { "yes" } else { "no" }
}
