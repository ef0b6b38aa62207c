//! Command-line flags and the validated settings they become.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::hub::BacklogLimit;
use crate::store::Location;

/// The port tried when none is given; if it is busy we take a free one.
pub const DEFAULT_PORT: u16 = 8080;

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

    /// History file (SQLite); created if missing
    #[arg(
        long,
        env = "LANCHAT_DB",
        default_value = "lanchat.db",
        conflicts_with = "memory"
    )]
    pub db: PathBuf,

    /// Keep history in memory only; it is gone when the server stops
    #[arg(long, env = "LANCHAT_MEMORY")]
    pub memory: bool,

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

    /// Seconds between pings to each client
    #[arg(long, env = "LANCHAT_PING_INTERVAL", default_value_t = 25,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ping_interval: u64,

    /// Seconds of silence after which a client is disconnected
    #[arg(long, env = "LANCHAT_IDLE_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub idle_timeout: u64,

    /// Don't print the QR code
    #[arg(long, env = "LANCHAT_NO_QR")]
    pub no_qr: bool,
}

/// Settings after validation.
#[derive(Debug, Clone)]
pub struct Config {
    /// `None` means "8080, or any free port".
    pub port: Option<u16>,
    pub bind: IpAddr,
    pub history_location: Location,
    pub history: usize,
    pub backlog: BacklogLimit,
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
    pub show_qr: bool,
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
        let history_location = if args.memory {
            Location::Memory
        } else {
            Location::File(absolute(args.db))
        };
        Ok(Config {
            port: args.port,
            bind: args.bind,
            history_location,
            history: args.history as usize,
            backlog: BacklogLimit {
                bytes: usize::try_from(args.max_backlog_bytes).unwrap_or(usize::MAX),
                frames: usize::try_from(args.max_backlog_frames).unwrap_or(usize::MAX),
            },
            ping_interval: Duration::from_secs(args.ping_interval),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            show_qr: !args.no_qr,
        })
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
        assert!(
            matches!(config.history_location, Location::File(ref p) if p.ends_with("lanchat.db"))
        );
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
    }
}
