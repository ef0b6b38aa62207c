//! The generator's WebSocket clients and what they record.
//!
//! Every broadcast's text starts with its stamp, `id.sent_us.sender` (after
//! a `~` or a word, see [`Text`]), where `sent_us` is read from the
//! generator's one clock. A recipient times the delivery against the same
//! clock, counts it in the [`Ledger`] under `id`, and drops every other frame
//! (welcome, history, join, leave) after a prefix check.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, Semaphore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Each client's read buffer, as the issue asks: small, like a phone's.
const READ_BUFFER: usize = 4 * 1024;
/// How long a client waits for its first frame (welcome) after the upgrade.
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(60);
/// Most broadcasts one run of the generator can track.
const LEDGER_CAPACITY: usize = 1 << 23;
/// Frames that can carry a timed broadcast start with this.
const MESSAGE_PREFIX: &str = r#"{"type":"message""#;
/// Where a message frame's text starts, in lanchat's frames and the peer's.
const TEXT_KEY: &str = r#""message":""#;
/// Most characters before the stamp's first digit in a message's text.
const STAMP_LEAD: usize = 3;

/// One-line chat that needs no markdown: lanchat renders it without
/// parsing (each passes `is_plain` in `src/text/markdown.rs`).
const PLAIN: [&str; 4] = [
    "ok so the build is green again, I will merge the branch after lunch if nobody minds, then tag the release",
    "did anyone see the printer on the second floor? it says paper jam but there is no paper in it at all",
    "meeting moved to 3pm because the room is taken, same link as last week, bring the numbers for the review",
    "thanks, that fixed it. the cache was stale after the deploy, clearing it by hand worked on the first try",
];

/// Chat written in markdown, of about the same length: bold, italic, code,
/// a fenced block, links, bare URLs, lists, a quote, emoji shortcodes and
/// mentions (`@u{n}`: the bench's clients, online, so each resolves).
const MARKDOWN: [&str; 4] = [
    "**build is green** again :tada: @u1 can you merge `rich-bench`? notes: [release](https://example.com/notes/42)",
    "todo for today:\n- fix the _flaky_ test\n- bump `tokio` to 1.40\n- ask @u2 about https://example.com/ci :eyes:",
    "printer again :(\n> it says *paper jam*\n\nno paper in it :thinking: @u3 see ~~the wiki~~ https://example.com/wiki/printer",
    "try this :+1:\n```\ncargo clean && cargo build --release\n```\nthen **restart** it, @u4 `cache` was stale",
];

/// What the text of a broadcast reads like after its stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Text {
    /// `~stamp~` and `x`s to `--size`: the bench's text from the start
    /// (the `~` sends it through lanchat's markdown parser).
    Filler,
    /// A line of plain words (about 100 characters).
    Plain,
    /// Markdown-heavy chat (about 100 characters).
    Markdown,
}

/// A broadcast's text: its kind, and for [`Text::Filler`] its length.
#[derive(Debug, Clone, Copy)]
pub struct Body {
    pub text: Text,
    pub size: usize,
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How a client reaches a server started with `--tls`: rustls, trusting
/// that server's local CA.
pub type Tls = Arc<rustls::ClientConfig>;

/// Latencies in microseconds, log-linear (1,024 sub-buckets per power of
/// two, so within 0.1 %), lock-free so every reader records directly.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    max: AtomicU64,
}

/// Percentiles of one measured phase, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Histogram {
    const SUB_BITS: u32 = 10;
    const LARGEST: u64 = 1 << 36;

    fn new() -> Self {
        let len = Self::index(Self::LARGEST) + 1;
        Histogram {
            buckets: (0..len).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
        }
    }

    fn index(us: u64) -> usize {
        let us = us.min(Self::LARGEST);
        if us < 2 << Self::SUB_BITS {
            return us as usize;
        }
        let shift = 63 - us.leading_zeros() - Self::SUB_BITS;
        ((shift as u64) << Self::SUB_BITS) as usize + (us >> shift) as usize
    }

    /// The smallest value that lands in bucket `index`.
    fn value_at(index: usize) -> u64 {
        let sub = 1usize << Self::SUB_BITS;
        if index < 2 * sub {
            return index as u64;
        }
        let shift = index / sub - 1;
        ((index - shift * sub) as u64) << shift
    }

    pub fn record(&self, us: u64) {
        self.buckets[Self::index(us)].fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(us, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        for bucket in self.buckets.iter() {
            bucket.store(0, Ordering::Relaxed);
        }
        self.max.store(0, Ordering::Relaxed);
    }

    pub fn summary(&self) -> Latency {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let count: u64 = counts.iter().sum();
        let at = |q: f64| {
            let rank = ((q * count as f64).ceil() as u64).max(1);
            let mut seen = 0;
            for (index, n) in counts.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return Self::value_at(index) as f64 / 1000.0;
                }
            }
            0.0
        };
        Latency {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: self.max.load(Ordering::Relaxed) as f64 / 1000.0,
        }
    }
}

/// How many times each broadcast was delivered, by broadcast id.
pub struct Ledger {
    counts: Box<[AtomicU32]>,
    next: AtomicU64,
}

/// Delivery counts over a range of broadcasts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    pub sent: u64,
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    pub extra: u64,
}

impl Tally {
    pub fn fraction(&self) -> f64 {
        if self.expected == 0 {
            return 1.0;
        }
        (self.delivered - self.extra) as f64 / self.expected as f64
    }
}

impl Ledger {
    fn new() -> Self {
        Ledger {
            counts: (0..LEDGER_CAPACITY).map(|_| AtomicU32::new(0)).collect(),
            next: AtomicU64::new(0),
        }
    }

    /// A fresh broadcast id, or `None` once the ledger is full.
    fn allocate(&self) -> Option<u64> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        ((id as usize) < self.counts.len()).then_some(id)
    }

    /// The next id to be handed out: ids below it have been allocated.
    pub fn mark(&self) -> u64 {
        self.next
            .load(Ordering::Relaxed)
            .min(self.counts.len() as u64)
    }

    fn count(&self, id: u64) -> u32 {
        self.counts
            .get(id as usize)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Sums deliveries of ids in `from..to`, each expected `per` times.
    pub fn tally(&self, from: u64, to: u64, per: u64) -> Tally {
        let mut tally = Tally {
            sent: to - from,
            expected: (to - from) * per,
            ..Tally::default()
        };
        for id in from..to {
            let got = u64::from(self.count(id));
            tally.delivered += got;
            tally.lost += per.saturating_sub(got);
            tally.extra += got.saturating_sub(per);
        }
        tally
    }
}

/// What every client shares: the clock, the ledger and the histograms.
pub struct Stats {
    clock: Instant,
    pub latency: Histogram,
    /// With clients spread over several instances (client `i` on instance
    /// `i % instances`), the same latencies again, split by whether the
    /// sender was on the recipient's instance or another.
    pub same_instance: Histogram,
    pub cross_instance: Histogram,
    instances: usize,
    pub ledger: Ledger,
    /// Broadcasts below this id are counted but not timed (barriers,
    /// earlier phases).
    timed_from: AtomicU64,
    /// Connections that ended while the bench still needed them.
    pub dropped: AtomicU64,
}

impl Stats {
    /// Stats for clients spread over `instances` servers, client `i` on
    /// server `i % instances`.
    pub fn spread(instances: usize) -> Arc<Self> {
        Arc::new(Stats {
            clock: Instant::now(),
            latency: Histogram::new(),
            same_instance: Histogram::new(),
            cross_instance: Histogram::new(),
            instances: instances.max(1),
            ledger: Ledger::new(),
            timed_from: AtomicU64::new(u64::MAX),
            dropped: AtomicU64::new(0),
        })
    }

    fn now_us(&self) -> u64 {
        self.clock.elapsed().as_micros() as u64
    }

    /// Starts timing: forgets latencies so far and times broadcasts from the
    /// next id on. Returns that id.
    pub fn start_timing(&self) -> u64 {
        let from = self.ledger.mark();
        self.timed_from.store(from, Ordering::Relaxed);
        self.latency.reset();
        self.same_instance.reset();
        self.cross_instance.reset();
        from
    }

    fn received(&self, text: &str, me: usize, acks: &Semaphore) {
        let Some(stamp) = parse_stamp(text) else {
            return;
        };
        if let Some(count) = self.ledger.counts.get(stamp.id as usize) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        if stamp.id >= self.timed_from.load(Ordering::Relaxed) {
            let us = self.now_us().saturating_sub(stamp.sent_us);
            self.latency.record(us);
            let n = self.instances;
            if n > 1 {
                let same = me % n == stamp.sender % n;
                let split = if same {
                    &self.same_instance
                } else {
                    &self.cross_instance
                };
                split.record(us);
            }
        }
        if stamp.sender == me {
            acks.add_permits(1);
        }
    }
}

struct Stamp {
    id: u64,
    sent_us: u64,
    sender: usize,
}

fn parse_stamp(text: &str) -> Option<Stamp> {
    if !text.starts_with(MESSAGE_PREFIX) {
        return None;
    }
    let body = &text[text.find(TEXT_KEY)? + TEXT_KEY.len()..];
    let start = body.find(|c: char| c.is_ascii_digit())?;
    if start > STAMP_LEAD {
        return None;
    }
    let stamp = &body[start..];
    let len = stamp
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(stamp.len());
    let mut fields = stamp[..len].split('.');
    let mut next = || fields.next()?.parse::<u64>().ok();
    Some(Stamp {
        id: next()?,
        sent_us: next()?,
        sender: next()? as usize,
    })
}

/// The text of broadcast `id`: its stamp, then `body`'s kind of chat
/// (the plain and markdown lines take turns by `id`).
pub fn chat_text(id: u64, sent_us: u64, sender: usize, body: Body) -> String {
    let stamp = format!("{id}.{sent_us}.{sender}");
    let pick = |lines: &[&'static str]| lines[id as usize % lines.len()];
    match body.text {
        Text::Filler => {
            let stamp = format!("~{stamp}~");
            let padding = body.size.saturating_sub(stamp.len());
            format!("{stamp}{}", "x".repeat(padding))
        }
        Text::Plain => format!("ok {stamp} {}", pick(&PLAIN)),
        Text::Markdown => format!("~{stamp}~ {}", pick(&MARKDOWN)),
    }
}

/// The chat message a client sends: lanchat's client frame. The peer passes
/// it on unchanged, so both servers carry the same bytes in. The texts need
/// no JSON escaping but the markdown's new lines.
fn message_text(id: u64, sent_us: u64, sender: usize, body: Body) -> String {
    let text = chat_text(id, sent_us, sender, body).replace('\n', "\\n");
    format!(r#"{{"type":"message","message":"{text}","cid":"{sender}-{id}"}}"#)
}

/// A WebSocket connection to `url` on `addr` (loopback only), as every
/// client of the bench makes it, over TLS with `tls`; for a client that
/// reads frames itself.
pub async fn open(addr: SocketAddr, url: &str, tls: Option<&Tls>) -> anyhow::Result<Ws> {
    let tcp = loopback_tcp(addr).await?;
    let stream = match tls {
        None => MaybeTlsStream::Plain(tcp),
        Some(config) => {
            let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
            let tls = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name, tcp)
                .await
                .context("TLS handshake failed")?;
            MaybeTlsStream::Rustls(tls)
        }
    };
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .context("WebSocket handshake failed")?;
    Ok(ws)
}

/// A TCP connection to `addr`, which must be a loopback address, with
/// TCP_NODELAY.
pub async fn loopback_tcp(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    if !addr.ip().is_loopback() {
        bail!("the bench only targets loopback addresses, not {addr}");
    }
    let tcp = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// One connected client: its write half, and the reader task that records
/// everything it receives.
pub struct Client {
    index: usize,
    sink: Mutex<SplitSink<Ws, Message>>,
    /// One permit per own message echoed back: the acknowledgement.
    pub acks: Arc<Semaphore>,
    reader: tokio::task::JoinHandle<()>,
}

/// How long one connect took.
pub struct Connected {
    pub client: Client,
    /// Until the `101 Switching Protocols`.
    pub upgraded: Duration,
    /// Until the first frame (lanchat's welcome, the peer's hello).
    pub ready: Duration,
}

impl Client {
    /// Connects client `index` to `url` (`ws://127.0.0.1:port/path`) and
    /// waits for its first frame.
    pub async fn connect(
        addr: SocketAddr,
        url: &str,
        tls: Option<&Tls>,
        index: usize,
        stats: Arc<Stats>,
    ) -> anyhow::Result<Connected> {
        let started = Instant::now();
        let ws = open(addr, url, tls).await?;
        let upgraded = started.elapsed();
        let (sink, mut stream) = ws.split();
        match tokio::time::timeout(FIRST_FRAME_TIMEOUT, stream.next()).await {
            Ok(Some(Ok(_))) => {}
            Ok(_) => bail!("connection closed before the first frame"),
            Err(_) => bail!("no first frame within {FIRST_FRAME_TIMEOUT:?}"),
        }
        let ready = started.elapsed();
        let acks = Arc::new(Semaphore::new(0));
        let reader = tokio::spawn(read(stream, index, stats, acks.clone()));
        Ok(Connected {
            client: Client {
                index,
                sink: Mutex::new(sink),
                acks,
                reader,
            },
            upgraded,
            ready,
        })
    }

    /// Sends one timed broadcast with text like `body`. Returns its id, or
    /// `None` once the ledger is full.
    pub async fn broadcast(&self, stats: &Stats, body: Body) -> anyhow::Result<Option<u64>> {
        let Some(id) = stats.ledger.allocate() else {
            return Ok(None);
        };
        let text = message_text(id, stats.now_us(), self.index, body);
        self.sink
            .lock()
            .await
            .send(Message::text(text))
            .await
            .context("send failed")?;
        Ok(Some(id))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn read(mut stream: SplitStream<Ws>, me: usize, stats: Arc<Stats>, acks: Arc<Semaphore>) {
    while let Some(Ok(message)) = stream.next().await {
        if let Message::Text(text) = message {
            stats.received(&text, me, &acks);
        }
    }
    stats.dropped.fetch_add(1, Ordering::Relaxed);
}
