//! What the server counts, and `GET /metrics`, which reports it in the
//! Prometheus text format (version 0.0.4). Every metric is named and
//! explained in `src/protocol/README.md` (HTTP, *Metrics*).
//!
//! Counters and histograms live in one process-wide [`Metrics`] (a
//! Prometheus scrape target is a process), so each place that counts does
//! so in one line, `metrics::get().deliveries.inc_by(n)`, with no handle
//! passed down to it. A counter is one relaxed atomic add, so counting on
//! the hot paths (each flush to a client, each message) costs no lock and
//! no allocation; histograms take a short lock, so they are observed only
//! once per commit, search, resume or pool wait, never per delivery.
//! What the server already knows (connections, users, unfinished uploads)
//! is read when `/metrics` is asked for, not counted twice.

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::files::Files;
use crate::hub::Hub;

/// The `Content-Type` of what [`Exporter::render`] writes.
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The process's counters and histograms.
pub struct Metrics {
    /// Chat messages clients sent here, queued to be stored.
    pub messages_received: Counter,
    /// Entries of a room's log (messages, edits, deletions, reactions)
    /// written to a client, one per connection that hears it.
    pub deliveries: Counter,
    /// Connections closed because their unsent backlog passed the limit.
    pub backlog_cutoffs: Counter,
    /// Connections dropped because a write to them stalled.
    pub write_stalls: Counter,
    /// `rate_limited` refusals sent.
    pub rate_limited: Counter,
    /// Connections closed for earning rate refusals too fast (a flood).
    pub flood_closes: Counter,
    /// WebSocket requests refused at the connection caps.
    pub connections_refused: Counter,
    /// How long each commit of log entries took.
    pub commit_seconds: Histogram,
    /// Entries per commit.
    pub commit_batch_size: Histogram,
    /// Messages replayed to each resume (`since`).
    pub resume_messages: Histogram,
    /// Bytes of uploads written to disk.
    pub upload_bytes: Counter,
    /// How long each search took to answer.
    pub search_seconds: Histogram,
    /// How long the store waited for a PostgreSQL connection from its pool.
    pub postgres_pool_wait_seconds: Histogram,
    /// Notices heard from the other instances sharing PostgreSQL.
    pub postgres_notices: Counter,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    messages_received: Counter::default(),
    deliveries: Counter::default(),
    backlog_cutoffs: Counter::default(),
    write_stalls: Counter::default(),
    rate_limited: Counter::default(),
    flood_closes: Counter::default(),
    connections_refused: Counter::default(),
    // 0.25 ms to about 4 s.
    commit_seconds: Histogram::new(exponential_buckets(0.000_25, 2.0, 15)),
    // 1 to 256, the most entries one commit takes.
    commit_batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 9)),
    // Up to the resume cap, 1000.
    resume_messages: Histogram::new([0.0, 1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0]),
    upload_bytes: Counter::default(),
    // 1 ms to about 1 s; a search stops itself at 250 ms.
    search_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 11)),
    // 0.1 ms to about 6.5 s; the pool gives up at 5 s.
    postgres_pool_wait_seconds: Histogram::new(exponential_buckets(0.000_1, 4.0, 9)),
    postgres_notices: Counter::default(),
});

/// The process's counters and histograms.
pub fn get() -> &'static Metrics {
    &METRICS
}

/// Seconds since `started`, for a histogram.
pub fn seconds_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64()
}

/// Renders `/metrics`. Cheap to clone.
#[derive(Clone)]
pub struct Exporter {
    registry: Arc<Registry>,
}

impl Exporter {
    /// Everything this server reports: the process's metrics, and what the
    /// hub and the files know when asked. The PostgreSQL metrics only with
    /// `postgres`.
    pub fn new(hub: Hub, files: Files, postgres: bool) -> Exporter {
        let m = get();
        let mut registry = Registry::default();
        registry.register(
            "lanchat_build",
            "The running version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        registry.register_collector(Box::new(Live { hub, files }));
        let counters = [
            (
                "lanchat_messages_received",
                "Chat messages clients sent here, queued to be stored",
                &m.messages_received,
            ),
            (
                "lanchat_deliveries",
                "Entries of a room's log (messages, edits, deletions, reactions) \
                 written to a client, one per connection that hears it",
                &m.deliveries,
            ),
            (
                "lanchat_backlog_cutoffs",
                "Connections closed because their unsent backlog passed the limit",
                &m.backlog_cutoffs,
            ),
            (
                "lanchat_write_stalls",
                "Connections dropped because a write to them made no progress \
                 for the write timeout",
                &m.write_stalls,
            ),
            (
                "lanchat_rate_limited",
                "rate_limited refusals sent",
                &m.rate_limited,
            ),
            (
                "lanchat_flood_closes",
                "Connections closed for earning rate refusals too fast",
                &m.flood_closes,
            ),
            (
                "lanchat_connections_refused",
                "WebSocket requests refused at the connection caps",
                &m.connections_refused,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        registry.register_with_unit(
            "lanchat_commit",
            "How long each commit of log entries took",
            Unit::Seconds,
            m.commit_seconds.clone(),
        );
        registry.register(
            "lanchat_commit_batch_size",
            "Log entries per commit",
            m.commit_batch_size.clone(),
        );
        registry.register(
            "lanchat_resume_messages",
            "Messages replayed to each resume (a connect or history request with since)",
            m.resume_messages.clone(),
        );
        registry.register_with_unit(
            "lanchat_upload",
            "Bytes of uploads written to disk",
            Unit::Bytes,
            m.upload_bytes.clone(),
        );
        registry.register_with_unit(
            "lanchat_search",
            "How long each search took to answer",
            Unit::Seconds,
            m.search_seconds.clone(),
        );
        if postgres {
            registry.register_with_unit(
                "lanchat_postgres_pool_wait",
                "How long the store waited for a PostgreSQL connection from its pool",
                Unit::Seconds,
                m.postgres_pool_wait_seconds.clone(),
            );
            registry.register(
                "lanchat_postgres_notices",
                "Notices heard from the other instances sharing the database",
                m.postgres_notices.clone(),
            );
        }
        Exporter {
            registry: Arc::new(registry),
        }
    }

    /// Every metric, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(4096);
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// What the server knows already, read at each scrape.
struct Live {
    hub: Hub,
    files: Files,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Live")
    }
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let gauges = [
            (
                "lanchat_connections",
                "WebSocket connections open here",
                self.hub.connection_count(),
            ),
            (
                "lanchat_users",
                "Names online, here and on the other instances sharing the database",
                self.hub.user_count(),
            ),
            (
                "lanchat_uploads_in_progress",
                "Uploads started and not yet finished, cancelled or expired",
                self.files.uploads_in_progress(),
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}
