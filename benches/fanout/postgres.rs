//! A private PostgreSQL for the cluster mode, from Debian's `postgresql`
//! package (or the binaries in `LANCHAT_PG_BIN`): `initdb` in a temp
//! folder, then `postgres` on a free port of 127.0.0.1, trusting local
//! connections. fsync stays on: durable ingest is what the bench measures.
//!
//! PostgreSQL refuses to run as root, so under root it runs as `nobody`,
//! in a folder `nobody` owns. It is stopped, and the folder removed, when
//! dropped; an interrupted bench (Ctrl-C reaches the whole process group)
//! stops it too.

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tempfile::TempDir;

/// The role lanchat connects as.
const USER: &str = "lanchat";
/// How long PostgreSQL may take to take connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections it allows: each instance keeps a handful.
const MAX_CONNECTIONS: &str = "max_connections=300";

/// One PostgreSQL server and its data folder.
pub struct Postgres {
    bin: PathBuf,
    dir: TempDir,
    pub port: u16,
    /// The postmaster; its children are the backends.
    server: Option<Child>,
    /// The uid and gid to run as (`nobody`'s when we are root).
    run_as: Option<(u32, u32)>,
}

impl Postgres {
    /// Makes a cluster and starts it, its log in `log`.
    pub fn start(log: &Path) -> anyhow::Result<Postgres> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("lanchat-bench-pg-")
            .tempdir()
            .context("cannot make a temp folder")?;
        let run_as = if uid_of_self()? == 0 {
            Some((id_of("-u")?, id_of("-g")?))
        } else {
            None
        };
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .context("cannot give the cluster's folder to nobody")?;
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut postgres = Postgres {
            bin,
            dir,
            port,
            server: None,
            run_as,
        };
        let out = postgres
            .command("initdb")
            .args(["-D", "data", "-U", USER, "--auth=trust"])
            .args(["--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
            .output()
            .context("cannot run initdb")?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let stderr = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let server = postgres
            .command("postgres")
            .args(["-D", "data", "-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories=."])
            .args(["-c", MAX_CONNECTIONS])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context("cannot start postgres")?;
        postgres.server = Some(server);
        postgres.wait_ready(log)?;
        Ok(postgres)
    }

    /// The postmaster's pid, whose children are the backends.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(Child::id)
    }

    /// The server's version, as `postgres --version` says it.
    pub fn version(&self) -> String {
        let out = self.command("postgres").arg("--version").output();
        out.map_or_else(
            |_| "PostgreSQL".to_owned(),
            |out| String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        )
    }

    /// Creates database `name` and returns the URL lanchat takes.
    pub fn create_database(&self, name: &str) -> anyhow::Result<String> {
        let out = self
            .command("createdb")
            .args(self.server_args())
            .arg(name)
            .output()
            .context("cannot run createdb")?;
        if !out.status.success() {
            bail!(
                "createdb {name} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port))
    }

    /// What a client program needs to reach the server as [`USER`].
    fn server_args(&self) -> [String; 6] {
        ["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER].map(str::to_owned)
    }

    /// One of PostgreSQL's programs, run as the cluster's owner in its
    /// folder.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.current_dir(self.dir.path());
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        command
    }

    fn wait_ready(&mut self, log: &Path) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < READY_TIMEOUT {
            if let Some(server) = &mut self.server
                && let Some(status) = server.try_wait()?
            {
                bail!("postgres stopped ({status}); see {}", log.display());
            }
            let ready = self
                .command("pg_isready")
                .args(self.server_args())
                .args(["-q", "-d", "postgres"])
                .status()
                .is_ok_and(|status| status.success());
            if ready {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "postgres took no connections within {READY_TIMEOUT:?}; see {}",
            log.display()
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        // A fast shutdown: backends end, the postmaster checkpoints.
        let stopped = self
            .command("pg_ctl")
            .args(["-D", "data", "-m", "fast", "-w", "-t", "20", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !stopped {
            let _ = server.kill();
        }
        let _ = server.wait();
    }
}

/// Where PostgreSQL's programs are: `LANCHAT_PG_BIN`, or the newest of
/// Debian's `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("LANCHAT_PG_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let missing = "PostgreSQL is not installed (apt-get install postgresql, or set LANCHAT_PG_BIN)";
    std::fs::read_dir("/usr/lib/postgresql")
        .context(missing)?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists())
        .max()
        .map(|(_, bin)| bin)
        .context(missing)
}

/// This process's real uid, from `/proc`.
fn uid_of_self() -> anyhow::Result<u32> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:")?.split_whitespace().next())
        .and_then(|uid| uid.parse().ok())
        .context("no Uid in /proc/self/status")
}

/// `nobody`'s uid (`-u`) or gid (`-g`), as `id` tells them.
fn id_of(which: &str) -> anyhow::Result<u32> {
    let out = Command::new("id")
        .args([which, "nobody"])
        .output()
        .context("cannot run id")?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .with_context(|| format!("id {which} nobody: no such user?"))
}
