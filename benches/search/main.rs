//! The search bench: query latency over a million messages, the index's
//! size, and what indexing costs ingest.
//!
//! `cargo bench --bench search -- [OPTIONS]`; `--help` lists them. It
//! starts `target/release/lanchat` (or `LANCHAT_BENCH_BINARY`) on a loopback
//! port with a temp history file, writes generated chat ([`corpus`])
//! through the WebSocket as people would ([`chat`]), and then:
//!
//! - **ingest**: messages stored per second with the index and with
//!   `--no-search`, alternating, each on a fresh server;
//! - **queries**: twenty typical searches, each repeated, timed from
//!   sending the frame to reading the answer; and queries built to be slow;
//! - **size**: the index's pages (SQLite `dbstat`) against the bytes of
//!   message text.

mod chat;
mod corpus;
#[path = "../fanout/target.rs"]
#[allow(dead_code)] // the fan-out bench uses the rest
mod target;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;

use crate::chat::Owner;
use crate::corpus::{Corpus, Message};
use crate::target::{Kind, Server, Source, Usage, machine_busy_s};

/// The store's writer thread, as lanchat names it.
const WRITER_THREAD: &str = "lanchat-store";

/// The bars.
const P99_TARGET_MS: f64 = 50.0;
const INGEST_LOSS_TARGET: f64 = 0.15;

/// Twenty searches people make. `DAY` is today (UTC), when every message
/// of the run was sent.
const QUERIES: [&str; 20] = [
    "wifi password",
    "meeting tomorrow",
    "deploy",
    "\"pull request\"",
    "from:writer3 lunch",
    "in:#r2 printer",
    "has:link",
    "has:link docs",
    "mentions:me",
    "coffee",
    "会议",
    "assw",
    "bug from:writer1",
    "thanks",
    "release notes",
    "error in:#r5",
    "on:DAY standup",
    "from:writer6",
    "zanzibar",
    "ok",
];

/// Searches built to be slow or to break things; each must answer
/// promptly (results, or a refusal).
const HARD: [&str; 6] = [
    "a b c d e f g h i j k l m n o p q r s t",
    "the and you for not but are was can get all one now see how new who any",
    "zq",
    "e",
    "qxqxqx",
    "\"\" \" \"\"\" ** NEAR( AND OR",
];

/// Search bench for lanchat.
#[derive(Debug, Parser)]
#[command(name = "search")]
struct Args {
    /// Messages in the history that is searched.
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Messages per ingest measurement (with and without the index).
    #[arg(long, default_value_t = 200_000)]
    ingest: usize,
    /// Ingest measurements of each kind, alternating.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Times each query is timed (after one untimed run).
    #[arg(long, default_value_t = 25)]
    repeats: usize,
    /// Rooms, each written by its own owner at once.
    #[arg(long, default_value_t = 8)]
    rooms: usize,
    /// Messages each writer keeps unacknowledged.
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Where the server's log goes.
    #[arg(long, default_value = "target/bench/search")]
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
    let people: Vec<String> = (0..args.rooms)
        .map(|i| format!("writer{i}"))
        .chain(["searcher".to_owned()])
        .collect();
    let started = Instant::now();
    let mut corpus = Corpus::new(42);
    let history = corpus.messages(args.messages, args.rooms, &people);
    let text_bytes: usize = history.iter().map(|m| m.text.len()).sum();
    println!(
        "{} messages, {:.1} MB of text, generated in {:.1} s",
        history.len(),
        text_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let mut with_index = Vec::new();
    let mut without = Vec::new();
    let sample = &history[..args.ingest.min(history.len())];
    for round in 0..args.rounds {
        // Alternate which goes first, so drift in the machine evens out.
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for index in order {
            let flags: &[&str] = if index { &[] } else { &["--no-search"] };
            let server = start(&args, flags)?;
            let ingest = ingest(&server, sample, &args).await?;
            println!(
                "ingest {} index: {:.0} msgs/s, server {:.1} CPU-µs/msg, writer thread {:.1} \
                 ({:.2} CPU-s by others)",
                if index { "with" } else { "without" },
                ingest.rate,
                ingest.server_us,
                ingest.writer_us,
                ingest.others_cpu_s
            );
            if index { &mut with_index } else { &mut without }.push(ingest);
        }
    }

    let server = start(&args, &[])?;
    let full = ingest(&server, &history, &args).await?;
    println!("the history: {:.0} msgs/s with the index", full.rate);
    let mut searcher = Owner::connect(server.addr, "searcher", Some(&full.searcher_token)).await?;
    let day = today();
    let mut all = Vec::new();
    let mut rows = Vec::new();
    for query in QUERIES {
        let query = query.replace("DAY", &day);
        let (times, answer) = time(&mut searcher, &query, args.repeats).await?;
        let outcome = outcome(&answer);
        all.extend(&times);
        rows.push((
            query,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            outcome,
        ));
    }
    let mut hard_rows = Vec::new();
    for query in HARD {
        let (times, answer) = time(&mut searcher, query, 3).await?;
        hard_rows.push((query.to_owned(), percentile(&times, 1.0), outcome(&answer)));
    }
    let refusals = ["a ".repeat(2000), "\"".repeat(10_000)];
    for query in refusals {
        let (times, answer) = time(&mut searcher, &query, 3).await?;
        hard_rows.push((
            format!("{:.12}… ({} chars)", query, query.len()),
            percentile(&times, 1.0),
            outcome(&answer),
        ));
    }
    let (index_bytes, file_bytes, stored_text) = sizes(&server)?;

    println!(
        "\n## Queries over {} messages ({} runs each)\n",
        history.len(),
        args.repeats
    );
    println!("| query | p50 ms | p99 ms | answer |\n|---|---:|---:|---|");
    for (query, p50, p99, outcome) in &rows {
        println!("| `{query}` | {p50:.1} | {p99:.1} | {outcome} |");
    }
    println!("\n## Queries built to be slow (slowest of 3)\n");
    println!("| query | ms | answer |\n|---|---:|---|");
    for (query, worst, outcome) in &hard_rows {
        println!("| `{query}` | {worst:.1} | {outcome} |");
    }
    let p99 = percentile(&all, 0.99);
    let rates = |runs: &[Ingest]| runs.iter().map(|run| run.rate).collect::<Vec<_>>();
    let writer =
        |runs: &[Ingest]| median(&runs.iter().map(|run| run.writer_us).collect::<Vec<_>>());
    let server_cpu =
        |runs: &[Ingest]| median(&runs.iter().map(|run| run.server_us).collect::<Vec<_>>());
    let on = median(&rates(&with_index));
    let off = median(&rates(&without));
    let loss = 1.0 - on / off;
    println!("\n## Figures\n");
    println!("| figure | value | target | met |\n|---|---:|---|---|");
    println!(
        "| all typical queries, p50 | {:.1} ms | | |",
        percentile(&all, 0.5)
    );
    println!(
        "| all typical queries, p99 | {p99:.1} ms | < {P99_TARGET_MS} ms | {} |",
        yes(p99 < P99_TARGET_MS)
    );
    println!(
        "| index size / message text | {:.2}× ({:.0} MB / {:.0} MB) | | |",
        index_bytes as f64 / stored_text as f64,
        index_bytes as f64 / 1e6,
        stored_text as f64 / 1e6
    );
    println!(
        "| history file, all of it | {:.0} MB | | |",
        file_bytes as f64 / 1e6
    );
    println!(
        "| ingest with the index (median of {}) | {on:.0} msgs/s | | |",
        with_index.len()
    );
    println!("| ingest without (`--no-search`) | {off:.0} msgs/s | | |");
    println!(
        "| server CPU per message, with / without | {:.1} / {:.1} µs | | |",
        server_cpu(&with_index),
        server_cpu(&without)
    );
    println!(
        "| writer thread CPU per message, with / without | {:.1} / {:.1} µs | | |",
        writer(&with_index),
        writer(&without)
    );
    println!(
        "| ingest lost to indexing | {:.1} % | ≤ {:.0} % | {} |",
        loss * 100.0,
        INGEST_LOSS_TARGET * 100.0,
        yes(loss <= INGEST_LOSS_TARGET)
    );
    println!(
        "| the {}-message history, with the index | {:.0} msgs/s | | |",
        history.len(),
        full.rate
    );
    Ok(())
}

fn start(args: &Args, flags: &[&str]) -> anyhow::Result<Server> {
    let extra: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
    Server::start(Kind::Lanchat, &Source::Spawn, &args.out, &extra)
}

/// What writing a history measured.
struct Ingest {
    /// Messages stored per second, first sent to last acknowledged.
    rate: f64,
    /// CPU microseconds per message: the whole server, and its writer
    /// thread alone (which commits every message, and indexes it).
    server_us: f64,
    writer_us: f64,
    /// CPU seconds other processes used meanwhile.
    others_cpu_s: f64,
    searcher_token: String,
}

/// Writes `messages` to `server`: one owner per room, all at once.
async fn ingest(server: &Server, messages: &[Message], args: &Args) -> anyhow::Result<Ingest> {
    // The searcher owns its name and is in every room first, so mentions
    // of it count; it is away while the rooms fill up.
    let mut searcher = Owner::connect(server.addr, "searcher", None).await?;
    for room in 0..args.rooms {
        searcher.enter(&format!("r{room}")).await?;
    }
    let searcher_token = searcher.token.clone();
    drop(searcher);
    let mut writers = Vec::new();
    for room in 0..args.rooms {
        let mut owner = Owner::connect(server.addr, &format!("writer{room}"), None).await?;
        owner.enter(&format!("r{room}")).await?;
        let texts: Vec<String> = messages
            .iter()
            .filter(|m| m.sender == room)
            .map(|m| m.text.clone())
            .collect();
        writers.push((owner, texts));
    }
    let before = (
        server.usage().unwrap_or_default(),
        Usage::of_self().unwrap_or_default(),
    );
    let writer_before = server.thread_cpu_s(WRITER_THREAD).unwrap_or(0.0);
    let busy = machine_busy_s().unwrap_or(0.0);
    let started = Instant::now();
    let tasks: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(room, (mut owner, texts))| {
            let window = args.window;
            tokio::spawn(async move { owner.write(&format!("r{room}"), &texts, window).await })
        })
        .collect();
    for task in tasks {
        task.await.context("a writer panicked")??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = (
        server.usage().unwrap_or_default(),
        Usage::of_self().unwrap_or_default(),
    );
    let ours = after.0.cpu_since(&before.0) + after.1.cpu_since(&before.1);
    let others_cpu_s = (machine_busy_s().unwrap_or(0.0) - busy - ours).max(0.0);
    let per_message = |cpu_s: f64| cpu_s * 1e6 / messages.len() as f64;
    let writer_s = server.thread_cpu_s(WRITER_THREAD).unwrap_or(0.0) - writer_before;
    Ok(Ingest {
        rate: messages.len() as f64 / elapsed,
        server_us: per_message(after.0.cpu_since(&before.0)),
        writer_us: per_message(writer_s),
        others_cpu_s,
        searcher_token,
    })
}

/// Runs `query` once untimed, then `repeats` times; the times in ms and
/// the last answer.
async fn time(
    searcher: &mut Owner,
    query: &str,
    repeats: usize,
) -> anyhow::Result<(Vec<f64>, serde_json::Value)> {
    let (_, mut answer) = searcher.search(query).await?;
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let (took, reply) = searcher.search(query).await?;
        times.push(took.as_secs_f64() * 1000.0);
        answer = reply;
    }
    Ok((times, answer))
}

fn outcome(answer: &serde_json::Value) -> String {
    match answer["type"].as_str() {
        Some("search_results") => {
            let total = answer["total"].as_u64().unwrap_or(0);
            let partial = if answer["partial"] == true {
                ", partial"
            } else {
                ""
            };
            if total >= 1000 {
                format!("1,000+ found{partial}")
            } else {
                format!("{total} found{partial}")
            }
        }
        _ => format!("refused: {}", answer["message"].as_str().unwrap_or("?")),
    }
}

/// The index's bytes, the whole file's, and the stored text's, read from
/// the history file beside the running server (WAL readers see its last
/// commit).
fn sizes(server: &Server) -> anyhow::Result<(u64, u64, u64)> {
    let path = server.db_path().context("the server has no history file")?;
    let conn =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let index: i64 = conn.query_row(
        "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'search%'",
        [],
        |row| row.get(0),
    )?;
    let file: i64 = conn.query_row(
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        [],
        |row| row.get(0),
    )?;
    let text: i64 = conn.query_row(
        "SELECT sum(length(CAST(body AS BLOB))) FROM messages",
        [],
        |row| row.get(0),
    )?;
    Ok((index as u64, file as u64, text as u64))
}

/// Today in UTC, as the query language writes a date.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64;
    // Howard Hinnant's civil_from_days.
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn median(values: &[f64]) -> f64 {
    percentile(values, 0.5)
}

fn yes(met: bool) -> &'static str {
    if met { "yes" } else { "no" }
}
