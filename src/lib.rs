//! lanchat: a real-time chat server for the local network, in one binary.
//!
//! The pieces, each in its own module:
//! - [`config`]: flags and the validated settings.
//! - [`protocol`]: every JSON frame, pure types.
//! - [`username`]: which names are allowed; [`identity`]: which are owned.
//! - [`hub`]: who is connected, presence, fan-out with bounded backlogs.
//! - [`session`]: one WebSocket connection.
//! - [`store`]: durable history in SQLite, written in batches.
//! - [`routes`], [`upgrade`], [`assets`]: the HTTP side, as warp filters.
//! - [`server`]: the accept loop; [`banner`]: what is printed at start-up.

pub mod access;
pub mod assets;
pub mod banner;
pub mod config;
pub mod hub;
pub mod identity;
pub mod limits;
pub mod protocol;
pub mod rooms;
pub mod routes;
pub mod server;
pub mod session;
pub mod store;
pub mod upgrade;
pub mod username;
pub mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, DEFAULT_PORT};
use crate::hub::{Hub, Outbound};
use crate::identity::Identity;
use crate::limits::{Gate, RateLimiter};
use crate::protocol::{ErrorCode, Frame, LOBBY, Refusal, ServerFrame, encode};
use crate::rooms::Rooms;
use crate::routes::Policy;
use crate::store::{Outcome, Store};

/// Each connection's read buffer. Clients send short chat frames, so 1 KiB
/// is plenty; tungstenite's default is 128 KiB per connection. tungstenite
/// zero-fills the whole buffer every time the session polls for input (each
/// wake-up, even with nothing to read), so small also saves CPU. Larger
/// frames still arrive: the buffer grows to fit one when it comes.
const WS_READ_BUFFER_BYTES: usize = 1024;
/// tungstenite writes only control frames (ping, pong, close: at most 131
/// bytes); sessions write text frames themselves (see [`wire`]). So it
/// buffers nothing and writes each at once.
const WS_WRITE_BUFFER_BYTES: usize = 0;
/// A resume replays at most this many messages (or `--history`, if larger);
/// older ones are paged on demand.
const MIN_RESUME_CAP: usize = 1000;
/// How long shutdown waits for sessions to say goodbye.
const SESSION_DRAIN: Duration = Duration::from_millis(1500);

/// A server with its history open, ready to serve.
pub struct App {
    hub: Hub,
    store: Store,
    identity: Identity,
    rooms: Rooms,
    settings: Arc<session::Settings>,
    rate_limiter: Arc<RateLimiter>,
    policy: Policy,
    max_frame_size: usize,
    header_timeout: Duration,
    /// Batches the store committed, in order, for the hub.
    to_fan_out: mpsc::UnboundedReceiver<Vec<Outcome>>,
}

impl App {
    /// Opens the history and sets up the hub. Fails on an unusable history file.
    pub fn open(config: &Config) -> anyhow::Result<App> {
        let hub = Hub::new(config.backlog, config.roster_limit);
        let resume_cap = config.history.max(MIN_RESUME_CAP);
        // Committed batches are fanned out by a task on the runtime (see
        // `serve`): waking sessions from a worker thread queues them
        // locally instead of through the runtime's shared queue.
        let (committed, to_fan_out) = mpsc::unbounded_channel();
        let store = Store::open(
            config.history_location.clone(),
            resume_cap,
            move |outcomes| {
                let _ = committed.send(outcomes);
            },
        )?;
        let identity = Identity::load(store.clone(), store.take_claims(), config.claim_ttl);
        let rooms = Rooms::load(store.clone(), store.take_rooms());
        let settings = Arc::new(session::Settings {
            history: config.history,
            resume_cap,
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
            write_timeout: config.write_timeout,
            max_message_chars: config.max_message_chars,
            limits: protocol::Limits {
                rate: config.rate.per_second,
                burst: config.rate.burst as u32,
                message_chars: config.max_message_chars,
                frame_bytes: config.max_frame_size,
            },
        });
        let policy = Policy {
            gate: Gate::new(config.max_connections, config.max_connections_per_ip),
            allowed_origins: config.allowed_origins.clone().into(),
            key: config.password.as_deref().map(Arc::from),
        };
        Ok(App {
            hub,
            store,
            identity,
            rooms,
            settings,
            rate_limiter: Arc::new(RateLimiter::new(config.rate)),
            policy,
            max_frame_size: config.max_frame_size,
            header_timeout: config.header_timeout,
            to_fan_out,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves on `listener` until `shutdown` completes. Then it stops
    /// accepting, closes every WebSocket with 1001, and commits what is
    /// pending before returning.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let stop = CancellationToken::new();
        let sessions = TaskTracker::new();
        let context = session::Context {
            hub: self.hub.clone(),
            store: self.store.clone(),
            identity: self.identity.clone(),
            rooms: self.rooms.clone(),
            settings: self.settings.clone(),
            rate_limiter: self.rate_limiter.clone(),
            shutdown: stop.clone(),
            sessions: sessions.clone(),
        };
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(WS_READ_BUFFER_BYTES)
            .write_buffer_size(WS_WRITE_BUFFER_BYTES)
            .max_message_size(Some(self.max_frame_size))
            .max_frame_size(Some(self.max_frame_size));
        let routes = routes::routes(context, self.policy.clone(), ws_config);
        let accepting = tokio::spawn(server::serve(
            listener,
            warp::service(routes),
            self.header_timeout,
            stop.clone(),
        ));
        tokio::spawn(self.hub.clone().flush_presence_until(stop.clone()));
        let (hub, rooms, mut to_fan_out) = (self.hub.clone(), self.rooms.clone(), self.to_fan_out);
        tokio::spawn(async move {
            while let Some(outcomes) = to_fan_out.recv().await {
                deliver(&hub, &rooms, outcomes);
            }
        });

        let sweeper = tokio::spawn(release_unused_names(self.identity.clone()));
        shutdown.await;
        log::info!("shutting down");
        sweeper.abort();
        stop.cancel();
        let _ = accepting.await;
        sessions.close();
        if tokio::time::timeout(SESSION_DRAIN, sessions.wait())
            .await
            .is_err()
        {
            log::warn!("some sessions did not close in time");
        }
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.close())
            .await
            .context("the store did not close cleanly")?;
        Ok(())
    }
}

/// Releases names unused for the configured time, once an hour.
async fn release_unused_names(identity: Identity) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        identity.release_expired();
    }
}

/// Hands each committed batch to the hub: new messages to everyone in their
/// room, duplicates and failures back to their sender only.
fn deliver(hub: &Hub, rooms: &Rooms, outcomes: Vec<Outcome>) {
    // Consecutive lobby messages go out as one run.
    let mut lobby_run: Vec<(u64, Frame)> = Vec::new();
    for outcome in outcomes {
        if let Outcome::Stored(stored) = &outcome
            && stored.message.room == LOBBY
        {
            lobby_run.push((stored.seq(), stored.frame.clone()));
            continue;
        }
        hub.broadcast_messages(std::mem::take(&mut lobby_run));
        match outcome {
            Outcome::Stored(stored) => {
                let members = rooms.members(&stored.message.room).unwrap_or_default();
                hub.send_to_users(&members, &stored.frame, None);
            }
            Outcome::Duplicate { conn, stored } => {
                hub.send_to(conn, Outbound::Event(stored.frame.clone()))
            }
            Outcome::Failed { conn, cid, reason } => {
                let refusal = Refusal::new(ErrorCode::Unavailable, reason).with_cid(cid);
                let frame = encode(&ServerFrame::error(&refusal));
                hub.send_to(conn, Outbound::Event(Frame::from(frame)));
            }
        }
    }
    hub.broadcast_messages(lobby_run);
}

/// Binds the configured address. With no port given, tries 8080 and falls
/// back to a free port, returning a note that says so.
pub async fn bind(config: &Config) -> anyhow::Result<(TcpListener, Option<String>)> {
    let port = config.port.unwrap_or(DEFAULT_PORT);
    let addr = SocketAddr::new(config.bind, port);
    match TcpListener::bind(addr).await {
        Ok(listener) => Ok((listener, None)),
        Err(err) if config.port.is_none() && err.kind() == std::io::ErrorKind::AddrInUse => {
            let listener = TcpListener::bind(SocketAddr::new(config.bind, 0))
                .await
                .with_context(|| format!("cannot listen on {}", config.bind))?;
            let chosen = listener.local_addr()?.port();
            Ok((
                listener,
                Some(format!(
                    "port {DEFAULT_PORT} is busy, so lanchat took port {chosen}"
                )),
            ))
        }
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => Err(anyhow::anyhow!(
            "port {port} is already in use on {}; pick another with --port, or omit it to take a free one",
            config.bind
        )),
        Err(err) => Err(err).with_context(|| format!("cannot listen on {addr}")),
    }
}
