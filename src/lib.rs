//! lanchat: a real-time chat server for the local network, in one binary.
//!
//! The map of the code and the path of one chat message are in
//! `src/README.md`, included here.
#![doc = include_str!("README.md")]

mod access;
mod assets;
mod audience;
mod banner;
mod bots;
mod browser;
mod calls;
mod clock;
mod cluster;
mod commands;
mod config;
mod data;
mod event;
mod export;
mod fanout;
mod files;
mod healthcheck;
mod host;
mod hub;
mod identity;
mod ids;
mod limits;
mod mdns;
mod metrics;
mod protocol;
mod retention;
mod rooms;
mod routes;
mod search;
mod send;
mod server;
mod session;
mod store;
mod sync;
mod text;
mod tls;
mod upgrade;
mod username;
mod wire;

use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use banner::{Banner, TlsBanner, local_url, print_banner};
pub use browser::open_in_browser;
pub use calls::Listening;
pub use config::{Args, Command, Config};
pub use healthcheck::healthcheck;
pub use mdns::Announcement;
pub use protocol::{ClientFrame, MAX_CID_CHARS, MAX_MESSAGE_CHARS, parse_client_frame};
pub use send::{BotMessage, send_as_bot};
/// How a message's markdown becomes its HTML at ingest; public for the
/// fan-out bench, which times it alone.
pub use text::render;
/// The local CA's certificate file in the data folder (`lanchat send`
/// trusts it for `https://`).
pub use tls::ca::CERT_FILE as CA_FILE;
pub use username::{MAX_USERNAME_CHARS, parse_username};

use crate::assets::Assets;
use crate::calls::Calls;
use crate::config::DEFAULT_PORT;
use crate::hub::Hub;
use crate::identity::Identity;
use crate::limits::{Gate, RateLimiter};
use crate::rooms::Rooms;
use crate::routes::Policy;
use crate::store::{Committed, Store};
use crate::tls::Tls;
use crate::tls::trust_port::{self, TrustInfo};

/// Each connection's read buffer, allocated for the connection's whole
/// life. Clients send short chat frames (a message of a couple of hundred
/// characters is about 300 bytes of JSON), so 512 bytes is enough for most
/// in one read; tungstenite's default is 128 KiB per connection. tungstenite
/// zero-fills the whole buffer every time the session polls for input (each
/// wake-up, even with nothing to read), so small also saves CPU. Larger
/// frames still arrive, the buffer growing to fit one, in reads of this
/// size. At 1 KiB it was a sixth of an idle connection's memory.
const WS_READ_BUFFER_BYTES: usize = 512;
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
    context: session::Context,
    policy: Policy,
    ws_config: WebSocketConfig,
    header_timeout: Duration,
    /// The page, loaded once.
    assets: Arc<Assets>,
    committed: Committed,
    /// This process, as other instances sharing a database know it.
    instance: String,
    /// With PostgreSQL: notices from the other instances since before the
    /// store loaded.
    notices: Option<cluster::Listener>,
    /// With `--tls`: the certificate and the acceptor.
    tls: Option<Tls>,
    /// The address the HTTP listener was told to bind, for the RTC port's.
    bind: std::net::IpAddr,
    /// The host secret, for the host link printed at start.
    host_secret: String,
    /// How often each room's retention is applied.
    retention_check: Duration,
    /// With `--event`, what its end deletes.
    wipe: event::Leftovers,
}

impl App {
    /// Opens the history and sets up the hub. Fails on an unusable data
    /// folder or history file, or a database it cannot reach.
    pub async fn open(config: &Config) -> anyhow::Result<App> {
        config.prepare_data_dir()?;
        let assets = Arc::new(Assets::load(config.web_overlay.as_deref())?);
        let resume_cap = config.history.max(MIN_RESUME_CAP);
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let notices = match &config.history_location {
            store::Location::Postgres(url) => Some(cluster::listen(url).await?),
            _ => None,
        };
        let opened = Store::open(
            config.history_location.clone(),
            resume_cap,
            config.search,
            &instance,
        )
        .await?;
        let store = opened.store;
        let tls = config
            .tls_source()
            .map(|source| Tls::start(&source, &config.local_names()))
            .transpose()?;
        let files = open_files(config, store.clone(), opened.files)?;
        let (host, host_secret) =
            host::Host::load(store.clone(), opened.host, config.host_secret.as_deref());
        let settings = session::Settings {
            history: config.history,
            resume_cap,
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
            write_timeout: config.write_timeout,
            max_message_chars: config.max_message_chars,
            edit_window: config.edit_window,
            limits: protocol::Limits {
                rate: config.rate.per_second,
                burst: config.rate.burst as u32,
                message_chars: config.max_message_chars,
                frame_bytes: config.max_frame_size,
                edit_window_ms: config.edit_window.map(|window| window.as_millis() as u64),
                calls: config.calls.as_ref().map(|calls| calls.limits),
            },
        };
        let hub = Hub::new(config.backlog, config.roster_limit);
        let rooms = Rooms::load(store.clone(), opened.rooms);
        let calls = Calls::new(
            config.calls.clone(),
            hub.clone(),
            rooms.clone(),
            store.clone(),
        );
        let context = session::Context {
            hub,
            identity: Identity::load(store.clone(), opened.claims, config.claim_ttl),
            rooms,
            files,
            calls,
            host,
            event: config.event.clone().map(event::Event::new),
            logged: Arc::new(tokio::sync::Notify::new()),
            store,
            settings: Arc::new(settings),
            rate_limiter: Arc::new(RateLimiter::new(config.rate)),
            shutdown: CancellationToken::new(),
            sessions: TaskTracker::new(),
        };
        let policy = Policy {
            gate: Gate::new(config.max_connections, config.max_connections_per_ip),
            allowed_origins: config.allowed_origins.clone().into(),
            trusted_proxies: config.trusted_proxies.clone().into(),
            key: config.password.as_deref().map(Arc::from),
        };
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(WS_READ_BUFFER_BYTES)
            .write_buffer_size(WS_WRITE_BUFFER_BYTES)
            .max_message_size(Some(config.max_frame_size))
            .max_frame_size(Some(config.max_frame_size));
        Ok(App {
            context,
            policy,
            ws_config,
            header_timeout: config.header_timeout,
            assets,
            committed: opened.committed,
            instance,
            notices,
            tls,
            bind: config.bind,
            host_secret,
            retention_check: config.retention_check,
            wipe: event::Leftovers {
                history: match &config.history_location {
                    store::Location::File(path) => Some(path.clone()),
                    _ => None,
                },
                files: config.files_dir.clone(),
                // The local CA it made, never a certificate brought with
                // --tls-cert.
                certificates: match config.tls_source() {
                    Some(tls::Source::LocalCa(Some(dir))) => {
                        vec![dir.join(tls::CERT_FILE), dir.join(tls::KEY_FILE)]
                    }
                    _ => Vec::new(),
                },
            },
        })
    }

    /// What the banner says of the event, in event mode.
    pub fn event(&self) -> Option<String> {
        self.context.event.as_ref().map(event::Event::describe)
    }

    /// The host secret, for the host link the banner prints.
    pub fn host_secret(&self) -> &str {
        &self.host_secret
    }

    /// What the banner says of HTTPS, once `listeners` are bound: `None`
    /// without `--tls`.
    pub fn tls_banner(&self, listeners: &Listeners) -> anyhow::Result<Option<TlsBanner>> {
        let (Some(tls), Some(trust)) = (&self.tls, &listeners.trust) else {
            return Ok(None);
        };
        Ok(Some(TlsBanner {
            trust: trust.local_addr()?,
            fingerprint: tls.local_ca().map(|ca| ca.fingerprint()),
            ephemeral: tls.ca_is_ephemeral(),
            names: tls.names(),
        }))
    }

    /// Starts calls' media on the RTC port (by default the chat's port, now
    /// that it is known): binds it on the advertised addresses and starts
    /// the SFU. `None` with calls off.
    pub fn start_calls(&self, chat_port: u16) -> anyhow::Result<Option<Listening>> {
        self.context
            .calls
            .start(self.bind, chat_port, self.context.shutdown.clone())
    }

    /// Announces the configured `.local` name over mDNS, unless `--no-mdns`
    /// or the server listens on loopback only, on the ports in `listeners`;
    /// with `--tls`, the certificate then covers the name mDNS settled on
    /// (`lanchat-2.local` when another host had `lanchat.local`). A failure
    /// is logged: the chat goes on by its IP addresses.
    pub async fn announce(&self, config: &Config, listeners: &Listeners) -> Option<Announcement> {
        let label = config.mdns_name.as_deref()?;
        let announced = match listeners.ports() {
            Ok(ports) => Announcement::start(label, config.bind, ports).await,
            Err(err) => Err(err.into()),
        };
        let announced = announced.unwrap_or_else(|err| {
            log::warn!("{err:#}; the chat is reachable by its IP addresses only");
            None
        })?;
        if let Some(tls) = &self.tls
            && let Err(err) = tls.add_name(announced.name())
        {
            log::warn!(
                "{err:#}; the certificate does not cover {}",
                announced.name()
            );
        }
        Some(announced)
    }

    /// Serves on `listeners` until `shutdown` completes. Then it stops
    /// accepting, closes every WebSocket with 1001, and commits what is
    /// pending before returning.
    pub async fn serve(
        self,
        listeners: Listeners,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let App {
            context,
            policy,
            ws_config,
            header_timeout,
            assets,
            committed,
            instance,
            notices,
            tls,
            bind: _,
            host_secret: _,
            retention_check,
            wipe,
        } = self;
        let Listeners {
            chat,
            trust,
            metrics: metrics_listener,
            ..
        } = listeners;
        let stop = context.shutdown.clone();
        // Before the first connection, so the others hear of every name.
        let cluster = match (context.store.location(), notices) {
            (store::Location::Postgres(url), Some(notices)) => {
                let told = context.hub.connect_cluster();
                Some(tokio::spawn(cluster::run(
                    (**url).clone(),
                    notices,
                    instance,
                    context.clone(),
                    told,
                    stop.clone(),
                )))
            }
            _ => None,
        };
        let trust_info = match (&tls, &trust) {
            (Some(tls), Some(trust)) => Some(TrustInfo {
                fingerprint: tls.local_ca().map(|ca| ca.fingerprint()),
                https_port: chat.local_addr()?.port(),
                trust_port: trust.local_addr()?.port(),
            }),
            _ => None,
        };
        // What expired while the server was stopped goes before anyone
        // connects.
        retention::sweep(&context).await;
        let postgres = matches!(context.store.location(), store::Location::Postgres(_));
        let exporter = metrics::Exporter::new(context.hub.clone(), context.files.clone(), postgres);
        let beside_chat = metrics_listener.is_none().then(|| exporter.clone());
        let routes = routes::routes(
            context.clone(),
            policy.clone(),
            ws_config,
            trust_info.clone(),
            assets.clone(),
            beside_chat,
        );
        let accepting = tokio::spawn(server::serve(
            chat,
            warp::service(routes),
            header_timeout,
            tls.as_ref().map(Tls::acceptor),
            stop.clone(),
        ));
        let trust_page = match (tls, trust, trust_info) {
            (Some(tls), Some(trust), Some(info)) => {
                tokio::spawn(tls.clone().renew_until(stop.clone()));
                Some(tokio::spawn(server::serve(
                    trust,
                    warp::service(trust_port::routes(tls, info, assets)),
                    header_timeout,
                    None,
                    stop.clone(),
                )))
            }
            _ => None,
        };
        let metrics_accepting = metrics_listener.map(|listener| {
            let routes = routes::metrics_only(exporter, policy);
            tokio::spawn(server::serve(
                listener,
                warp::service(routes),
                header_timeout,
                None,
                stop.clone(),
            ))
        });
        tokio::spawn(context.hub.clone().flush_presence_until(stop.clone()));
        tokio::spawn(fanout::run(
            context.hub.clone(),
            context.rooms.clone(),
            committed,
            context.logged.clone(),
        ));
        let sweeper = tokio::spawn(sweep_hourly(context.clone()));
        let host_rules = tokio::spawn(host::watch(context.host.clone()));
        let retention = tokio::spawn(retention::run(context.clone(), retention_check));
        // An event ends the server itself, after its grace.
        let event = context.event.clone();
        let event_over = async {
            match &event {
                Some(event) => {
                    let hub = context.hub.clone();
                    event
                        .run(|frame| {
                            let item = hub::Outbound::event(frame);
                            hub.send(&audience::Audience::Everyone, item);
                        })
                        .await
                }
                None => std::future::pending().await,
            }
        };
        let over = tokio::select! {
            () = shutdown => false,
            () = event_over => true,
        };
        log::info!("shutting down");
        sweeper.abort();
        host_rules.abort();
        retention.abort();
        stop.cancel();
        let _ = accepting.await;
        if let Some(trust_page) = trust_page {
            let _ = trust_page.await;
        }
        if let Some(metrics_accepting) = metrics_accepting {
            let _ = metrics_accepting.await;
        }
        context.sessions.close();
        if tokio::time::timeout(SESSION_DRAIN, context.sessions.wait())
            .await
            .is_err()
        {
            log::warn!("some sessions did not close in time");
        }
        if let Some(cluster) = cluster {
            // It says this instance is gone, so its names go offline
            // elsewhere at once.
            let _ = tokio::time::timeout(SESSION_DRAIN, cluster).await;
        }
        let store = context.store.clone();
        tokio::task::spawn_blocking(move || store.close())
            .await
            .context("the store did not close cleanly")?;
        if over && let Some(event) = &context.event {
            finish_event(event, wipe)?;
        }
        Ok(())
    }
}

/// The event is over and the server has stopped: its data goes, unless
/// kept; says so.
fn finish_event(event: &event::Event, leftovers: event::Leftovers) -> anyhow::Result<()> {
    let said = if !event.wipes() {
        format!(
            "The event {:?} is over. Its history and files are kept (--keep).",
            event.name()
        )
    } else {
        let deleted = event::wipe(&leftovers)
            .context("the event is over, but its data could not all be deleted")?;
        let list: Vec<String> = deleted
            .iter()
            .map(|path| path.display().to_string())
            .collect();
        format!(
            "The event {:?} is over. Deleted from this machine: {}.",
            event.name(),
            if list.is_empty() {
                "nothing (it was kept in memory)".to_owned()
            } else {
                list.join(", ")
            }
        )
    };
    log::info!("{said}");
    // Whoever started it may have closed the terminal: never fail on that.
    let _ = writeln!(std::io::stdout().lock(), "{said}");
    Ok(())
}

/// Once an hour (and at start): releases names unused for the configured
/// time, collects expired uploads and files no message shares, and forgets
/// mutes and bans that ran out.
async fn sweep_hourly(context: session::Context) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        context.identity.release_expired();
        context.host.sweep();
        context.files.sweep().await;
    }
}

/// The files folder the configuration names, or a temporary one.
fn open_files(
    config: &Config,
    store: Store,
    records: Vec<store::FileRecord>,
) -> anyhow::Result<files::Files> {
    let (dir, temp) = match &config.files_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::Builder::new()
                .prefix("lanchat-files-")
                .tempdir()
                .context("cannot make a temporary folder for files")?;
            (temp.path().to_owned(), Some(temp))
        }
    };
    let settings = files::Settings {
        dir,
        max_file: config.max_file_size,
        quota: config.files_quota,
        min_free: config.min_free_disk,
        uploads_per_user: config.max_uploads_per_user,
        expiry: config.upload_expiry,
    };
    files::Files::open(settings, store, records, temp)
}

/// Moves the SQLite history at `from` into the empty PostgreSQL database at
/// `to`; says what moved.
pub async fn migrate(from: &std::path::Path, to: &str) -> anyhow::Result<String> {
    let to = store::postgres::PgUrl::parse(to)?;
    let moved = store::migrate::migrate(from, &to).await?;
    Ok(format!(
        "moved {} into {to}: every count checked. Files' bytes stay in their folder \
         (lanchat-files beside the history file): give the instances that folder with --files",
        moved
    ))
}

/// `lanchat export`: writes the export of the server's history (as
/// `config` locates it) to `out`, or to a file named after it in `exports/`
/// in the data folder, beside everything else lanchat keeps; returns what
/// to print.
pub async fn export_history(
    config: &Config,
    room: Option<String>,
    format: export::Format,
    out: Option<std::path::PathBuf>,
) -> anyhow::Result<String> {
    let Some(files) = &config.files_dir else {
        anyhow::bail!("with --memory there is no history to export");
    };
    let (bytes, name) =
        export::offline::export(&config.history_location, files, room.as_deref(), format).await?;
    let out = match out {
        Some(out) => out,
        None => {
            let dir = config.data_dir().join("exports");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot make {}", dir.display()))?;
            dir.join(name)
        }
    };
    std::fs::write(&out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(format!("wrote {} ({} bytes)", out.display(), bytes.len()))
}

/// `lanchat host-link`: a new host secret for the server's history (as
/// `config` locates it), stored as its hash, which retires the old one;
/// returns what to print, with the link for a server started with the same
/// flags (HTTPS with `--tls`).
pub async fn new_host_link(config: &Config) -> anyhow::Result<String> {
    if matches!(config.history_location, store::Location::Memory) {
        anyhow::bail!(
            "with --memory the host secret is new at every start: read it from the banner"
        );
    }
    let secret = host::secret::new_secret();
    let rule = host::Rule::Secret {
        hash: host::secret::hash_hex(&secret),
    };
    store::offline::set_host_rule(&config.history_location, &rule.key(), &rule.to_json()).await?;
    let port = config.port.unwrap_or(DEFAULT_PORT);
    let url = match &config.tls {
        Some(tls) => format!(
            "https://127.0.0.1:{}/",
            tls.port.unwrap_or(DEFAULT_PORT + 1)
        ),
        None => format!("http://127.0.0.1:{port}/"),
    };
    Ok(format!(
        "{}\nThe old host link stops working within {} seconds.",
        host::secret::link(&url, &secret),
        host::REREAD.as_secs()
    ))
}

/// The bound ports: the chat's (HTTPS with `--tls`), with `--tls` the
/// plain port of the trust page, and `--metrics-bind`'s.
pub struct Listeners {
    /// The chat: the page, the WebSocket and the rest of the API.
    pub chat: TcpListener,
    pub trust: Option<TcpListener>,
    /// `/metrics` on an address of its own (`--metrics-bind`); without
    /// one, `/metrics` is served beside the chat.
    pub metrics: Option<TcpListener>,
    /// What the banner should say about the ports taken (a busy default).
    pub notes: Vec<String>,
}

impl Listeners {
    /// The ports announced over mDNS: plain HTTP's (with `--tls`, the trust
    /// page's), and with `--tls` the chat's HTTPS port.
    pub fn ports(&self) -> std::io::Result<mdns::Ports> {
        let chat = self.chat.local_addr()?.port();
        Ok(match &self.trust {
            Some(trust) => mdns::Ports {
                http: trust.local_addr()?.port(),
                https: Some(chat),
            },
            None => mdns::Ports {
                http: chat,
                https: None,
            },
        })
    }
}

/// Binds the configured addresses. Without `--tls`, the chat's port: with
/// no port given, 8080, or a free port if it is busy (with a note that
/// says so). With `--tls`, that port serves the trust page, and HTTPS
/// takes the next one (8081, or a free one). And `--metrics-bind`'s.
pub async fn bind(config: &Config) -> anyhow::Result<Listeners> {
    let (first, first_note) = bind_port(config.bind, config.port, DEFAULT_PORT, "--port").await?;
    let metrics = match config.metrics_bind {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for --metrics-bind on {addr}"))?,
        ),
        None => None,
    };
    let Some(tls) = &config.tls else {
        return Ok(Listeners {
            chat: first,
            trust: None,
            metrics,
            notes: first_note.into_iter().collect(),
        });
    };
    let (https, https_note) =
        bind_port(config.bind, tls.port, DEFAULT_PORT + 1, "--tls-port").await?;
    Ok(Listeners {
        chat: https,
        trust: Some(first),
        metrics,
        notes: first_note.into_iter().chain(https_note).collect(),
    })
}

/// Binds `port`, or `default` (falling back to a free port if it is busy).
async fn bind_port(
    ip: std::net::IpAddr,
    port: Option<u16>,
    default: u16,
    flag: &str,
) -> anyhow::Result<(TcpListener, Option<String>)> {
    let addr = SocketAddr::new(ip, port.unwrap_or(default));
    match TcpListener::bind(addr).await {
        Ok(listener) => Ok((listener, None)),
        Err(err) if port.is_none() && err.kind() == std::io::ErrorKind::AddrInUse => {
            let listener = TcpListener::bind(SocketAddr::new(ip, 0))
                .await
                .with_context(|| format!("cannot listen on {ip}"))?;
            let chosen = listener.local_addr()?.port();
            Ok((
                listener,
                Some(format!(
                    "port {default} is busy, so lanchat took port {chosen}"
                )),
            ))
        }
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => Err(anyhow::anyhow!(
            "port {} is already in use on {ip}; pick another with {flag}, or omit it to take a free one",
            addr.port()
        )),
        Err(err) => Err(err).with_context(|| format!("cannot listen on {addr}")),
    }
}

/// `lanchat trust`: the trust page's address and QR code again, and the
/// local CA's fingerprint, for the configured folder and port. Says so if
/// no lanchat with that CA answers there.
pub async fn print_trust(config: &Config) -> anyhow::Result<()> {
    if matches!(config.history_location, store::Location::Memory) {
        anyhow::bail!(
            "with --memory the CA is new at every start and kept nowhere: read it from the banner"
        );
    }
    let dir = config.data_dir();
    let cert = dir.join(tls::CERT_FILE);
    let pem = std::fs::read_to_string(&cert).with_context(|| {
        format!(
            "there is no local CA in {} yet: start lanchat with --tls first",
            dir.display()
        )
    })?;
    let der = {
        use rustls::pki_types::pem::PemObject as _;
        rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
            .with_context(|| format!("{} is not a PEM certificate", cert.display()))?
    };
    let fingerprint = tls::fingerprint(&der);
    let port = config.port.unwrap_or(DEFAULT_PORT);
    let probe = SocketAddr::new(
        if config.bind.is_unspecified() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            config.bind
        },
        port,
    );
    let answering = trust_page_answers(probe, &fingerprint).await;
    banner::print_trust(
        SocketAddr::new(config.bind, port),
        |ip| tls::ca::may_vouch_for(&der, ip),
        config.password.as_deref(),
        &fingerprint,
        (!answering).then(|| {
            format!("no lanchat with this CA answers on port {port} here now; start it with --tls (and this --port)")
        }),
    );
    Ok(())
}

/// Whether the trust page at `addr` serves the CA with `fingerprint`.
async fn trust_page_answers(addr: SocketAddr, fingerprint: &str) -> bool {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(
                format!("GET /api/trust HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).contains(fingerprint))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), ask).await,
        Ok(Ok(true))
    )
}
