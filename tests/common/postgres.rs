//! A private PostgreSQL cluster for the tests, from Debian's `postgresql`
//! package: `initdb` in a temporary folder, then `postgres` on a free port
//! of 127.0.0.1 (and a socket in that folder), trusting local connections.
//!
//! PostgreSQL refuses to run as root, so under root the cluster runs as
//! `nobody`, in a temporary folder `nobody` owns; otherwise as whoever runs
//! the tests. The server runs under a small `sh` that holds the other end
//! of a pipe: when the test process ends, even killed, the pipe closes and
//! the shell stops PostgreSQL and removes the folder, so nothing is left
//! running.
//!
//! Without PostgreSQL's binaries a test is skipped with a loud notice,
//! unless `LANCHAT_REQUIRE_POSTGRES` is set (as `.ci/run` does), which
//! fails it. `LANCHAT_PG_BIN` names another folder of binaries.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::WAIT;

/// One PostgreSQL server and its data folder. Stopped (and the folder
/// removed) when dropped or when the test process ends.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
    server: Mutex<Option<(Child, ChildStdin)>>,
    /// `nobody`'s uid and gid when the tests run as root.
    run_as: Option<(u32, u32)>,
}

/// The user lanchat and the tests connect as.
pub const USER: &str = "lanchat";

/// Whether tests must have PostgreSQL rather than skip.
fn required() -> bool {
    std::env::var_os("LANCHAT_REQUIRE_POSTGRES").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Where PostgreSQL's programs are: `LANCHAT_PG_BIN`, or the newest of
/// Debian's `/usr/lib/postgresql/<version>/bin`.
fn find_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("LANCHAT_PG_BIN") {
        return Some(PathBuf::from(bin));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// `nobody`'s uid and gid, from /etc/passwd.
fn nobody() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"nobody"))
                .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))
                .flatten()
        })
        .expect("a nobody user")
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// A new cluster of its own, or `None` (after a loud notice) where
    /// PostgreSQL is not installed and not required.
    pub fn start(test: &str) -> Option<Cluster> {
        let Some(bin) = find_bin() else {
            assert!(
                !required(),
                "LANCHAT_REQUIRE_POSTGRES is set but PostgreSQL is not installed \
                 (apt-get install postgresql)"
            );
            eprintln!(
                "SKIPPING {test}: PostgreSQL is not installed (apt-get install postgresql, \
                 or point LANCHAT_PG_BIN at its binaries)"
            );
            return None;
        };
        let run_as = is_root().then(nobody);
        let dir = tempfile::Builder::new()
            .prefix("lanchat-pg-")
            .tempdir()
            .expect("temp dir")
            .keep();
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the cluster folder");
        }
        let cluster = Cluster {
            bin,
            dir,
            port: free_port(),
            server: Mutex::new(None),
            run_as,
        };
        let initdb = cluster
            .command("initdb")
            .args(["-D", "data", "-U", USER, "--auth=trust", "--encoding=UTF8"])
            .args(["--locale=C.UTF-8", "--no-sync"])
            .output()
            .expect("run initdb");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        cluster.start_server();
        Some(cluster)
    }

    /// The cluster this test process shares among its tests (each test
    /// makes databases of its own in it).
    pub fn shared(test: &str) -> Option<&'static Cluster> {
        static SHARED: OnceLock<Option<Cluster>> = OnceLock::new();
        match SHARED.get_or_init(|| Cluster::start("the PostgreSQL tests")) {
            Some(cluster) => Some(cluster),
            None => {
                eprintln!("SKIPPING {test}: no PostgreSQL");
                None
            }
        }
    }

    /// `program` from PostgreSQL's folder (or an absolute path), run as the
    /// cluster's user, in its folder.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.current_dir(&self.dir);
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt as _;
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Starts the server (again) and waits until it takes connections.
    pub fn start_server(&self) {
        let postgres = self.bin.join("postgres");
        // The shell stops the server when its stdin closes: when this
        // Cluster is dropped, or the test process ends however it ends.
        let script = r#"pg="$1"; shift; "$pg" "$@" & server=$!
            read line
            kill -INT "$server" 2>/dev/null; wait "$server"
            [ "$line" = keep ] || rm -rf "$LANCHAT_PG_REMOVE"
            exit 0"#;
        let mut child = self
            .command("/bin/sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(&postgres)
            .args(["-D", "data", "-p", &self.port.to_string()])
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=.",
            ])
            .args(["-c", "fsync=off", "-c", "max_connections=300"])
            .args(["-c", "log_min_messages=fatal", "-c", "shared_buffers=64MB"])
            .env("LANCHAT_PG_REMOVE", &self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        let stdin = child.stdin.take().expect("stdin");
        *self.server.lock().unwrap() = Some((child, stdin));
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + WAIT * 3;
        loop {
            let ready = self
                .command("pg_isready")
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|status| status.success());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server: `fast` lets it finish cleanly, otherwise it stops
    /// at once, as if it crashed (`immediate`).
    pub fn stop_server(&self, fast: bool) {
        let mode = if fast { "fast" } else { "immediate" };
        let _ = self
            .command("pg_ctl")
            .args(["-D", "data", "-m", mode, "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some((mut child, mut stdin)) = self.server.lock().unwrap().take() {
            let _ = stdin.write_all(b"keep\n");
            drop(stdin);
            let _ = child.wait();
        }
    }

    /// A URL for database `db` of this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a fresh database and returns its URL.
    pub fn create_database(&self) -> String {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("t{}_{n}", std::process::id());
        self.create_named(&name);
        self.url(&name)
    }

    /// Creates database `name` if it does not exist; returns its URL.
    pub fn create_named(&self, name: &str) -> String {
        let exists = self.psql(
            "postgres",
            &format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
        );
        if exists.trim() != "1" {
            self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        }
        self.url(name)
    }

    /// Runs `sql` in `db` with psql and returns what it printed, one row
    /// a line, columns split by `|`.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                USER,
                "-d",
                db,
            ])
            .args(["-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed on {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The database name in one of this cluster's URLs.
    pub fn db_of(url: &str) -> &str {
        url.rsplit('/').next().unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some((mut child, mut stdin)) = self.server.lock().unwrap().take() {
            let _ = stdin.write_all(b"\n");
            drop(stdin);
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the tests run the existing scenarios on PostgreSQL
/// (`LANCHAT_TEST_BACKEND=postgres`; see [`super::Server::start_on_db`]).
pub fn scenarios_on_postgres() -> bool {
    std::env::var("LANCHAT_TEST_BACKEND").is_ok_and(|backend| backend == "postgres")
}

/// The database a scenario's history file stands for: the same file, the
/// same database, so a restart on it finds what was stored.
pub fn database_for(db: &Path) -> String {
    use std::hash::{Hash as _, Hasher as _};
    let cluster = Cluster::shared("a scenario on PostgreSQL")
        .expect("LANCHAT_TEST_BACKEND=postgres needs PostgreSQL");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    db.hash(&mut hasher);
    cluster.create_named(&format!("f{:016x}", hasher.finish()))
}

/// Runs `sql` in the database a scenario's history file stands for and
/// returns what psql printed (see [`Cluster::psql`]).
pub fn psql_for(db: &Path, sql: &str) -> String {
    let url = database_for(db);
    let cluster = Cluster::shared("a scenario on PostgreSQL")
        .expect("LANCHAT_TEST_BACKEND=postgres needs PostgreSQL");
    cluster.psql(Cluster::db_of(&url), sql)
}
