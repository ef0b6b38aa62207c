//! The servers under test: lanchat's release binary, the Node `ws` peer and
//! the stock warp design (`warp_design.rs`, in a child process of the
//! fan-out bench), each started fresh on an ephemeral loopback port, or a
//! running one given by URL. Also reads a process's RSS and CPU time from
//! `/proc`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tempfile::TempDir;

/// How long a server may take to print its port.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// lanchat's protections, turned off so the bench measures the server and not
/// its limits. A flag is passed only if this build's `--help` lists it, so
/// the bench runs on builds from before and after it was added.
const LANCHAT_FLAGS: &[(&str, &str)] = &[
    ("--rate-limit", "0"),
    ("--max-connections", "0"),
    ("--max-connections-per-ip", "0"),
];

/// Which server, and so which URL and protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Lanchat,
    Peer,
    /// Started by the fan-out bench only, which serves it itself.
    #[allow(dead_code)]
    Warp,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Lanchat => "lanchat",
            Kind::Peer => "ws peer",
            Kind::Warp => "warp design",
        }
    }
}

/// How to get a server of one kind.
#[derive(Debug, Clone)]
pub enum Source {
    /// Start this binary or script for each measurement.
    Spawn,
    /// Use a server that is already running at this address.
    Running(SocketAddr),
}

/// A server being measured. A spawned one is killed when dropped.
pub struct Server {
    pub kind: Kind,
    pub addr: SocketAddr,
    /// Started with `--tls`: a client that trusts its local CA.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    child: Option<Child>,
    _dir: Option<TempDir>,
}

impl Server {
    /// Starts (or finds) a server; `extra` flags go to lanchat only.
    pub fn start(
        kind: Kind,
        source: &Source,
        logs: &Path,
        extra: &[String],
    ) -> anyhow::Result<Server> {
        match (kind, source) {
            (_, Source::Running(addr)) => Ok(Server {
                kind,
                addr: *addr,
                tls: None,
                child: None,
                _dir: None,
            }),
            (Kind::Lanchat, Source::Spawn) => start_lanchat(&logs.join("lanchat.log"), extra),
            (Kind::Peer, Source::Spawn) => start_peer(logs),
            (Kind::Warp, Source::Spawn) => start_warp(logs),
        }
    }

    /// The WebSocket URL for client number `index`.
    pub fn url(&self, index: usize) -> String {
        match self.kind {
            Kind::Lanchat if self.tls.is_some() => format!("wss://{}/ws/u{index}", self.addr),
            Kind::Lanchat => format!("ws://{}/ws/u{index}", self.addr),
            Kind::Peer => format!("ws://{}/", self.addr),
            Kind::Warp => format!("ws://{}/chat", self.addr),
        }
    }

    /// The history file of a lanchat we started (without `--memory`).
    #[allow(dead_code)] // used by the search bench
    pub fn db_path(&self) -> Option<PathBuf> {
        let dir = self._dir.as_ref()?;
        (self.kind == Kind::Lanchat).then(|| dir.path().join("bench.db"))
    }

    /// The server's memory and CPU time, if we started it.
    pub fn usage(&self) -> Option<Usage> {
        Usage::of(self.child.as_ref()?.id())
    }

    /// The server's process id, if we started it.
    #[allow(dead_code)] // used by the calls bench
    pub fn pid(&self) -> Option<u32> {
        Some(self.child.as_ref()?.id())
    }

    /// CPU seconds of the server's threads named `name` (as `/proc` shows
    /// them), if we started it.
    #[allow(dead_code)] // used by the search bench
    pub fn thread_cpu_s(&self, name: &str) -> Option<f64> {
        let pid = self.child.as_ref()?.id();
        let mut total = 0.0;
        for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
            let dir = task.ok()?.path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if comm.trim() == name {
                total += cpu_s_of_stat(&std::fs::read_to_string(dir.join("stat")).ok()?)?;
            }
        }
        Some(total)
    }

    /// Kills a server we started at once (`kill -9`), if it still runs.
    pub fn kill(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The lanchat to start: this build's, or `LANCHAT_BENCH_BINARY` (another
/// build, to compare two in one session).
pub fn lanchat_binary() -> String {
    std::env::var("LANCHAT_BENCH_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_lanchat").to_owned())
}

/// Starts lanchat with a history file of its own in a temp folder (none
/// with `--memory` or `--postgres` among `extra`), its stderr in `log`.
pub fn start_lanchat(log: &Path, extra: &[String]) -> anyhow::Result<Server> {
    let dir = TempDir::new().context("cannot make a temp folder")?;
    let db = dir.path().join("bench.db");
    let mut args: Vec<String> = ["--port", "0", "--bind", "127.0.0.1", "--no-qr"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let elsewhere = ["--memory", "--postgres"];
    if !extra.iter().any(|arg| elsewhere.contains(&arg.as_str())) {
        args.extend(["--db".to_owned(), db.display().to_string()]);
    }
    let help = Command::new(lanchat_binary())
        .arg("--help")
        .output()
        .context("cannot run lanchat --help")?;
    let help = String::from_utf8_lossy(&help.stdout);
    for (flag, value) in LANCHAT_FLAGS {
        if help.contains(flag) {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    args.extend(extra.iter().cloned());
    let mut command = Command::new(lanchat_binary());
    command
        .args(&args)
        .current_dir(dir.path())
        .env("RUST_LOG", "warn");
    let (child, port) = spawn(command, log, |line| {
        let url = line.trim().strip_prefix("Local:")?.trim();
        url.trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse::<SocketAddr>()
            .ok()
            .map(|addr| addr.port())
    })?;
    let tls = if extra.iter().any(|arg| arg == "--tls") {
        Some(trusting(&dir.path().join("lanchat-ca.pem"))?)
    } else {
        None
    };
    Ok(Server {
        kind: Kind::Lanchat,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        tls,
        child: Some(child),
        _dir: Some(dir),
    })
}

/// A rustls client that trusts the CA in `pem` (a lanchat's local CA).
fn trusting(pem: &Path) -> anyhow::Result<std::sync::Arc<rustls::ClientConfig>> {
    use rustls::pki_types::pem::PemObject as _;
    let ca = rustls::pki_types::CertificateDer::from_pem_file(pem)
        .with_context(|| format!("cannot read the local CA {}", pem.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca)?;
    #[allow(deprecated)] // ring, as the server uses; see src/tls/mod.rs
    let provider = rustls::crypto::ring::default_provider();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(provider))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

/// The peer's folder, with `server.js` and its npm lockfile.
pub fn peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers")
}

fn start_peer(logs: &Path) -> anyhow::Result<Server> {
    let dir = peer_dir();
    if !dir.join("node_modules/ws").exists() {
        eprintln!("installing the ws peer with npm ci ...");
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .context("cannot run npm (is Node.js installed?)")?;
        if !status.success() {
            bail!("npm ci failed in {}", dir.display());
        }
    }
    let mut command = Command::new("node");
    command.arg("server.js").arg("0").current_dir(&dir);
    let (child, port) = spawn(command, &logs.join("peer.log"), |line| {
        line.trim().strip_prefix("listening on ")?.parse().ok()
    })?;
    Ok(Server {
        kind: Kind::Peer,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        tls: None,
        child: Some(child),
        _dir: None,
    })
}

/// Starts the stock warp design: this bench binary again, serving it.
fn start_warp(logs: &Path) -> anyhow::Result<Server> {
    let bench = std::env::current_exe().context("cannot find the bench binary")?;
    let mut command = Command::new(bench);
    command.arg("serve-warp");
    let (child, port) = spawn(command, &logs.join("warp.log"), |line| {
        line.trim().strip_prefix("listening on ")?.parse().ok()
    })?;
    Ok(Server {
        kind: Kind::Warp,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        tls: None,
        child: Some(child),
        _dir: None,
    })
}

/// Starts `command`, sends its stderr to `log`, and reads stdout until
/// `port_in` finds the port. Stdout keeps being drained afterwards.
fn spawn(
    mut command: Command,
    log: &Path,
    port_in: impl Fn(&str) -> Option<u16>,
) -> anyhow::Result<(Child, u16)> {
    let stderr =
        std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let (lines, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = lines.send(line);
        }
    });
    loop {
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => {
                if let Some(port) = port_in(&line) {
                    return Ok((child, port));
                }
            }
            Err(_) => {
                let _ = child.kill();
                bail!(
                    "{command:?} did not print its port within {START_TIMEOUT:?}; see {}",
                    log.display()
                );
            }
        }
    }
}

/// A process's resident memory and CPU time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub rss_kib: u64,
    /// User plus system time.
    pub cpu_s: f64,
}

impl Usage {
    pub fn of(pid: u32) -> Option<Usage> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Some(Usage {
            rss_kib,
            cpu_s: cpu_s_of_stat(&stat)?,
        })
    }

    pub fn of_self() -> Option<Usage> {
        Usage::of(std::process::id())
    }

    /// A process and its children together, like a database server's
    /// postmaster and its backends: their CPU, with that of children
    /// already reaped, and their RSS summed (shared pages in each).
    pub fn of_tree(pid: u32) -> Option<Usage> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let reaped = Usage {
            rss_kib: 0,
            cpu_s: ticks_s(&stat_fields(&stat)?, [13, 14])?,
        };
        let children = std::fs::read_dir("/proc")
            .ok()?
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&child| {
                std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                    stat_fields(&stat).and_then(|f| f.get(1)?.parse().ok()) == Some(pid)
                })
            });
        // A child that ended meanwhile is counted as reaped later.
        let live = children.filter_map(Usage::of).map(Some);
        Usage::sum([Usage::of(pid), Some(reaped)].into_iter().chain(live))
    }

    /// Several processes' usage added up; `None` if any is unknown.
    pub fn sum(parts: impl IntoIterator<Item = Option<Usage>>) -> Option<Usage> {
        parts.into_iter().try_fold(Usage::default(), |total, part| {
            let part = part?;
            Some(Usage {
                rss_kib: total.rss_kib + part.rss_kib,
                cpu_s: total.cpu_s + part.cpu_s,
            })
        })
    }

    /// CPU seconds spent since `earlier`.
    pub fn cpu_since(&self, earlier: &Usage) -> f64 {
        self.cpu_s - earlier.cpu_s
    }
}

/// User plus system CPU seconds from a `/proc/.../stat` line.
fn cpu_s_of_stat(stat: &str) -> Option<f64> {
    ticks_s(&stat_fields(stat)?, [11, 12])
}

/// The fields of a `/proc/.../stat` line after the command name, which may
/// hold spaces: state (field 3 of proc(5)) first, then ppid, ... utime
/// (14), stime (15), cutime (16), cstime (17).
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    Some(
        stat.get(stat.rfind(')')? + 2..)?
            .split_whitespace()
            .collect(),
    )
}

/// The sum of two clock-tick fields (100 per second on Linux), in seconds.
fn ticks_s(fields: &[&str], at: [usize; 2]) -> Option<f64> {
    let ticks: u64 =
        fields.get(at[0])?.parse::<u64>().ok()? + fields.get(at[1])?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// This process's soft limit on open files.
pub fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// CPU seconds the whole machine has been busy (every process, all cores),
/// from `/proc/stat`; the difference over a phase, less the server's and the
/// generator's, tells whether something else was running.
pub fn machine_busy_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user, nice, system, idle, iowait, irq, softirq, steal
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| fields.get(i))
        .sum::<u64>();
    Some(busy as f64 / 100.0)
}
