//! Command-line flags and the validated settings they become.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

use crate::access::Origin;
use crate::calls;
use crate::data::{self, Chosen, DataDir, Wanted};
use crate::hub::BacklogLimit;
use crate::limits::{Rate, default_max_connections};
use crate::mdns;
use crate::protocol::{CallLimits, MAX_MESSAGE_CHARS};
use crate::store::Location;
use crate::store::postgres::PgUrl;

/// The port tried when none is given; if it is busy we take a free one.
pub const DEFAULT_PORT: u16 = 8080;
/// The shortest host secret one may give.
const MIN_HOST_SECRET_CHARS: usize = 16;

/// lanchat: a real-time chat for your local network, in one executable.
///
/// Run it, open the printed URL, and share it (or its QR code) with everyone
/// on the same network.
#[derive(Debug, Parser)]
#[command(name = "lanchat", version, about, long_about)]
pub struct Args {
    /// Port to listen on [default: 8080, or a free port if 8080 is busy]
    #[arg(short, long, env = "LANCHAT_PORT")]
    pub port: Option<u16>,

    /// Address to listen on; the default listens on every IPv4 interface
    #[arg(short, long, env = "LANCHAT_BIND", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub bind: IpAddr,

    /// Folder for everything lanchat keeps: the history (lanchat.db), shared
    /// files (lanchat-files) and certificates; made if missing. An earlier
    /// lanchat.db in the current folder is used where it is
    /// [default: lanchat-data]
    #[arg(long, env = "LANCHAT_DATA")]
    pub data: Option<PathBuf>,

    /// History file (SQLite); created if missing [default: lanchat.db in the data folder]
    #[arg(long, env = "LANCHAT_DB", conflicts_with = "memory")]
    pub db: Option<PathBuf>,

    /// Keep history in memory only; it is gone when the server stops
    #[arg(long, env = "LANCHAT_MEMORY")]
    pub memory: bool,

    /// Keep everything in PostgreSQL instead, shared by every instance
    /// given the same URL, like postgres://lanchat@db.lan/lanchat
    /// (also DATABASE_URL, when neither --db nor --memory is given)
    #[arg(
        long,
        env = "LANCHAT_POSTGRES",
        hide_env_values = true,
        conflicts_with_all = ["db", "memory"]
    )]
    pub postgres: Option<String>,

    /// Messages sent to each client when it connects
    #[arg(long, env = "LANCHAT_HISTORY", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub history: u32,

    /// Most unsent bytes queued for one client before it is disconnected
    #[arg(long, env = "LANCHAT_MAX_BACKLOG_BYTES", default_value_t = 1 << 20,
          value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_backlog_bytes: u64,

    /// Most unsent frames queued for one client before it is disconnected
    #[arg(long, env = "LANCHAT_MAX_BACKLOG_FRAMES", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_backlog_frames: u64,

    /// Most people online for whom everyone gets the full list of names; past
    /// it, clients get a count and search for names
    #[arg(long, env = "LANCHAT_ROSTER_LIMIT", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub roster_limit: u64,

    /// Seconds between pings to each client
    #[arg(long, env = "LANCHAT_PING_INTERVAL", default_value_t = 25,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ping_interval: u64,

    /// Seconds of silence after which a client is disconnected
    #[arg(long, env = "LANCHAT_IDLE_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub idle_timeout: u64,

    /// Largest WebSocket message or frame a client may send, in bytes
    #[arg(long, env = "LANCHAT_MAX_FRAME_SIZE", default_value_t = 64 * 1024,
          value_parser = clap::value_parser!(u64).range(1024..=16 * 1024 * 1024))]
    pub max_frame_size: u64,

    /// Longest chat message, in characters
    #[arg(long, env = "LANCHAT_MAX_MESSAGE_CHARS", default_value_t = MAX_MESSAGE_CHARS as u64,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_message_chars: u64,

    /// Messages (and renames) per second each user may send; 0 turns the limit off
    #[arg(long, env = "LANCHAT_RATE_LIMIT", default_value_t = 5.0)]
    pub rate_limit: f64,

    /// How many messages a user may send at once before the rate applies
    #[arg(long, env = "LANCHAT_RATE_BURST", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate_burst: u32,

    /// Most WebSocket connections in total; 0 means no cap [default: the open-file limit less 256]
    #[arg(long, env = "LANCHAT_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,

    /// Most WebSocket connections from one IP address; 0 means no cap
    #[arg(long, env = "LANCHAT_MAX_CONNECTIONS_PER_IP", default_value_t = 64)]
    pub max_connections_per_ip: usize,

    /// A reverse proxy in front (nginx, HAProxy), by address: for connections
    /// from it, the client's address is the last one it adds to
    /// X-Forwarded-For, so the per-IP cap counts clients, not the proxy
    #[arg(
        long = "trusted-proxy",
        env = "LANCHAT_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpAddr>,

    /// Seconds a write to a client may stall before it is disconnected
    #[arg(long, env = "LANCHAT_WRITE_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub write_timeout: u64,

    /// Seconds a client has to send a request's headers
    #[arg(long, env = "LANCHAT_HEADER_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,

    /// Another page origin allowed to open the WebSocket, like https://chat.example.org (repeatable)
    #[arg(
        long = "allow-origin",
        env = "LANCHAT_ALLOW_ORIGIN",
        value_delimiter = ','
    )]
    pub allow_origins: Vec<String>,

    /// Access key: required to chat, carried in the printed URLs and QR code
    #[arg(long, env = "LANCHAT_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// Days a claimed name may go unused before it is released
    #[arg(long, env = "LANCHAT_CLAIM_TTL_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub claim_ttl_days: u32,

    /// Don't print the QR code
    #[arg(long, env = "LANCHAT_NO_QR")]
    pub no_qr: bool,

    /// Open the chat in this machine's web browser once it is listening
    #[arg(long, env = "LANCHAT_OPEN")]
    pub open: bool,

    /// Folder for shared files [default: lanchat-files in the data folder; with --memory, a temporary folder removed at exit]
    #[arg(long, env = "LANCHAT_FILES", conflicts_with = "memory")]
    pub files: Option<PathBuf>,

    /// Largest file one may share, like 4GiB, 500MB or 1048576 (bytes)
    #[arg(long, env = "LANCHAT_MAX_FILE_SIZE", default_value = "4GiB", value_parser = parse_size)]
    pub max_file_size: u64,

    /// Most space all shared files may take together, unfinished uploads included
    #[arg(long, env = "LANCHAT_FILES_QUOTA", default_value = "20GiB", value_parser = parse_size)]
    pub files_quota: u64,

    /// Uploads are refused while the disk holding the files has less free space than this
    #[arg(long, env = "LANCHAT_MIN_FREE_DISK", default_value = "1GiB", value_parser = parse_size)]
    pub min_free_disk: u64,

    /// Unfinished uploads one person may have at once
    #[arg(long, env = "LANCHAT_MAX_UPLOADS_PER_USER", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_uploads_per_user: u32,

    /// Minutes after sending during which a message may be edited; 0: any time
    #[arg(long, env = "LANCHAT_EDIT_WINDOW_MINUTES", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=525_600))]
    pub edit_window_minutes: u64,

    /// Keep no search index, and refuse searches: for a host who does not
    /// want a searchable archive. Turning search back on rebuilds the index
    /// at start.
    #[arg(long, env = "LANCHAT_NO_SEARCH")]
    pub no_search: bool,

    /// Turn calls off: no call button, no UDP port
    #[arg(long, env = "LANCHAT_NO_CALLS")]
    pub no_calls: bool,

    /// UDP port for calls' media (one port for every call) [default: the chat's port, HTTPS's with --tls]
    #[arg(long, env = "LANCHAT_RTC_PORT")]
    pub rtc_port: Option<u16>,

    /// Address calls advertise to browsers for their media, like
    /// 192.168.1.23 (repeatable) [default: every address of this machine,
    /// or the --bind address]
    #[arg(
        long = "rtc-address",
        env = "LANCHAT_RTC_ADDRESSES",
        value_delimiter = ','
    )]
    pub rtc_addresses: Vec<IpAddr>,

    /// Most cameras on at once in one call; others join with audio, or watch
    #[arg(long, env = "LANCHAT_MAX_CAMERAS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(0..=64))]
    pub max_cameras: u32,

    /// Most a camera may send, in kbit/s
    #[arg(long, env = "LANCHAT_CAMERA_KBPS", default_value_t = 600,
          value_parser = clap::value_parser!(u32).range(50..=20_000))]
    pub camera_kbps: u32,

    /// Most a screen share may send, in kbit/s
    #[arg(long, env = "LANCHAT_SCREEN_KBPS", default_value_t = 1500,
          value_parser = clap::value_parser!(u32).range(100..=50_000))]
    pub screen_kbps: u32,

    /// Most frames a second a screen share sends
    #[arg(long, env = "LANCHAT_SCREEN_FPS", default_value_t = 15,
          value_parser = clap::value_parser!(u32).range(1..=60))]
    pub screen_fps: u32,

    /// Hours an unfinished upload, or a file no message shares, is kept
    #[arg(long, env = "LANCHAT_UPLOAD_EXPIRY_HOURS", default_value_t = 24,
          value_parser = clap::value_parser!(u64).range(1..=8760))]
    pub upload_expiry_hours: u64,

    /// Serve the chat over HTTPS, with a certificate from a local CA made
    /// once in the data folder. The --port then serves a page that offers
    /// the CA to install, and the chat moves to --tls-port
    #[arg(long, env = "LANCHAT_TLS")]
    pub tls: bool,

    /// Port for HTTPS [default: the one after --port: 8081, or a free port if 8081 is busy]
    #[arg(long, env = "LANCHAT_TLS_PORT")]
    pub tls_port: Option<u16>,

    /// Your own certificate (PEM, with its chain), instead of the local
    /// CA's: from your organisation's CA, or ACME on a real domain. Implies
    /// --tls; read again when the file changes
    #[arg(long, env = "LANCHAT_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM)
    #[arg(long, env = "LANCHAT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve the files of this folder over the built-in page's (in place
    /// of those with the same path, or beside them): for working on the
    /// page without rebuilding, and for the tests of a changed page
    #[arg(long, env = "LANCHAT_WEB_OVERLAY", hide = true)]
    pub web_overlay: Option<PathBuf>,

    /// The name to announce on the network (mDNS), as NAME.local; if
    /// another host has it, this one takes NAME-2.local
    #[arg(long, env = "LANCHAT_NAME", default_value = mdns::DEFAULT_NAME,
          value_parser = mdns::parse_name)]
    pub name: String,

    /// Don't announce a .local name (mDNS)
    #[arg(long, env = "LANCHAT_NO_MDNS")]
    pub no_mdns: bool,

    /// Serve /metrics on this address instead of the chat's port, like
    /// 127.0.0.1:9100 (the access key, if set, is still needed)
    #[arg(long, env = "LANCHAT_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    // The host's tools (see src/host/).
    /// The host secret, fixed (at least 16 characters) instead of a new one
    /// at every start; the host link printed at start carries it
    #[arg(long, env = "LANCHAT_HOST_SECRET", hide_env_values = true)]
    pub host_secret: Option<String>,

    /// Event mode: the event's name, shown in the page and the banner. At
    /// its end the chat turns read-only, every page is offered its archive,
    /// and after a grace period the history and files are deleted
    #[arg(long, env = "LANCHAT_EVENT")]
    pub event: Option<String>,

    /// How long the event lasts, like 3h or 90m [default: until the host ends it]
    #[arg(long, env = "LANCHAT_EVENT_DURATION", value_parser = crate::event::parse_duration,
          requires = "event")]
    pub event_duration: Option<Duration>,

    /// Seconds between the event's end and the deletion of its data
    #[arg(long, env = "LANCHAT_EVENT_GRACE_SECONDS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub event_grace_seconds: u64,

    /// Keep the event's history and files at its end
    #[arg(long, env = "LANCHAT_KEEP", requires = "event")]
    pub keep: bool,

    /// Seconds between two rounds of each room's retention (the host sets
    /// how long a room keeps its messages; a round also runs at start)
    #[arg(long, env = "LANCHAT_RETENTION_CHECK_SECONDS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub retention_check_seconds: u64,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What lanchat can do besides serving.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Move a SQLite history (names, rooms, read marks, files' records) into
    /// an empty PostgreSQL database, checking every table's count
    Migrate {
        /// The history file to move
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database to move it into, like
        /// postgres://lanchat@db.lan/lanchat
        #[arg(long)]
        to: String,
    },
    /// Ask the lanchat running on this machine whether it is serving: exit
    /// 0 if its /healthz answers, 1 if not. For a container's HEALTHCHECK;
    /// the access key, if any, is taken from LANCHAT_PASSWORD
    Healthcheck {
        /// The port it listens on
        #[arg(short, long, env = "LANCHAT_PORT", default_value_t = DEFAULT_PORT)]
        port: u16,
        /// The address it listens on; 0.0.0.0 and :: are asked on loopback
        #[arg(short, long, env = "LANCHAT_BIND", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
        bind: IpAddr,
    },
    /// Export the lobby and public rooms (or one of them) to a file: one
    /// self-contained HTML page, Markdown, or JSON lines. Private rooms and
    /// direct messages are never exported by the host. Give the flags
    /// lanchat was started with (--data, --db or --postgres, --files)
    Export {
        /// One room, like lobby [default: the lobby and every public room]
        #[arg(long)]
        room: Option<String>,
        /// html, markdown or jsonl
        #[arg(long, value_enum, default_value = "html")]
        format: crate::export::Format,
        /// Where to write it [default: a file named after the room and the
        /// day, in exports/ in the data folder]
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the trust page's address and QR code again, with the local
    /// CA's fingerprint (give the flags lanchat was started with: --port,
    /// --db)
    Trust,
    /// Post a message as a bot, from a shell: a build machine, a sensor
    /// (the host makes the bot and its token in the page's host dialog).
    /// Exits non-zero, with the server's reason, if it is refused
    Send {
        /// The server, like http://192.168.1.23:8080 (https:// with --tls)
        #[arg(long, env = "LANCHAT_URL")]
        url: String,
        /// The bot's token
        #[arg(long, env = "LANCHAT_BOT_TOKEN", hide_env_values = true)]
        token: String,
        /// The room, one of the bot's: lobby, or a public room's name
        #[arg(long, default_value = "lobby")]
        room: String,
        /// Stored once however often it is sent again with the same key
        #[arg(long)]
        idempotency_key: Option<String>,
        /// For https://: the server's CA certificate (its trust page offers
        /// it) [default: lanchat-ca.pem in the data folder, as with
        /// lanchat --data DIR send ..]
        #[arg(long)]
        ca: Option<PathBuf>,
        /// The message (markdown) [default: standard input, as with -]
        text: Option<String>,
    },
    /// Print a new host link, and retire the old one (within seconds on a
    /// running server). Give the flags lanchat was started with (--data,
    /// --db or --postgres, --port, --tls)
    HostLink,
}

/// A size in bytes: a number, or one with KB/MB/GB (1000s) or K/M/G or
/// KiB/MiB/GiB (1024s), like 4GiB or 500MB.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 4GiB, 500MB or 1048576"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "mb" => 1000_u64.pow(2),
        "gb" => 1000_u64.pow(3),
        "tb" => 1000_u64.pow(4),
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit {other:?}; use KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    Ok((number * scale as f64) as u64)
}

/// Settings after validation.
#[derive(Debug, Clone)]
pub struct Config {
    /// `None` means "8080, or any free port".
    pub port: Option<u16>,
    pub bind: IpAddr,
    /// The folder that holds what lanchat keeps; see [`Config::data_dir`].
    pub data: DataDir,
    pub history_location: Location,
    pub history: usize,
    pub backlog: BacklogLimit,
    pub roster_limit: usize,
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
    pub max_frame_size: usize,
    pub max_message_chars: usize,
    pub rate: Rate,
    /// 0 means no cap.
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// Proxies whose X-Forwarded-For says who the client is.
    pub trusted_proxies: Vec<IpAddr>,
    pub write_timeout: Duration,
    pub header_timeout: Duration,
    pub allowed_origins: Vec<Origin>,
    pub password: Option<String>,
    /// How long a claimed name may go unused before it is released.
    pub claim_ttl: Duration,
    pub show_qr: bool,
    /// Open the local URL in a browser once listening.
    pub open_browser: bool,
    /// Where shared files go; `None` for a temporary folder (`--memory`).
    pub files_dir: Option<PathBuf>,
    pub max_file_size: u64,
    pub files_quota: u64,
    pub min_free_disk: u64,
    pub max_uploads_per_user: usize,
    pub upload_expiry: Duration,
    /// `None`: messages may be edited any time.
    pub edit_window: Option<Duration>,
    /// Whether messages are indexed and may be searched.
    pub search: bool,
    /// Files served over the embedded page's (`--web-overlay`).
    pub web_overlay: Option<PathBuf>,
    /// `--tls`: `None` serves plain HTTP.
    pub tls: Option<TlsFlags>,
    /// How calls are set up; `None`: calls are off.
    pub calls: Option<calls::Settings>,
    /// Where `/metrics` is served instead of the chat's port.
    pub metrics_bind: Option<SocketAddr>,
    /// The `.local` name to announce, as a DNS label; `None` with
    /// `--no-mdns`.
    pub mdns_name: Option<String>,
    /// A fixed host secret; `None`: a new one at every start.
    pub host_secret: Option<String>,
    /// How often each room's retention is applied.
    pub retention_check: Duration,
    /// Event mode, if `--event`.
    pub event: Option<crate::event::EventConfig>,
}

/// HTTPS as the flags ask for it.
#[derive(Debug, Clone)]
pub struct TlsFlags {
    /// `--tls-cert` and `--tls-key`; `None` for the local CA.
    pub own: Option<(PathBuf, PathBuf)>,
    /// `None` means "the port after 8080, or any free port".
    pub port: Option<u16>,
}

impl Config {
    pub fn from_args(args: Args) -> anyhow::Result<Config> {
        if args.idle_timeout <= args.ping_interval {
            anyhow::bail!(
                "--idle-timeout ({} s) must be longer than --ping-interval ({} s)",
                args.idle_timeout,
                args.ping_interval
            );
        }
        if !(args.rate_limit.is_finite() && args.rate_limit >= 0.0) {
            anyhow::bail!("--rate-limit must be a number of messages per second, 0 or more");
        }
        // Escaped as \uXXXX, a character can take 6 bytes of JSON.
        let largest_message = args.max_message_chars.saturating_mul(6) + 256;
        if largest_message > args.max_frame_size {
            anyhow::bail!(
                "--max-frame-size ({} bytes) is too small for --max-message-chars ({}); \
                 it needs at least {largest_message} bytes",
                args.max_frame_size,
                args.max_message_chars
            );
        }
        let allowed_origins = args
            .allow_origins
            .iter()
            .map(|text| {
                Origin::parse(text).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--allow-origin {text:?} is not an origin like http://host:port"
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let password = args.password.filter(|p| !p.is_empty());
        let host_secret = args.host_secret.filter(|s| !s.is_empty());
        if host_secret
            .as_ref()
            .is_some_and(|secret| secret.chars().count() < MIN_HOST_SECRET_CHARS)
        {
            anyhow::bail!(
                "--host-secret must be at least {MIN_HOST_SECRET_CHARS} characters: \
                 it is all that stands between anyone and the host's tools"
            );
        }
        let postgres = match (&args.postgres, &args.db, args.memory) {
            (Some(url), _, _) => Some(url.clone()),
            (None, None, false) => std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()),
            _ => None,
        };
        let start = std::env::current_dir().context("cannot read the current folder")?;
        let data = data::locate(
            &Wanted {
                data: args.data.as_deref(),
                db: args.db.as_deref(),
                files_given: args.files.is_some(),
                memory: args.memory,
                postgres: postgres.is_some(),
            },
            &start,
        );
        let history_location = match (postgres, args.memory, args.db) {
            (Some(url), _, _) => Location::Postgres(Box::new(PgUrl::parse(&url)?)),
            (None, true, _) => Location::Memory,
            (None, false, Some(db)) => Location::File(absolute(db)),
            (None, false, None) => Location::File(data.history_file()),
        };
        let tls = if args.tls || args.tls_cert.is_some() {
            let port = match (args.tls_port, args.port) {
                (Some(port), _) => Some(port),
                (None, Some(0)) => Some(0),
                (None, Some(port)) => Some(port.checked_add(1).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--port {port} leaves no port after it for HTTPS; give --tls-port"
                    )
                })?),
                (None, None) => None,
            };
            let own = args
                .tls_cert
                .zip(args.tls_key)
                .map(|(cert, key)| (absolute(cert), absolute(key)));
            Some(TlsFlags { own, port })
        } else {
            if args.tls_port.is_some() {
                anyhow::bail!("--tls-port is for HTTPS: add --tls");
            }
            None
        };
        if let (Some(tls), Some(port)) = (&tls, args.port)
            && port != 0
            && tls.port == Some(port)
        {
            anyhow::bail!(
                "--tls-port and --port are both {port}; HTTPS and the trust page need a port each"
            );
        }
        let event = match args.event.filter(|name| !name.trim().is_empty()) {
            None => None,
            Some(name) => {
                if matches!(history_location, Location::Postgres(_)) && !args.keep {
                    anyhow::bail!(
                        "--event deletes the history at its end, and lanchat does not delete a \
                         shared PostgreSQL database: add --keep"
                    );
                }
                Some(crate::event::EventConfig {
                    name: name.trim().to_owned(),
                    duration: args.event_duration,
                    grace: Duration::from_secs(args.event_grace_seconds),
                    keep: args.keep,
                })
            }
        };
        let files_dir = match (&history_location, args.files) {
            (_, Some(dir)) => Some(absolute(dir)),
            (Location::Memory, None) => None,
            (_, None) => Some(data.files_dir()),
        };
        Ok(Config {
            port: args.port,
            bind: args.bind,
            data,
            history_location,
            history: args.history as usize,
            backlog: BacklogLimit {
                bytes: usize::try_from(args.max_backlog_bytes).unwrap_or(usize::MAX),
                frames: usize::try_from(args.max_backlog_frames).unwrap_or(usize::MAX),
            },
            roster_limit: usize::try_from(args.roster_limit).unwrap_or(usize::MAX),
            ping_interval: Duration::from_secs(args.ping_interval),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            max_frame_size: args.max_frame_size as usize,
            max_message_chars: args.max_message_chars as usize,
            rate: Rate {
                per_second: args.rate_limit,
                burst: f64::from(args.rate_burst),
            },
            max_connections: args.max_connections.unwrap_or_else(default_max_connections),
            max_connections_per_ip: args.max_connections_per_ip,
            trusted_proxies: args.trusted_proxies,
            write_timeout: Duration::from_secs(args.write_timeout),
            header_timeout: Duration::from_secs(args.header_timeout),
            allowed_origins,
            password,
            claim_ttl: Duration::from_secs(u64::from(args.claim_ttl_days) * 86_400),
            show_qr: !args.no_qr,
            open_browser: args.open,
            files_dir,
            max_file_size: args.max_file_size,
            files_quota: args.files_quota,
            min_free_disk: args.min_free_disk,
            max_uploads_per_user: args.max_uploads_per_user as usize,
            upload_expiry: Duration::from_secs(args.upload_expiry_hours * 3600),
            edit_window: (args.edit_window_minutes > 0)
                .then(|| Duration::from_secs(args.edit_window_minutes * 60)),
            search: !args.no_search,
            tls,
            web_overlay: args.web_overlay.map(absolute),
            calls: (!args.no_calls).then_some(calls::Settings {
                port: args.rtc_port,
                addresses: args.rtc_addresses,
                limits: CallLimits {
                    cameras: args.max_cameras,
                    camera_kbps: args.camera_kbps,
                    screen_kbps: args.screen_kbps,
                    screen_fps: args.screen_fps,
                },
            }),
            metrics_bind: args.metrics_bind,
            mdns_name: (!args.no_mdns).then_some(args.name),
            host_secret,
            retention_check: Duration::from_secs(args.retention_check_seconds),
            event,
        })
    }

    /// Where the HTTPS certificate comes from, with `--tls`.
    pub fn tls_source(&self) -> Option<crate::tls::Source> {
        let tls = self.tls.as_ref()?;
        Some(match &tls.own {
            Some((cert, key)) => crate::tls::Source::Own {
                cert: cert.clone(),
                key: key.clone(),
            },
            // --memory keeps nothing, the CA neither.
            None => crate::tls::Source::LocalCa(
                (!matches!(self.history_location, Location::Memory))
                    .then(|| self.data_dir().to_owned()),
            ),
        })
    }

    /// The `.local` name asked for (`lanchat.local`, or `--name`'s), which
    /// the certificate covers from its first handshake; none with
    /// `--no-mdns`. The name mDNS settles on, if another host had this one
    /// (`lanchat-2.local`), is added when it is known: [`crate::App::announce`].
    pub fn local_names(&self) -> Vec<String> {
        self.mdns_name
            .iter()
            .map(|label| format!("{label}.local"))
            .collect()
    }
}

impl Config {
    /// The data folder: where the history and files go unless `--db` or
    /// `--files` say otherwise, and where anything else lanchat keeps
    /// (certificates) belongs. With `--db` alone it is that file's folder.
    pub fn data_dir(&self) -> &Path {
        &self.data.path
    }

    /// Makes the data folder if something of the history or files goes in
    /// it, and checks it can be written; one clear error if not.
    pub fn prepare_data_dir(&self) -> anyhow::Result<()> {
        let history_inside =
            matches!(&self.history_location, Location::File(db) if db.starts_with(self.data_dir()));
        let files_inside = self
            .files_dir
            .as_ref()
            .is_some_and(|dir| dir.starts_with(self.data_dir()));
        if history_inside || files_inside {
            self.data.prepare()?;
        }
        Ok(())
    }

    /// The banner's "History:" line: the data folder when the history is
    /// the one in it, else where the history is (the file `--db` named).
    pub fn describe_history(&self) -> String {
        match &self.history_location {
            Location::File(db)
                if self.data.chosen != Chosen::BesideHistory && *db == self.data.history_file() =>
            {
                let with_files = self.files_dir == Some(self.data.files_dir());
                self.data.describe(with_files)
            }
            other => other.to_string(),
        }
    }
}

/// The path as we will print it: absolute, so "where is my history" has one
/// answer wherever the server was started.
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        let args = Args::try_parse_from(std::iter::once("lanchat").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        Config::from_args(args).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.port, None);
        assert_eq!(config.bind, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(config.history, 100);
        assert_eq!(config.backlog.frames, 1000);
        assert_eq!(config.mdns_name.as_deref(), Some("lanchat"));
        assert!(
            matches!(config.history_location, Location::File(ref p) if p.ends_with("lanchat.db"))
        );
    }

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("4g"), Ok(4 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("1.5 GB"), Ok(1_500_000_000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }

    #[test]
    fn files_go_beside_the_history_or_in_a_temporary_folder() {
        let config = parse(&["--db", "/srv/chat/history.db"]).unwrap();
        assert_eq!(
            config.files_dir,
            Some(PathBuf::from("/srv/chat/lanchat-files"))
        );
        assert_eq!(parse(&["--memory"]).unwrap().files_dir, None);
        assert!(parse(&["--memory", "--files", "x"]).is_err());
        assert_eq!(config.max_file_size, 4 << 30);
    }

    #[test]
    fn postgres_keeps_everything_and_files_stay_on_a_shared_folder() {
        let config = parse(&[
            "--postgres",
            "postgres://ana:pw@db/chat",
            "--files",
            "/mnt/f",
        ])
        .unwrap();
        assert!(
            matches!(config.history_location, Location::Postgres(ref url) if url.to_string() == "postgres://ana@db:5432/chat")
        );
        assert_eq!(config.files_dir, Some(PathBuf::from("/mnt/f")));
        assert!(parse(&["--postgres", "postgres://db/x", "--memory"]).is_err());
        assert!(parse(&["--postgres", "postgres://db/x", "--db", "x.db"]).is_err());
    }

    #[test]
    fn the_data_folder_holds_history_and_files_unless_told_otherwise() {
        let config = parse(&["--data", "/srv/chat"]).unwrap();
        assert_eq!(config.data_dir(), Path::new("/srv/chat"));
        assert!(
            matches!(config.history_location, Location::File(ref p) if p == Path::new("/srv/chat/lanchat.db"))
        );
        assert_eq!(
            config.files_dir,
            Some(PathBuf::from("/srv/chat/lanchat-files"))
        );
        assert_eq!(
            config.describe_history(),
            "/srv/chat (SQLite, with the shared files)"
        );

        let elsewhere = parse(&["--data", "/srv/chat", "--files", "/mnt/f"]).unwrap();
        assert_eq!(elsewhere.describe_history(), "/srv/chat (SQLite)");

        let named = parse(&["--db", "/srv/x/history.db"]).unwrap();
        assert_eq!(named.data_dir(), Path::new("/srv/x"));
        assert_eq!(named.describe_history(), "/srv/x/history.db (SQLite)");

        let shared = parse(&["--postgres", "postgres://db/x", "--data", "/srv/c"]).unwrap();
        assert_eq!(
            shared.files_dir,
            Some(PathBuf::from("/srv/c/lanchat-files"))
        );
    }

    #[test]
    fn calls_are_on_with_wifi_friendly_caps_unless_turned_off() {
        let calls = parse(&[]).unwrap().calls.unwrap();
        assert_eq!(calls.port, None, "the HTTP port");
        assert_eq!(calls.limits.cameras, 8);
        assert_eq!(calls.limits.screen_fps, 15);
        let calls = parse(&["--rtc-port", "9000", "--rtc-address", "10.0.0.2,10.0.0.3"])
            .unwrap()
            .calls
            .unwrap();
        assert_eq!(calls.port, Some(9000));
        assert_eq!(calls.addresses.len(), 2);
        assert!(parse(&["--no-calls"]).unwrap().calls.is_none());
        assert!(parse(&["--screen-fps", "0"]).is_err());
        assert!(parse(&["--rtc-address", "lanchat.local"]).is_err());
    }

    #[test]
    fn the_local_name_is_a_dns_label_or_off() {
        let named = parse(&["--name", "Sala-3"]).unwrap();
        assert_eq!(named.mdns_name.as_deref(), Some("sala-3"));
        assert_eq!(named.local_names(), ["sala-3.local"]);
        assert_eq!(parse(&[]).unwrap().local_names(), ["lanchat.local"]);
        let off = parse(&["--no-mdns"]).unwrap();
        assert_eq!(off.mdns_name, None);
        assert!(off.local_names().is_empty());
        assert!(parse(&["--name", "sala 3"]).is_err());
    }

    #[test]
    fn memory_and_db_conflict() {
        assert!(parse(&["--memory"]).is_ok());
        assert!(parse(&["--memory", "--db", "x.db"]).is_err());
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse(&["--port", "70000"]).is_err());
        assert!(parse(&["--bind", "nowhere"]).is_err());
        assert!(parse(&["--history", "5000"]).is_err());
        assert!(parse(&["--ping-interval", "30", "--idle-timeout", "20"]).is_err());
        assert!(parse(&["--rate-limit", "-1"]).is_err());
        assert!(parse(&["--rate-limit", "NaN"]).is_err());
        assert!(parse(&["--allow-origin", "evil"]).is_err());
        assert!(
            parse(&["--max-frame-size", "2048"]).is_err(),
            "too small for 4000 chars"
        );
        assert!(parse(&["--max-frame-size", "2048", "--max-message-chars", "200"]).is_ok());
        assert!(parse(&["--host-secret", "short"]).is_err());
        assert!(parse(&["--keep"]).is_err(), "--keep is for an event");
        assert!(parse(&["--event", "x", "--postgres", "postgres://db/x"]).is_err());
        assert!(parse(&["--event", "x", "--postgres", "postgres://db/x", "--keep"]).is_ok());
        let event = parse(&["--event", "Night", "--event-duration", "2h"]).unwrap();
        assert_eq!(
            event.event.unwrap().duration,
            Some(Duration::from_secs(7200))
        );
        assert!(parse(&["--host-secret", "a long enough secret"]).is_ok());
    }

    #[test]
    fn https_takes_the_port_after_the_trust_page() {
        assert!(parse(&[]).unwrap().tls.is_none());
        assert_eq!(parse(&["--tls"]).unwrap().tls.unwrap().port, None);
        assert_eq!(
            parse(&["--tls", "--port", "9000"])
                .unwrap()
                .tls
                .unwrap()
                .port,
            Some(9001)
        );
        assert_eq!(
            parse(&["--tls", "--port", "0"]).unwrap().tls.unwrap().port,
            Some(0)
        );
        assert_eq!(
            parse(&["--tls", "--port", "9000", "--tls-port", "9443"])
                .unwrap()
                .tls
                .unwrap()
                .port,
            Some(9443)
        );
        assert!(parse(&["--tls", "--port", "65535"]).is_err());
        assert!(parse(&["--tls", "--port", "9000", "--tls-port", "9000"]).is_err());
        assert!(parse(&["--tls-port", "9443"]).is_err(), "needs --tls");
        assert!(parse(&["--tls-cert", "c.pem"]).is_err(), "needs its key");
        let own = parse(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap();
        assert!(
            own.tls.unwrap().own.is_some(),
            "a brought pair implies --tls"
        );
    }

    #[test]
    fn the_ca_goes_beside_the_history() {
        let config = parse(&["--tls", "--db", "/srv/chat/history.db"]).unwrap();
        assert!(matches!(
            config.tls_source(),
            Some(crate::tls::Source::LocalCa(Some(ref dir))) if dir == &PathBuf::from("/srv/chat")
        ));
        assert!(matches!(
            parse(&["--tls", "--memory"]).unwrap().tls_source(),
            Some(crate::tls::Source::LocalCa(None))
        ));
    }
}
